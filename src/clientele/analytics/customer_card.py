"""One customer as the last refresh sees them, and the customers at risk ranked by what is at stake.

Reads the refresh's result tables only (no Django): the operational side adds the member's name,
points and loyalty tier (`members.selectors`).
"""

from __future__ import annotations

from pathlib import Path

import ibis

from clientele.analytics.results import read_result
from clientele.errors import ClienteleError
from clientele.lake.reader import LakeTableMissing, read_table


class UnknownCustomer(ClienteleError):
    """No customer of that number in the last refresh."""

    code = "unknown_customer"


def customer_view(con: ibis.BaseBackend, customer_id: int, lake: Path | None = None, purchases: int = 10) -> dict:
    """Everything the last refresh knows of one customer.

    Keys: `profile` (the serving profile: segments, RFM figures, CLV and its 90% interval, churn
    risk, expected next visit; see `results.customer_profiles`), `traits` (the traits held, each
    with its confidence 0..1), `next_purchases` (up to `purchases` products most likely bought in the
    next 14 days: product_id, category, probability 0..1, expected_date), `pyramid` (its spend,
    capped spend and monthly value in the window, and the window and cap). Raises UnknownCustomer.
    """
    profiles = read_result(con, "customer_profiles", lake)
    found = profiles.filter(profiles.customer_id == customer_id).drop("refresh_date").to_pyarrow().to_pylist()
    if not found:
        raise UnknownCustomer(f"customer {customer_id} is not in the last refresh: no basket of theirs up to its "
                              "as-of day, or they refused profiling")
    traits = read_result(con, "traits", lake)
    held = traits.filter((traits.customer_id == customer_id) & traits.has_trait).order_by(ibis.desc("confidence"))
    pyramid = read_result(con, "pyramid", lake)
    ranked = pyramid.filter(pyramid.customer_id == customer_id).select(
        "spend", "capped_spend", "monthly_value", "value_rank", "window_start", "window_end", "basket_cap")
    return {
        "profile": found[0],
        "traits": held.select("trait", "confidence").to_pyarrow().to_pylist(),
        "next_purchases": _next_purchases(con, customer_id, lake, purchases),
        "pyramid": (ranked.to_pyarrow().to_pylist() or [None])[0],
    }


def _next_purchases(con: ibis.BaseBackend, customer_id: int, lake: Path | None, limit: int) -> list[dict]:
    forecasts = read_result(con, "next_purchases", lake)
    mine = forecasts.filter(forecasts.customer_id == customer_id)
    try:
        products = read_table(con, "products", lake)
    except LakeTableMissing:  # a lake without a products table: the product number alone
        products = None
    if products is not None:
        mine = mine.left_join(products.select("product_id", "category", "subcategory"), "product_id")
    columns = ["product_id", *(["category", "subcategory"] if products is not None else []), "probability",
               "expected_date"]
    chosen = mine.order_by([ibis.desc("probability"), "product_id"]).limit(limit).select(*columns)
    return chosen.to_pyarrow().to_pylist()


def customers_at_risk(con: ibis.BaseBackend, limit: int = 20, lake: Path | None = None) -> list[dict]:
    """The customers flagged at risk (churn risk of 0.5 or more), the most valuable to keep first.

    The value at stake is churn_risk x the customer's spend of the last 365 days (`monetary`):
    the year of spend expected to be lost if nothing is done. One dict per customer, at most
    `limit`: customer_id, value_at_stake and spend (currency units), churn_risk (0..1), recency_days,
    rfm_segment, pyramid_level, value_tier, lifecycle_stage, predicted_clv, expected_next_visit.
    """
    profiles = read_result(con, "customer_profiles", lake)
    at_risk = profiles.filter(profiles.at_risk.fill_null(False))
    staked = at_risk.mutate(value_at_stake=(at_risk.churn_risk * at_risk.monetary).round(2))
    ranked = staked.order_by([ibis.desc("value_at_stake"), "customer_id"]).limit(limit)
    return ranked.select(
        "customer_id", "value_at_stake", spend=ranked.monetary, churn_risk=ranked.churn_risk,
        recency_days=ranked.recency_days, rfm_segment=ranked.rfm_segment, pyramid_level=ranked.pyramid_level,
        value_tier=ranked.value_tier, lifecycle_stage=ranked.lifecycle_stage, predicted_clv=ranked.predicted_clv,
        expected_next_visit=ranked.expected_next_visit,
    ).to_pyarrow().to_pylist()
