"""What each customer earned the chain: the margin side of cost against value (PRODUCT.md §3,
"total customer value versus total customer cost")."""

from __future__ import annotations

import ibis

from clientele.analytics.baskets import member_lines
from clientele.sums import money_total


def customer_margin(lines: ibis.Table, margin_rate: float) -> ibis.Table:
    """Per customer, over their whole history in the lake: net_sales (what they paid, currency
    units, returns deducted), the estimated gross margin on it and the rate it was estimated with.

    The lake holds no cost price: the margin is estimated as net sales x `margin_rate`, the
    chain's average gross margin on sales (setting CLIENTELE_MARGIN_RATE). Columns: customer_id,
    baskets, net_sales, estimated_margin, margin_rate.
    """
    _check(margin_rate)
    members = member_lines(lines)
    sums = members.group_by("customer_id").aggregate(
        baskets=members.basket_id.nunique(), net_sales=money_total(members.sales_value))
    return _margin(sums, margin_rate)


def customer_margin_of_baskets(basket_sums: ibis.Table, margin_rate: float) -> ibis.Table:
    """`customer_margin` of the lines whose `baskets.basket_sums` (added up per basket) are
    `basket_sums`: the same rows (a customer's decimal spends add up to the decimal sum of their
    lines), read from one row per basket rather than per line (the refresh's kept basket sums)."""
    _check(margin_rate)
    sums = basket_sums.group_by("customer_id").aggregate(
        baskets=basket_sums.count(), net_sales=money_total(basket_sums.spend))
    return _margin(sums, margin_rate)


def _check(margin_rate: float) -> None:
    if not 0 <= margin_rate <= 1:
        raise ValueError(f"margin_rate is a share of sales between 0 and 1, not {margin_rate}")


def _margin(sums: ibis.Table, margin_rate: float) -> ibis.Table:
    return sums.mutate(estimated_margin=(sums.net_sales * margin_rate).round(2),
                       margin_rate=ibis.literal(margin_rate, type="float64"))
