"""Did complaining customers spend less afterwards? Their spend before and after the complaint
against similar customers (the same pyramid level) who did not complain, over the same days.

A table in, a table out (Ibis), so it runs on DuckDB and Spark over the whole lake.
"""

from __future__ import annotations

import ibis
from ibis import _


def spend_around_complaints(baskets: ibis.Table, complaints: ibis.Table, levels: ibis.Table, days: int) -> ibis.Table:
    """Per pyramid level and group (complained / did not): customers, mean spend in the `days` days
    before and after the reference day, and the change (after / before - 1).

    `baskets`: customer_id, basket_date, spend. `complaints`: customer_id, complained_on (a
    customer's first complaint counts). `levels`: customer_id, pyramid_level. The customers who did
    not complain take as reference day the median complaint day of their level."""
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
        before=per_customer.before.fill_null(0), after=per_customer.after.fill_null(0))
    return spends.group_by(["pyramid_level", "complained"]).aggregate(
        customers=_.count(), spend_before=_.before.mean(), spend_after=_.after.mean(),
    ).mutate(change=_.spend_after / _.spend_before.nullif(0) - 1).order_by(["pyramid_level", "complained"])
