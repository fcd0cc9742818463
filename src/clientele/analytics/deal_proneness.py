"""Deal proneness: how much of a customer's spend was bought on a deal.

A line is on a deal when it carried a retail (loyalty-card) discount, a coupon or a manufacturer's
coupon match. A customer with a high share buys mostly on promotion: the "discount-trained"
customer the brief warns about.
"""

from __future__ import annotations

from datetime import date

import ibis

from clientele.analytics.baskets import in_window
from clientele.sums import money_total


def deal_proneness(baskets: ibis.Table, as_of: date, window_days: int = 365) -> ibis.Table:
    """Per customer who spent in the window: how deal-driven their spend is.

    Columns: customer_id, spend (currency units), deal_spend (spend on lines bought on a deal,
    currency units), deal_proneness (deal_spend / spend, 0..1) and discount_rate (discounts
    received / (spend + discounts), 0..1: the share of the shelf price the deals paid).
    """
    window = in_window(baskets, as_of, window_days)
    per_customer = window.group_by("customer_id").aggregate(
        spend=money_total(window.spend),
        deal_spend=money_total(window.deal_spend),
        discount=money_total(window.discount),
    )
    bought = per_customer.filter(per_customer.spend > 0)
    return bought.select(
        "customer_id",
        "spend",
        "deal_spend",
        deal_proneness=(bought.deal_spend / bought.spend).clip(lower=0.0, upper=1.0),
        discount_rate=bought.discount / (bought.spend + bought.discount),
    )
