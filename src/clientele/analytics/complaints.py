"""Complaint analysis, pure: counts by cause, store, product, category and month; service levels met;
repeat complainers; and the complainers' spend before and after against similar customers who did
not complain.

Ibis tables in, Ibis tables out, so the counts run where the complaints were loaded (DuckDB, in
process) and the spend where the lake is read (DuckDB or Spark). Complaints table columns:
customer_id, received_at, first_answered_at, resolved_at, first_answer_due, resolution_due (UTC
moments), severity, cause, store_id, product_id, category, pyramid_level, value_tier.
"""

from __future__ import annotations

import ibis
from ibis import _

BREAKDOWNS = ("cause", "store_id", "product_id", "category", "month")
SEVERITIES = ("low", "medium", "high", "critical")
LARGE_LEVELS, LARGE_TIERS = ("VIP", "major"), ("platinum", "gold")


def complaint_counts(complaints: ibis.Table) -> dict[str, ibis.Table]:
    """Complaints counted by cause, store, product, product category and month (first day, ISO):
    per breakdown a table (the breakdown's column, complaints), largest first, ties by value with the
    empty one (None) last; months in time order."""
    by_month = complaints.mutate(month=_.received_at.strftime("%Y-%m-01"))
    counts = {}
    for column in BREAKDOWNS:
        counted = by_month.group_by(column).aggregate(complaints=_.count())
        order = [counted[column]] if column == "month" else [ibis.desc("complaints"), counted[column].asc(nulls_first=False)]
        counts[column] = counted.order_by(order)
    return counts


def service_levels_met(complaints: ibis.Table) -> ibis.Table:
    """Per severity (in SEVERITIES' order): complaints, mean hours to the first answer and to
    resolution (of those answered, resolved; unrounded), and how many were answered and resolved
    within their deadlines."""
    def hours(moment):
        return moment.delta(complaints.received_at, unit="microsecond") / 3_600_000_000

    rank = ibis.cases(*((_.severity == severity, n) for n, severity in enumerate(SEVERITIES)), else_=len(SEVERITIES))
    return complaints.group_by("severity").aggregate(
        complaints=_.count(), answered=_.first_answered_at.count(), resolved=_.resolved_at.count(),
        answer_hours=hours(complaints.first_answered_at).mean(),
        resolution_hours=hours(complaints.resolved_at).mean(),
        answered_on_time=_.count(where=_.first_answered_at <= _.first_answer_due),
        resolved_on_time=_.count(where=_.resolved_at <= _.resolution_due),
    ).order_by(rank)


def repeat_complainers(complaints: ibis.Table, at_least: int = 2, large_only: bool = False) -> ibis.Table:
    """Customers with at least `at_least` complaints (customer_id, complaints, pyramid_level,
    value_tier), most first, then by customer; `large_only`: VIP or major customers, or platinum or
    gold ones (PRODUCT.md §3)."""
    table = complaints.filter(_.customer_id.notnull())
    if large_only:
        table = table.filter(_.pyramid_level.isin(LARGE_LEVELS) | _.value_tier.isin(LARGE_TIERS))
    counted = table.group_by("customer_id").aggregate(complaints=_.count(), pyramid_level=_.pyramid_level.arbitrary(),
                                                      value_tier=_.value_tier.arbitrary())
    return counted.filter(_.complaints >= at_least).order_by([ibis.desc("complaints"), "customer_id"])


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
