"""The programme dashboard's figures, each from the same code as the CLI's report for the same day:
the summary report (`clientele report summary`), the liability (`clientele loyalty liability`),
the refresh's results and the operational database."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Count, Q, Sum

from clientele.analytics import programme
from clientele.analytics.customer_view import refresh_state
from clientele.analytics.results import read_result
from clientele.backoffice.models import DashboardFigures
from clientele.config import settings
from clientele.engine import connect
from clientele.lake.reader import LakeTableMissing
from clientele.loyalty.ledger import liability
from clientele.loyalty.models import PointsEntry
from clientele.members.models import CustomerProfile, Member
from clientele.reports import summary

ACTIVE_DEFINITION = ("a member with at least one basket in the period (the lake's baskets up to the last "
                     "refresh); lapsed: a basket in the period of the same length just before, none in this one")
CHURN_BANDS = [(0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.01)]
VALUE_TIERS = ["platinum", "gold", "iron", "lead"]
CACHE_SECONDS = 600
EARNED_KINDS = [PointsEntry.Kind.POINTS_EARNED, PointsEntry.Kind.BONUS_AWARDED, PointsEntry.Kind.OPENING_BALANCE,
                PointsEntry.Kind.EVENT_BONUS]


@dataclass(frozen=True)
class Period:
    """The days the period figures cover, `start` to `end` included."""

    start: date
    end: date

    @classmethod
    def default(cls) -> Period:
        """The 28 days up to the last refreshed day (today before any refresh)."""
        as_of = refresh_state().get("as_of")
        end = date.fromisoformat(as_of) if as_of else date.today()
        return cls(end - timedelta(days=27), end)


def _lake_state() -> tuple:
    """What changes when the lake's lines change: the import log's size and time."""
    log = settings().lake_path / "_imports" / "import_log.jsonl"
    return (str(log), log.stat().st_size, log.stat().st_mtime_ns) if log.exists() else (str(log), 0, 0)


@lru_cache(maxsize=2)
def _summary(state: tuple) -> summary.Summary | None:
    try:
        return summary.build()
    except LakeTableMissing:
        return None


def summary_report() -> summary.Summary | None:
    """The summary report (as `clientele report summary` prints it), computed once per state of the
    lake; None before anything was imported."""
    return _summary(_lake_state())


def _results(con, name: str):
    try:
        return read_result(con, name)
    except LakeTableMissing:
        return None


def points_figures(period: Period, today: date) -> dict:
    """Points issued, redeemed and expired in the period (ledger entries created on those UTC days)
    and the outstanding liability on `today`, as `clientele loyalty liability` reports it."""
    return period_points(period) | {"liability": liability(today)}


def period_points(period: Period) -> dict:
    """Points issued, reversed, redeemed and expired in the period (entries created on those UTC days)."""
    entries = PointsEntry.objects.filter(created_at__date__gte=period.start, created_at__date__lte=period.end)
    sums = entries.aggregate(
        issued=Sum("amount", filter=Q(kind__in=EARNED_KINDS)),
        reversed=Sum("amount", filter=Q(kind=PointsEntry.Kind.POINTS_REVERSED)),
        redeemed=Sum("amount", filter=Q(kind=PointsEntry.Kind.POINTS_REDEEMED)),
        expired=Sum("amount", filter=Q(kind=PointsEntry.Kind.POINTS_EXPIRED)),
    )
    return {"issued": sums["issued"] or 0, "reversed": -(sums["reversed"] or 0),
            "redeemed": -(sums["redeemed"] or 0), "expired": -(sums["expired"] or 0)}


def member_figures(period: Period) -> dict:
    """Members (not erased), members who joined in the period, and active and lapsed customers."""
    figures = Member.objects.exclude(status=Member.Status.ERASED).aggregate(
        members=Count("id"), new=Count("id", filter=Q(join_date__gte=period.start, join_date__lte=period.end)))
    con = connect("duckdb")
    baskets = _results(con, "baskets")
    counts = programme.period_customers(baskets, period.start, period.end) if baskets is not None else {}
    return figures | {"active": counts.get("active"), "lapsed": counts.get("lapsed")}


def profile_tables() -> dict[str, list[dict]]:
    """From the customer profiles the refresh served: customers per churn-risk band and per value tier."""
    profiles = CustomerProfile.objects.all()
    churn = profiles.aggregate(**{
        f"band{i}": Count("id", filter=Q(churn_risk__gte=low, churn_risk__lt=high))
        for i, (low, high) in enumerate(CHURN_BANDS)}, unknown=Count("id", filter=Q(churn_risk__isnull=True)))
    bands = [{"churn_risk": f"{low:.0%} to {min(high, 1):.0%}", "customers": churn[f"band{i}"]}
             for i, (low, high) in enumerate(CHURN_BANDS)]
    bands.append({"churn_risk": "not forecast", "customers": churn["unknown"]})
    tiers = dict(profiles.values_list("value_tier").annotate(n=Count("id")).order_by())
    return {"churn_risk": bands,
            "value_tiers": [{"value_tier": tier, "customers": tiers.get(tier, 0)} for tier in VALUE_TIERS]}


def result_tables() -> dict[str, list[dict]]:
    """From the refresh's results: the stage moves since the previous refresh, the latest month's
    lifecycle flows and the top customers who did not come back (empty before the first refresh)."""
    con = connect("duckdb")
    flows, top = _results(con, "stage_flows"), _results(con, "year_over_year")
    moves = _results(con, "refresh_flows")
    monthly = programme.latest_stage_flows(flows) if flows is not None else []
    return {"refresh_flows": programme.refresh_flows(moves) if moves is not None else [],
            "lifecycle_flows": [row | {"month": f"{row['month']:%Y-%m}"} for row in monthly],
            "gone_top_customers": programme.gone_top_customers(top) if top is not None else []}


def campaign_results() -> list[dict]:
    """Per launched campaign, newest first: its groups and the lift of its goal metric against the
    holdout with the 95% interval, and the ROI (`clientele campaigns measure`'s figures); a campaign
    that cannot be measured yet says why."""
    from clientele.campaigns.measurement import measure_campaign
    from clientele.campaigns.models import Campaign
    from clientele.campaigns.services import group_counts
    from clientele.errors import ClienteleError

    rows = []
    for campaign in Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("-launched_at", "-id")[:20]:
        row = {"campaign": campaign.id, "name": campaign.name, "status": campaign.status,
               "goal": campaign.goal_metric, **{f"{g}_members": n for g, n in group_counts(campaign).items()}}
        try:
            measured = measure_campaign(campaign.id)
        except (ClienteleError, LakeTableMissing) as why:
            rows.append(row | {"result": str(why)})
            continue
        lift = measured["lifts"].get(campaign.goal_metric) or {}
        roi = measured["roi"] or {}
        rows.append(row | {"result": measured["label"], "relative_lift": lift.get("relative"),
                           "lift_low": lift.get("relative_low"), "lift_high": lift.get("relative_high"),
                           "p_value": lift.get("p_value"), "roi": roi.get("roi")})
    return rows


def _state_key(period: Period, today: date) -> str:
    """What the figures depend on: the lake and its last refresh, the period, the day, and the last
    member and ledger entry written (a new one makes the figures computed again)."""
    last = (Member.objects.order_by("-pk").values_list("pk", flat=True).first(),
            PointsEntry.objects.order_by("-pk").values_list("pk", flat=True).first())
    state = f"{settings().lake_path}:{sorted(refresh_state().items())}:{period}:{today}:{last}"
    return "dashboard:" + hashlib.sha256(state.encode()).hexdigest()


def dashboard(period: Period, today: date) -> dict:
    """Every figure and table of the dashboard: `members`, `points` (with the liability), the
    summary's `overview`, `tables` (name -> rows), the refresh's dates, `computed_at` (UTC) and
    `nightly` (True: computed by the nightly refresh).

    The default period's figures are read as the nightly refresh stored them (`store_nightly`,
    decision 0042). Another period's are computed once per state (`_state_key`) and kept
    CACHE_SECONDS; only what depends on the period is computed (members joined, active and lapsed,
    points issued and spent), the rest (the liability, the pyramid, the profiles' bands, the flows,
    the campaigns) is read from the nightly figures when the last refresh stored them: with millions
    of members the liability alone sums every account's ledger for seconds, as `clientele loyalty
    liability` does. Before any refresh stored them, everything is computed."""
    stored = _nightly(period)
    if stored is not None:
        return stored
    key = _state_key(period, today)
    figures = cache.get(key)
    if figures is None:
        nightly = _nightly()
        figures = (_compute(period, today) if nightly is None else _for_period(nightly, period)) | {
            "computed_at": datetime.now(timezone.utc), "nightly": False}
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def _for_period(nightly: dict, period: Period) -> dict:
    """The nightly figures with those of `period` in place of the default period's."""
    points = period_points(period) | {"liability": nightly["points"]["liability"]}
    return nightly | {"members": member_figures(period), "points": points, "period": period}


def store_nightly(today: date) -> DashboardFigures:
    """The nightly refresh's last step: compute the default period's figures (the 28 days to the
    refreshed day) and store them for the dashboard to read. Returns the stored row."""
    period = Period.default()
    figures = _compute(period, today)
    refresh_date = date.fromisoformat(figures["refresh"]["refresh_date"]) if figures["refresh"] else today
    stored = {name: value for name, value in figures.items() if name != "period"}
    with transaction.atomic():
        DashboardFigures.objects.all().delete()
        return DashboardFigures.objects.create(period_start=period.start, period_end=period.end,
                                               refresh_date=refresh_date, computed_at=datetime.now(timezone.utc),
                                               figures=json.dumps(stored, cls=DjangoJSONEncoder))


def _nightly(period: Period | None = None) -> dict | None:
    """The figures the last refresh stored (if `period` is given: only if they are that period's),
    if no refresh ran since."""
    stored = DashboardFigures.objects.first()
    if stored is not None and period is not None and (stored.period_start, stored.period_end) != (period.start,
                                                                                                   period.end):
        return None
    refreshed = refresh_state().get("refresh_date")
    if stored is None or refreshed != stored.refresh_date.isoformat():
        return None
    return json.loads(stored.figures) | {"period": period, "computed_at": stored.computed_at, "nightly": True}


def _compute(period: Period, today: date) -> dict:
    report = summary_report()
    tables = {"pyramid": report.pyramid if report else [], **profile_tables(), **result_tables(),
              "campaigns": campaign_results()}
    return {"members": member_figures(period), "points": points_figures(period, today),
            "overview": report.overview if report else None, "tables": tables, "refresh": refresh_state(),
            "period": period, "definition": ACTIVE_DEFINITION,
            "pyramid_rule": summary.rule_text(report.pyramid_rule) if report else ""}

