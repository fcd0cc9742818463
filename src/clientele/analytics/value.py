"""Customer value: A/B/C classes and platinum/gold/iron/lead tiers.

Both take the value column as a parameter: the nightly refresh passes each customer's predicted
lifetime value (`forecasting.nightly`), or the spend of the window when the lake is too small for
the forecasting models.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from clientele.analytics import ranking
from clientele.analytics.pyramid import rank_into_levels

VALUE_CLASSES = ("A", "B", "C")
VALUE_TIERS = ("platinum", "gold", "iron", "lead")


@dataclass(frozen=True)
class ValueClassShares:
    """Cumulative shares of total value, best customers first: A brings the first 80%, B the next 15%."""

    a: float = 0.80
    b: float = 0.95

    def __post_init__(self) -> None:
        if not 0 < self.a < self.b < 1:
            raise ValueError("value class shares must rise strictly between 0 and 1: a < b")


@dataclass(frozen=True)
class ValueTierShares:
    """Cumulative shares of customers, best first: platinum top 5%, gold next 15%, iron next 30%."""

    platinum: float = 0.05
    gold: float = 0.20
    iron: float = 0.50

    def __post_init__(self) -> None:
        if not 0 < self.platinum < self.gold < self.iron < 1:
            raise ValueError("value tier shares must rise strictly between 0 and 1: platinum < gold < iron")


def value_classes(
    customers: ibis.Table, value: str, shares: ValueClassShares = ValueClassShares(), key: str = "customer_id"
) -> ibis.Table:
    """Each customer's ABC class by their contribution to the total of `value` (Pareto cut).

    Customers are sorted best first; a customer is A while the value of the customers before them is
    under `shares.a` of the total (so the customer who crosses 80% is still A), B under `shares.b`,
    else C. Returns the input plus value_share_before (0..1) and value_class.
    """
    # the running sum by ranges of the value (never in one partition), each value to 1e-9 and
    # summed exactly (decision 0012): the same shares on every run, whatever order rows meet in
    before = ranking.running_amount_before(customers, value, key, "_before", decimals=9)
    shared = before.mutate(value_share_before=before._before / before._before_total).drop("_before", "_before_total")
    return shared.mutate(
        value_class=ibis.cases(
            (shared.value_share_before < shares.a, "A"),
            (shared.value_share_before < shares.b, "B"),
            else_="C",
        )
    )


def value_tiers(
    customers: ibis.Table, value: str, shares: ValueTierShares = ValueTierShares(), key: str = "customer_id"
) -> ibis.Table:
    """Each customer's value tier by rank of `value`: platinum, gold, iron or lead.

    Returns the input plus tier_rank (1 = best) and value_tier.
    """
    levels = [("platinum", shares.platinum), ("gold", shares.gold), ("iron", shares.iron)]
    tiered = rank_into_levels(customers, value, levels, "lead", "value_tier", key=key)
    return tiered.rename(tier_rank="value_rank")
