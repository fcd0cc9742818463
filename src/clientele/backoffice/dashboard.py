"""The programme dashboard's figures, each from the same code as the CLI's report for the same day:
the summary report (`clientele report summary`), the liability (`clientele loyalty liability`),
the refresh's results and the operational database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from django.core.cache import cache
from django.db.models import Count, Q, Sum

from clientele.analytics import programme
from clientele.analytics.customer_view import refresh_state
from clientele.analytics.results import read_result
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
EARNED_KINDS = [PointsEntry.Kind.POINTS_EARNED, PointsEntry.Kind.BONUS_AWARDED, PointsEntry.Kind.OPENING_BALANCE]


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
    entries = PointsEntry.objects.filter(created_at__date__gte=period.start, created_at__date__lte=period.end)
    sums = entries.aggregate(
        issued=Sum("amount", filter=Q(kind__in=EARNED_KINDS)),
        reversed=Sum("amount", filter=Q(kind=PointsEntry.Kind.POINTS_REVERSED)),
        redeemed=Sum("amount", filter=Q(kind=PointsEntry.Kind.POINTS_REDEEMED)),
        expired=Sum("amount", filter=Q(kind=PointsEntry.Kind.POINTS_EXPIRED)),
    )
    return {"issued": sums["issued"] or 0, "reversed": -(sums["reversed"] or 0),
            "redeemed": -(sums["redeemed"] or 0), "expired": -(sums["expired"] or 0),
            "liability": liability(today)}


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
    """From the refresh's results: the latest month's lifecycle flows and the top customers who did
    not come back (empty before the first refresh)."""
    con = connect("duckdb")
    flows, top = _results(con, "stage_flows"), _results(con, "year_over_year")
    return {"lifecycle_flows": programme.latest_stage_flows(flows) if flows is not None else [],
            "gone_top_customers": programme.gone_top_customers(top) if top is not None else []}


def _state_key(period: Period, today: date) -> str:
    """What the figures depend on: the lake and its last refresh, the period, the day, and the last
    member and ledger entry written (a new one makes the figures computed again)."""
    last = (Member.objects.order_by("-pk").values_list("pk", flat=True).first(),
            PointsEntry.objects.order_by("-pk").values_list("pk", flat=True).first())
    state = f"{settings().lake_path}:{sorted(refresh_state().items())}:{period}:{today}:{last}"
    return "dashboard:" + hashlib.sha256(state.encode()).hexdigest()


def dashboard(period: Period, today: date) -> dict:
    """Every figure and table of the dashboard: `members`, `points` (with the liability), the
    summary's `overview`, `tables` (name -> rows), the refresh's dates and `computed_at` (UTC).

    Computed once per state (`_state_key`) and kept CACHE_SECONDS: with millions of members the
    liability alone sums every account's ledger for seconds, as `clientele loyalty liability` does."""
    key = _state_key(period, today)
    figures = cache.get(key)
    if figures is None:
        figures = _compute(period, today) | {"computed_at": datetime.now(timezone.utc)}
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def _compute(period: Period, today: date) -> dict:
    report = summary_report()
    tables = {"pyramid": report.pyramid if report else [], **profile_tables(), **result_tables()}
    return {"members": member_figures(period), "points": points_figures(period, today),
            "overview": report.overview if report else None, "tables": tables, "refresh": refresh_state(),
            "period": period, "definition": ACTIVE_DEFINITION,
            "pyramid_rule": summary.rule_text(report.pyramid_rule) if report else ""}

