"""Complaint analysis: by cause, store, product, category and month; time to first answer and to
resolution against the service levels; repeat complainers and the large customers among them; and
the complainers' spend before and after against customers who did not complain."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncMonth

from clientele.members.models import CustomerProfile
from clientele.service.models import Complaint, Severity

LARGE = Q(member__profile__pyramid_level__in=["VIP", "major"]) | Q(member__profile__value_tier__in=["platinum", "gold"])
BREAKDOWNS = {"cause": "cause__name", "store": "store_id", "product": "product_id",
              "category": "product__category", "month": "month"}


def _period(start: date, end: date):
    since = datetime.combine(start, time.min, tzinfo=timezone.utc)
    until = datetime.combine(end, time.max, tzinfo=timezone.utc)
    return Complaint.objects.filter(received_at__gte=since, received_at__lte=until)


def complaint_counts(start: date, end: date) -> dict[str, list[dict]]:
    """Complaints received between `start` and `end` (inclusive) counted by cause, store, product,
    product category and month, largest first."""
    complaints = _period(start, end).annotate(month=TruncMonth("received_at"))
    counts = {}
    for name, column in BREAKDOWNS.items():
        rows = complaints.values(column).annotate(complaints=Count("pk")).order_by("-complaints", column)
        counts[name] = [{name: (row[column].date().isoformat() if name == "month" and row[column] else row[column]),
                         "complaints": row["complaints"]} for row in rows]
    if counts["month"]:
        counts["month"].sort(key=lambda row: row["month"] or "")
    return counts


def hours(value) -> float | None:
    return round(value.total_seconds() / 3600, 2) if value is not None else None


def service_levels_met(start: date, end: date) -> list[dict]:
    """Per severity: complaints, mean hours to the first answer and to resolution, and how many were
    answered and resolved within their deadlines (and how many are still late)."""
    duration = DurationField()
    rows = _period(start, end).values("severity").annotate(
        complaints=Count("pk"),
        answer_hours=Avg(ExpressionWrapper(F("first_answered_at") - F("received_at"), output_field=duration)),
        resolution_hours=Avg(ExpressionWrapper(F("resolved_at") - F("received_at"), output_field=duration)),
        answered_on_time=Count("pk", filter=Q(first_answered_at__lte=F("first_answer_due"))),
        resolved_on_time=Count("pk", filter=Q(resolved_at__lte=F("resolution_due"))),
        answered=Count("first_answered_at"), resolved=Count("resolved_at"))
    order = {severity: i for i, severity in enumerate(Severity.values)}
    return sorted(({**row, "answer_hours": hours(row["answer_hours"]),
                    "resolution_hours": hours(row["resolution_hours"])} for row in rows),
                  key=lambda row: order[row["severity"]])


def repeat_complainers(start: date, end: date, at_least: int = 2, large_only: bool = False) -> list[dict]:
    """Members with at least `at_least` complaints in the period, most complaints first, with their
    pyramid level and value tier; `large_only`: only VIP and major customers or platinum and gold
    ones (PRODUCT.md §3: which large customers complained repeatedly last year)."""
    complaints = _period(start, end).filter(LARGE) if large_only else _period(start, end)
    rows = (complaints.values("member__customer_id").annotate(complaints=Count("pk"))
            .filter(complaints__gte=at_least).order_by("-complaints", "member__customer_id"))
    members = [row["member__customer_id"] for row in rows]
    profiles = {p["member__customer_id"]: p for p in CustomerProfile.objects.filter(
        member__customer_id__in=members).values("member__customer_id", "pyramid_level", "value_tier", "monetary")}
    return [{"member_number": row["member__customer_id"], "complaints": row["complaints"],
             "pyramid_level": profiles.get(row["member__customer_id"], {}).get("pyramid_level", ""),
             "value_tier": profiles.get(row["member__customer_id"], {}).get("value_tier", "")}
            for row in rows]


def complaint_report(start: date, end: date) -> dict:
    """The whole complaint analysis of a period (the operational part: counts, service levels,
    repeat complainers and the large ones among them)."""
    return {"period": {"start": start.isoformat(), "end": end.isoformat()},
            "complaints": _period(start, end).count(), "by": complaint_counts(start, end),
            "service_levels": service_levels_met(start, end),
            "repeat_complainers": repeat_complainers(start, end)[:50],
            "large_repeat_complainers": repeat_complainers(start, end, large_only=True)}


def spend_before_and_after(start: date, end: date, days: int = 90, lake=None) -> list[dict]:
    """The complainers' mean spend in the `days` days before and after their first complaint of the
    period against customers of the same pyramid level who did not complain, from the lake."""
    import ibis

    from clientele.analytics.baskets import baskets
    from clientele.analytics.complaints import spend_around_complaints
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines

    complained = list(_period(start, end).values_list("member__customer_id", "received_at"))
    levels = list(CustomerProfile.objects.exclude(pyramid_level="").values_list("member__customer_id",
                                                                              "pyramid_level"))
    if not complained or not levels:
        return []
    con = connect()
    complaints = ibis.memtable({"customer_id": [c for c, _ in complained],
                                "complained_on": [at.date() for _, at in complained]})
    level_table = ibis.memtable({"customer_id": [c for c, _ in levels], "pyramid_level": [p for _, p in levels]})
    result = spend_around_complaints(baskets(basket_lines(con, lake)), complaints, level_table, days)
    return con.execute(result).to_dict("records")
