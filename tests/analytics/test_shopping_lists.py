"""What goes on a member's shopping list (issue 19, decision 0113): as many products as the
forecast says are due in the list's window, at most the list's length, and first the products the
member buys often lately and is likely to buy, not those bought once long ago."""

from __future__ import annotations

import math
from datetime import date, timedelta

import ibis
import pandas as pd
import pytest

from clientele.analytics.shopping_lists import ListRules, list_candidates
from clientele.forecasting.next_purchase import RECENT_DECAY_DAYS

AS_OF = date(2017, 12, 17)
WINDOW_END = AS_OF + timedelta(days=14)

WEEKLY, ONCE_LONG_AGO, EVERY_TEN_DAYS, NOW_AND_THEN = 10, 11, 12, 13


def baskets(spend_a_week: dict[int, float]) -> ibis.Table:
    """One basket a week for 8 weeks per customer, of the given spend."""
    rows = [{"customer_id": customer, "basket_id": f"{customer}-{week}", "basket_date": AS_OF - timedelta(weeks=week),
             "spend": spend} for customer, spend in spend_a_week.items() for week in range(8)]
    return ibis.memtable(pd.DataFrame(rows))


def forecast(customer: int, product: int, probability: float, days_until: int, cycle: float, last_days_ago: int,
             purchase_days: int) -> dict:
    """A forecast row of a product bought on `purchase_days` days `cycle` days apart, the last
    `last_days_ago` days before AS_OF: its `recent_purchases` weighs each of those days by its age."""
    ages = [last_days_ago + k * cycle for k in range(purchase_days)]
    return {"customer_id": customer, "product_id": product, "probability": probability,
            "expected_date": pd.Timestamp(AS_OF + timedelta(days=days_until)), "typical_cycle_days": cycle,
            "last_purchase": pd.Timestamp(AS_OF - timedelta(days=last_days_ago)), "purchase_days": purchase_days,
            "recent_purchases": sum(math.exp(-age / RECENT_DECAY_DAYS) for age in ages)}


def listed(rows: list[dict], spend_a_week: dict[int, float], rules: ListRules = ListRules()) -> dict[int, list[int]]:
    result = list_candidates(baskets(spend_a_week), ibis.memtable(pd.DataFrame(rows)), AS_OF, rules).to_pandas()
    result = result.sort_values(["customer_id", "rank"])
    assert (result.groupby("customer_id")["rank"].apply(list) == result.groupby("customer_id")["rank"].apply(
        lambda ranks: list(range(1, len(ranks) + 1)))).all()
    return result.groupby("customer_id").product_id.apply(list).to_dict()


def test_a_product_bought_weekly_ranks_above_one_bought_once_long_ago():
    rows = [
        # bought weekly for 30 weeks, last 6 days ago: due tomorrow
        forecast(1, WEEKLY, 0.55, 1, 7.0, 6, 30),
        # bought once, 300 days ago: the forecast gives it a slightly higher chance, and it is due
        forecast(1, ONCE_LONG_AGO, 0.6, 3, 60.0, 300, 1),
        # bought every 10 days, last 3 days ago: likely, though its median day is after the window
        forecast(1, EVERY_TEN_DAYS, 0.35, 20, 10.0, 3, 10),
    ]
    # two products due: a list of two, the two the member buys often
    assert listed(rows, {1: 60.0}) == {1: [WEEKLY, EVERY_TEN_DAYS]}


def test_of_two_products_bought_alike_the_one_expected_sooner_ranks_first():
    rows = [
        # bought every 10 days, last 3 days ago, the same chance in the window: one expected in a
        # little over two weeks, the other (a slower cycle's median) in six weeks
        forecast(6, 600, 0.4, 42, 10.0, 3, 10),
        forecast(6, 601, 0.4, 16, 10.0, 3, 10),
        forecast(6, 602, 0.3, 2, 30.0, 25, 2),  # due, bought twice
    ]
    assert listed(rows, {6: 60.0}) == {6: [601]}  # one due: the one expected sooner, not the later one
    rows[1]["expected_date"] = rows[0]["expected_date"]
    assert listed(rows, {6: 60.0}) == {6: [600]}  # expected the same day: a tie, the lower product id


def test_a_list_is_as_long_as_the_products_due_and_at_most_the_length():
    many = [forecast(2, 100 + k, 0.2 + k / 100, k % 10, 7.0, 3, 5 + k) for k in range(25)]  # 25 due
    one_due = [forecast(3, 200, 0.3, 2, 14.0, 10, 4), forecast(3, 201, 0.9, 30, 14.0, 2, 40),
               forecast(3, 202, 0.5, 40, 14.0, 2, 20)]
    none_due = [forecast(4, 300, 0.8, 20, 30.0, 5, 10)]
    too_little_spend = [forecast(5, 400, 0.9, 1, 7.0, 6, 30)]
    spend = {2: 80.0, 3: 40.0, 4: 40.0, 5: 20.0}

    lists = listed(many + one_due + none_due + too_little_spend, spend)

    assert set(lists) == {2, 3}  # nothing due: no list; 20 a week is under the threshold of 25
    assert len(lists[2]) == 20 and len(set(lists[2])) == 20
    assert lists[3] == [201]  # one due: one product, the one the member buys most often lately
    assert listed(many, {2: 80.0}, ListRules(length=5)) == {2: lists[2][:5]}


def test_the_rules_refuse_a_list_of_no_product():
    with pytest.raises(ValueError):
        ListRules(length=0)
