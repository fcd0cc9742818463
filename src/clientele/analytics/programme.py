"""The programme's health from the refresh's results: active and lapsed customers over a period,
the latest lifecycle flows and the top customers who did not come back (the dashboard's figures)."""

from __future__ import annotations

from datetime import date, timedelta

import ibis


def period_customers(baskets: ibis.Table, start: date, end: date) -> dict[str, int]:
    """Customers with a basket from `start` to `end` included (active), and customers with a basket
    in the period of the same length just before but none in this one (lapsed)."""
    days = (end - start).days + 1
    before = start - timedelta(days=days)
    day = baskets.basket_date
    in_period = (day >= ibis.date(start)) & (day <= ibis.date(end))
    # Only the baskets of the two periods are grouped (not every customer's history): a customer
    # met there is active, or else lapsed.
    recent = baskets.filter((day >= ibis.date(before)) & (day <= ibis.date(end)))
    per_customer = recent.group_by("customer_id").aggregate(now=in_period.any())
    counts = per_customer.aggregate(
        active=per_customer.now.sum(),
        lapsed=(~per_customer.now).sum(),
    ).to_pyarrow().to_pylist()[0]
    return {name: int(value or 0) for name, value in counts.items()}


def latest_stage_flows(flows: ibis.Table) -> list[dict]:
    """The lifecycle flows into the last complete month: from_stage (None for new customers),
    to_stage, customers, month; largest flows first."""
    last = flows.month.max()
    latest = flows.filter(flows.month == last).order_by([ibis.desc("customers"), "from_stage", "to_stage"])
    return latest.select("month", "from_stage", "to_stage", "customers").to_pyarrow().to_pylist()


def refresh_flows(moves: ibis.Table) -> list[dict]:
    """The lifecycle stage moves between the previous refresh and the last one (the refresh's
    `refresh_flows`): from_stage (None: not a customer then), to_stage (None: no longer one),
    customers; largest first."""
    ordered = moves.order_by([ibis.desc("customers"), "from_stage", "to_stage"])
    return ordered.select("from_stage", "to_stage", "customers").to_pyarrow().to_pylist()


def gone_top_customers(year_over_year: ibis.Table, limit: int = 20) -> list[dict]:
    """Last period's top customers who did not buy this period, biggest first: customer_id,
    last_rank, last_spend (currency units)."""
    gone = year_over_year.filter(~year_over_year.bought_again).order_by("last_rank").limit(limit)
    return gone.select("customer_id", "last_rank", "last_spend").to_pyarrow().to_pylist()
