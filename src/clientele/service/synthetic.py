"""Synthetic service-desk data for real households: complaints, a survey's answers and exit reasons,
drawn by `lake.service_synth` from the lake's real baskets (with its built-in effects) and recorded
through the service desk's own services, so every page and report reads them as it reads real ones.

Complaints are dated on days the household shopped, at a store and on a product of that day's
basket, then answered, resolved and closed within their service levels. Survey answers are dated so
that the 5s buy again within the chosen weeks `five_to_four` times as often as the 4s. Exit reasons go
to the members the nightly profile shows as lapsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd

from clientele.errors import ClienteleError
from clientele.lake import service_synth
from clientele.members.models import Member
from clientele.service import complaints as desk
from clientele.service import churn, surveys

ACTOR = "synthetic"
#: what each synthetic complaint answers to the eight questions, by cause
STORIES = {
    "price": ("Charged more than the shelf price", "The till price differed from the label"),
    "product_quality": ("The product was spoiled", "Found it on opening at home"),
    "service": ("Waited long at the service counter", "Nobody came for fifteen minutes"),
    "staff": ("A member of staff was rude", "Asked for help in the aisle"),
    "availability": ("The advertised product was missing", "The shelf was empty all week"),
    "checkout": ("The self-checkout failed twice", "The card reader froze"),
    "policy": ("A return was refused", "The receipt was a day past the window"),
    "other": ("The car park was closed", "No notice was given"),
}


class SynthesisError(ClienteleError):
    """Synthetic data that cannot be made as asked (a count, a ratio, a missing lake or members)."""


@dataclass(frozen=True)
class SynthRequest:
    """What to make: counts, the survey's code and built-in effect, the seed."""

    complaints: int = 0
    answers: int = 0
    survey: str = "synthetic"
    five_to_four: float = 6.0
    weeks: int = 4
    exit_reasons: bool = False
    seed: int = 0


@dataclass
class SynthResult:
    complaints: int = 0
    answers: int = 0
    exit_reasons: int = 0
    truth: dict = field(default_factory=dict)


Progress = Callable[[str, int], Callable[[int], None]]


def check(request: SynthRequest) -> None:
    """Refuse a request that cannot be met, naming the option at fault."""
    if request.complaints < 0 or request.answers < 0:
        raise SynthesisError("--complaints and --answers are counts of 0 or more")
    if not (request.complaints or request.answers or request.exit_reasons):
        raise SynthesisError("nothing to make: give --complaints N, --answers N or --exit-reasons")
    if request.weeks < 1:
        raise SynthesisError(f"--weeks is at least 1, not {request.weeks}")
    effects = service_synth.SurveyEffects(weeks=request.weeks, five_to_four=request.five_to_four)
    if request.five_to_four <= 0 or max(effects.rates().values()) > 1:
        raise SynthesisError(f"--five-to-four {request.five_to_four}: the 5s' chance of buying again is "
                             f"{effects.rate_four} x the ratio, so the ratio lies above 0 and at most "
                             f"{1 / effects.rate_four:.2f}")


def synthesize(request: SynthRequest, lake: Path | None = None, progress: Progress | None = None) -> SynthResult:
    """Make and record the requested service-desk data for the lake's real households; returns the
    counts recorded and the generator's built-in effects (`truth`)."""
    check(request)
    progress = progress or (lambda _label, _total: (lambda _n: None))
    visits = _visits(lake)
    members = dict(Member.objects.filter(customer_id__in=visits["customer_id"].unique().tolist())
                   .values_list("customer_id", "pk"))
    if not members:
        raise SynthesisError("no household of the lake is a member: run `clientele import completejourney` "
                             "(it enrols them) first")
    visits = visits[visits["customer_id"].isin(members)]
    result = SynthResult()
    if request.complaints:
        result.complaints = _complaints(visits, request, lake, progress)
    if request.answers:
        result.answers, result.truth = _answers(visits, request, progress)
    if request.exit_reasons:
        result.exit_reasons = _exit_reasons(request.seed, progress)
    return result


def _visits(lake: Path | None) -> pd.DataFrame:
    from clientele.analytics.baskets import baskets
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines

    table = baskets(basket_lines(connect(), lake)).select("customer_id", "basket_date").to_pandas()  # LakeTableMissing
    if table.empty:
        raise SynthesisError("the lake has no baskets to draw households from")
    return table


def _basket_places(picked: pd.DataFrame, lake: Path | None) -> pd.DataFrame:
    """For each (customer_id, received_on), a store and a product of that day's basket."""
    import ibis

    from clientele.engine import connect
    from clientele.lake.reader import basket_lines

    con = connect()
    lines = basket_lines(con, lake)
    wanted = ibis.memtable(picked[["customer_id", "received_on"]].drop_duplicates())
    day_lines = lines.mutate(received_on=lines.transaction_ts.date()).join(wanted, ["customer_id", "received_on"])
    first = day_lines.group_by(["customer_id", "received_on"]).aggregate(
        store_id=day_lines.store_id.min(), product_id=day_lines.product_id.min())
    return con.execute(first)


