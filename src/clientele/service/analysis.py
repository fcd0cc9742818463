"""Complaint analysis of a period: the complaints read once from the operational database into one
table, then counted and measured by `analytics.complaints` (by cause, store, product, category and
month; service levels met; repeat complainers and the large customers among them); and the
complainers' spend before and after against customers who did not complain, from the lake."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pandas as pd
from django.db import connection
from django.db.models import F

from clientele.analytics import complaints as analytics
from clientele.members.models import CustomerProfile
from clientele.service.models import Complaint

COLUMNS = {"customer_id": F("member__customer_id"), "received_at": F("received_at"),
           "first_answered_at": F("first_answered_at"), "resolved_at": F("resolved_at"),
           "first_answer_due": F("first_answer_due"), "resolution_due": F("resolution_due"),
           "severity": F("severity"), "cause": F("cause__name"), "store_id": F("store_id"),
           "product_id": F("product_id"), "category": F("product__category"),
           "pyramid_level": F("member__profile__pyramid_level"), "value_tier": F("member__profile__value_tier")}
MOMENTS = ("received_at", "first_answered_at", "resolved_at", "first_answer_due", "resolution_due")


def _rows(queryset) -> list[tuple]:
    """The query's rows as the database driver returns them: no per-row conversion in Python (a
    million complaints are read in seconds; the table converts whole columns)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _received_between(start: date, end: date):
    """The complaints received between `start` and `end`, inclusive UTC days."""
    return Complaint.objects.filter(received_at__gte=datetime.combine(start, time.min, tzinfo=timezone.utc),
                                    received_at__lte=datetime.combine(end, time.max, tzinfo=timezone.utc))


def complaints_table(start: date, end: date) -> pd.DataFrame:
    """The complaints received between `start` and `end` (inclusive, UTC days), one row each, with
    their member's pyramid level and value tier (columns: `analytics.complaints`)."""
    chosen = _received_between(start, end).annotate(
        **{f"c_{name}": expression for name, expression in COLUMNS.items()}).values_list(
        *[f"c_{name}" for name in COLUMNS])
    table = pd.DataFrame(_rows(chosen), columns=list(COLUMNS))
    for name in MOMENTS:
        table[name] = pd.to_datetime(table[name], utc=True, format="ISO8601")
    return table


def complaint_report(start: date, end: date) -> dict:
    """The complaint analysis of a period: counts by cause, store, product, category and month;
    service levels met per severity; the 50 most frequent repeat complainers; every large customer
    (VIP, major, platinum or gold) who complained at least twice."""
    table = complaints_table(start, end)
    counts = analytics.complaint_counts(table)
    return {"period": {"start": start.isoformat(), "end": end.isoformat()}, "complaints": len(table),
            "by": {"cause": counts["cause"], "store": counts["store_id"], "product": counts["product_id"],
                   "category": counts["category"], "month": counts["month"]},
            "service_levels": analytics.service_levels_met(table),
            "repeat_complainers": analytics.repeat_complainers(table)[:50],
            "large_repeat_complainers": analytics.repeat_complainers(table, large_only=True)}


def spend_before_and_after(start: date, end: date, days: int = 90, lake=None) -> list[dict]:
    """The complainers' mean spend in the `days` days before and after their first complaint of the
    period against customers of the same pyramid level who did not complain, from the lake."""
    import ibis

    from clientele.analytics.baskets import member_lines
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines

    complained = pd.DataFrame(_rows(_received_between(start, end).values_list("member__customer_id", "received_at")),
                              columns=["customer_id", "received_at"])
    complained["received_at"] = pd.to_datetime(complained["received_at"], utc=True, format="ISO8601")
    levels = pd.DataFrame(_rows(CustomerProfile.objects.exclude(pyramid_level="").values_list(
        "member__customer_id", "pyramid_level")), columns=["customer_id", "pyramid_level"])
    if complained.empty or levels.empty:
        return []
    con = connect()
    complaints = ibis.memtable(pd.DataFrame({"customer_id": complained["customer_id"],
                                             "complained_on": complained["received_at"].dt.date}))
    lines = member_lines(basket_lines(con, lake))
    # the lines' spend by day, not grouped into baskets first: the analysis only sums spend
    spend_lines = lines.select("customer_id", basket_date=lines.transaction_ts.date(), spend=lines.sales_value)
    result = analytics.spend_around_complaints(spend_lines, complaints, ibis.memtable(levels), days)
    return con.execute(result).to_dict("records")
