"""The dashboard's active and lapsed customers and the latest lifecycle flows, from the refresh's tables."""

from __future__ import annotations

from datetime import date

import ibis

from clientele.analytics.programme import gone_top_customers, latest_stage_flows, period_customers


def test_active_customers_bought_in_the_period_and_lapsed_ones_only_in_the_period_before():
    baskets = ibis.memtable({
        "customer_id": [1, 1, 2, 3, 4],
        "basket_date": [date(2017, 11, 20), date(2017, 12, 10), date(2017, 11, 15), date(2017, 12, 31),
                        date(2017, 10, 1)],
    })
    # December is the period; the 31 days before it (from 2017-10-31) the period before
    assert period_customers(baskets, date(2017, 12, 1), date(2017, 12, 31)) == {"active": 2, "lapsed": 1}


def test_the_latest_flows_are_the_last_months_largest_first_and_gone_top_customers_biggest_first():
    flows = ibis.memtable({"month": [date(2017, 11, 1), date(2017, 12, 1), date(2017, 12, 1)],
                           "from_stage": ["formation", "formation", None],
                           "to_stage": ["stability", "decline", "exploration"], "customers": [9, 2, 5]})
    top = ibis.memtable({"customer_id": [7, 8, 9], "last_rank": [2, 1, 3], "last_spend": [80.0, 90.0, 70.0],
                         "bought_again": [False, False, True]})

    assert [(r["from_stage"], r["to_stage"], r["customers"]) for r in latest_stage_flows(flows)] == [
        (None, "exploration", 5), ("formation", "decline", 2)]
    assert [r["customer_id"] for r in gone_top_customers(top)] == [8, 7]