def _complaints(visits: pd.DataFrame, request: SynthRequest, lake: Path | None, progress: Progress) -> int:
    from clientele.catalog.models import Product, Store
    from clientele.service.models import ServiceLevel

    made = service_synth.complaints(visits, request.complaints, seed=request.seed)
    made["received_on"] = pd.to_datetime(made["received_on"]).dt.date
    places = _basket_places(made, lake)
    places["received_on"] = pd.to_datetime(places["received_on"]).dt.date
    made = made.merge(places, on=["customer_id", "received_on"], how="left")
    stores = set(Store.objects.values_list("pk", flat=True))
    products = set(Product.objects.filter(pk__in=made["product_id"].dropna().astype(int).unique().tolist())
                   .values_list("pk", flat=True))
    hours = {level.severity: (level.first_answer_hours, level.resolution_hours) for level in ServiceLevel.objects.all()}
    step = progress("complaints", len(made))
    for n, row in enumerate(made.itertuples(index=False), start=1):
        what, how = STORIES.get(row.cause, STORIES["other"])
        store = int(row.store_id) if pd.notna(row.store_id) and int(row.store_id) in stores else None
        product = int(row.product_id) if pd.notna(row.product_id) and int(row.product_id) in products else None
        received = datetime.combine(row.received_on, time(10 + n % 8), tzinfo=timezone.utc)
        complaint = desk.record_complaint(desk.ComplaintIn(
            member_number=int(row.customer_id), channel=("store", "phone", "web", "email")[n % 4], cause=row.cause,
            severity=row.severity, what_happened=what, how_it_happened=how,
            why_unhappy=f"{what}; the customer expected better", served_by=f"cashier {n % 23}",
            wanted_resolution=("A refund", "An apology", "A replacement", "Points")[n % 4],
            claim_reasonable=n % 5 != 0, store_id=store, product_id=product), ACTOR, received_at=received)
        answer, resolve = hours.get(row.severity, (24, 120))
        # most are answered and resolved in time, one in five late
        late = 1.5 if n % 5 == 0 else 0.6
        desk.change_status(complaint.pk, "acknowledged", ACTOR, at=received + timedelta(hours=answer * late))
        desk.change_status(complaint.pk, "resolved", ACTOR, at=received + timedelta(hours=resolve * late))
        desk.change_status(complaint.pk, "closed", ACTOR, at=received + timedelta(hours=resolve * late + 1))
        step(n)
    return len(made)


def _answers(visits: pd.DataFrame, request: SynthRequest, progress: Progress) -> tuple[int, dict]:
    from clientele.service.models import Survey

    if Survey.objects.filter(code=request.survey).exists():
        raise SynthesisError(f"--survey {request.survey}: a survey of that code exists; choose another code")
    effects = service_synth.SurveyEffects(weeks=request.weeks, five_to_four=request.five_to_four)
    try:
        answers, ratings, truth = service_synth.survey_answers(visits, request.answers, effects, seed=request.seed)
    except ValueError as error:
        raise SynthesisError(f"--answers {request.answers}: {error}") from None
    moments = [datetime.combine(day, time(12), tzinfo=timezone.utc) for day in answers["answered_on"]]
    surveys.create_survey(surveys.SurveyIn(
        request.survey, f"Synthetic satisfaction survey (5s buy again {request.five_to_four}x the 4s)",
        min(moments) - timedelta(days=1), max(moments) + timedelta(days=1),
        {a: Decimal(str(w)) for a, w in service_synth.ATTRIBUTE_WEIGHTS.items()}), ACTOR)
    tokens = {i.member.customer_id: i.token for i in surveys.invite(
        request.survey, len(answers), among=[int(c) for c in answers["customer_id"]])}
    step = progress("survey answers", len(answers))
    for n, (row, scores, at) in enumerate(zip(answers.itertuples(), ratings.itertuples(index=False), moments),
                                          start=1):
        surveys.answer_survey(tokens[int(row.customer_id)], int(row.overall),
                              {a: int(s) for a, s in zip(ratings.columns, scores)}, at=at)
        step(n)
    return len(answers), truth


def _exit_reasons(seed: int, progress: Progress) -> int:
    from clientele.members.models import CustomerProfile
    from clientele.service.models import ExitReason

    noted = set(ExitReason.objects.values_list("member__customer_id", flat=True))
    lapsed = sorted(set(CustomerProfile.objects.filter(churn.LAPSED).values_list("member__customer_id", flat=True))
                    - noted)
    if not lapsed:
        raise SynthesisError("--exit-reasons: no lapsed member without a reason in the nightly profiles "
                             "(run `clientele refresh` first)")
    reasons = service_synth.exit_reasons(lapsed, seed=seed)
    step = progress("exit reasons", len(reasons))
    for n, row in enumerate(reasons.itertuples(index=False), start=1):
        churn.note_exit_reason(int(row.customer_id), row.reason, "exit_survey", ACTOR, note="synthetic exit survey")
        step(n)
    return len(reasons)
