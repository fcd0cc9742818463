"""The customer pyramid: VIP, major, medium and small customers by their value over a period."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
from ibis import _


@dataclass(frozen=True)
class PyramidCutoffs:
    """Cumulative shares of customers, best first: VIP = top 1%, major = next 4%, medium = next 15%."""

    vip: float = 0.01
    major: float = 0.05
    medium: float = 0.20

    def __post_init__(self) -> None:
        if not 0 < self.vip < self.major < self.medium < 1:
            raise ValueError("pyramid cut-offs must rise strictly between 0 and 1: vip < major < medium")


LEVELS = ("VIP", "major", "medium", "small")


def assign_levels(
    customers: ibis.Table, value: str, cutoffs: PyramidCutoffs = PyramidCutoffs(), key: str = "customer_id"
) -> ibis.Table:
    """Each customer's pyramid level by `value` (highest first; ties broken by customer id).

    With n customers, the top round(n x vip) are VIP, up to round(n x major) major, up to
    round(n x medium) medium, the rest small: 1,000 customers give 10, 40, 150 and 800.
    Returns the input columns plus `value_rank` (1 = best) and `pyramid_level`.
    """
    ranked = customers.mutate(
        value_rank=ibis.row_number().over(order_by=[ibis.desc(customers[value]), customers[key]]) + 1,
        customer_count=customers[key].count().over(),
    )
    n = ranked.customer_count
    level = ibis.cases(
        (ranked.value_rank <= (n * cutoffs.vip).round(), "VIP"),
        (ranked.value_rank <= (n * cutoffs.major).round(), "major"),
        (ranked.value_rank <= (n * cutoffs.medium).round(), "medium"),
        else_="small",
    )
    return ranked.mutate(pyramid_level=level).drop("customer_count")


def level_summary(leveled: ibis.Table, value: str) -> ibis.Table:
    """Per pyramid level: customers, share of customers and share of `value` (shares in 0..1)."""
    per_level = leveled.group_by("pyramid_level").aggregate(customers=_.count(), value_total=leveled[value].sum())
    return per_level.mutate(
        customer_share=per_level.customers / per_level.customers.sum().over(),
        value_share=per_level.value_total / per_level.value_total.sum().over(),
    )
