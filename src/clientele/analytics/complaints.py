"""Complaint analysis, pure: counts by cause, store, product, category and month; service levels met;
repeat complainers; and the complainers' spend before and after against similar customers who did
not complain.

The complaints come as one pandas table (a million rows is a few seconds of grouping); the spend is
an Ibis expression over the lake's baskets, so it runs on DuckDB and Spark over the whole lake.
Complaints table columns: customer_id, received_at, first_answered_at, resolved_at, first_answer_due,
resolution_due (tz-aware), severity, cause, store_id, product_id, category, pyramid_level, value_tier.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

BREAKDOWNS = ("cause", "store_id", "product_id", "category", "month")
SEVERITIES = ("low", "medium", "high", "critical")
LARGE_LEVELS, LARGE_TIERS = ("VIP", "major"), ("platinum", "gold")


def complaint_counts(complaints: pd.DataFrame) -> dict[str, list[dict]]:
    """Complaints counted by cause, store, product, product category and month (first day, ISO),
    largest first (months in time order). Empty store, product or category counted as None."""
    table = complaints.assign(month=complaints["received_at"].dt.strftime("%Y-%m-01"))
    counts = {}
    for column in BREAKDOWNS:
        counted = table[column].value_counts(dropna=False).rename("complaints").rename_axis(column).reset_index()
        counted = counted.sort_values(column if column == "month" else "complaints", ascending=column == "month",
                                      kind="stable")
        counts[column] = [{column: _plain(value), "complaints": int(n)} for value, n in counted.itertuples(index=False)]
    return counts


def _plain(value):
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def service_levels_met(complaints: pd.DataFrame) -> list[dict]:
    """Per severity: complaints, mean hours to the first answer and to resolution (of those answered,
    resolved), and how many were answered and resolved within their deadlines."""
    rows = []
    for severity in SEVERITIES:
        part = complaints[complaints["severity"] == severity]
        if part.empty:
            continue
        answer = (part["first_answered_at"] - part["received_at"]).dt.total_seconds() / 3600
        resolution = (part["resolved_at"] - part["received_at"]).dt.total_seconds() / 3600
        rows.append({
            "severity": severity, "complaints": len(part),
            "answered": int(part["first_answered_at"].notna().sum()), "resolved": int(part["resolved_at"].notna().sum()),
            "answer_hours": None if answer.isna().all() else round(float(answer.mean()), 2),
            "resolution_hours": None if resolution.isna().all() else round(float(resolution.mean()), 2),
            "answered_on_time": int((part["first_answered_at"] <= part["first_answer_due"]).sum()),
            "resolved_on_time": int((part["resolved_at"] <= part["resolution_due"]).sum())})
    return rows


def repeat_complainers(complaints: pd.DataFrame, at_least: int = 2, large_only: bool = False) -> list[dict]:
    """Customers with at least `at_least` complaints, most first, with their pyramid level and value
    tier; `large_only`: VIP or major customers, or platinum or gold ones (PRODUCT.md §3)."""
    table = complaints
    if large_only:
        table = table[table["pyramid_level"].isin(LARGE_LEVELS) | table["value_tier"].isin(LARGE_TIERS)]
    counted = table.groupby("customer_id").agg(complaints=("customer_id", "size"),
                                               pyramid_level=("pyramid_level", "first"),
                                               value_tier=("value_tier", "first")).reset_index()
    counted = counted[counted["complaints"] >= at_least].sort_values(["complaints", "customer_id"],
                                                                     ascending=[False, True])
    return [{"member_number": int(c), "complaints": int(n), "pyramid_level": level or "", "value_tier": tier or ""}
            for c, n, level, tier in counted.itertuples(index=False)]


def spend_around_complaints(baskets: ibis.Table, complaints: ibis.Table, levels: ibis.Table, days: int) -> ibis.Table:
    """Per pyramid level and group (complained / did not): customers, mean spend in the `days` days
    before and after the reference day, and the change (after / before - 1).

    `baskets`: customer_id, basket_date, spend, one row per basket or per basket line (only sums of
    spend are taken, so the lines need not be grouped into baskets first: on a 100M-line lake that
    grouping was most of the work). `complaints`: customer_id, complained_on (a customer's first
    complaint counts). `levels`: customer_id, pyramid_level. The customers who did not complain take
    as reference day the median complaint day of their level."""
    first_complaint = complaints.group_by("customer_id").aggregate(reference_day=_.complained_on.min())
    with_level = levels.left_join(first_complaint, "customer_id").select(
        levels.customer_id, levels.pyramid_level, first_complaint.reference_day)
    typical_day = with_level.filter(_.reference_day.notnull()).group_by("pyramid_level").aggregate(
        typical_epoch=_.reference_day.epoch_seconds().quantile(0.5))
    customers = with_level.join(typical_day, "pyramid_level").mutate(
        complained=_.reference_day.notnull(),
        reference_day=ibis.coalesce(_.reference_day, _.typical_epoch.cast("int64").as_timestamp("s").date()),
    ).select("customer_id", "pyramid_level", "complained", "reference_day")
    offset = baskets.basket_date.delta(customers.reference_day, unit="day")
    around = baskets.join(customers, "customer_id").mutate(offset=offset)
    window = around.filter((_.offset > -days) & (_.offset <= days))
    per_customer = window.group_by(["customer_id"]).aggregate(
        before=_.spend.sum(where=_.offset <= 0), after=_.spend.sum(where=_.offset > 0))
    spends = customers.left_join(per_customer, "customer_id").select(
        customers.pyramid_level, customers.complained,
        before=per_customer.before.cast("float64").fill_null(0), after=per_customer.after.cast("float64").fill_null(0))
    return spends.group_by(["pyramid_level", "complained"]).aggregate(
        customers=_.count(), spend_before=_.before.mean(), spend_after=_.after.mean(),
    ).mutate(change=_.spend_after / _.spend_before.nullif(0) - 1).order_by(["pyramid_level", "complained"])
