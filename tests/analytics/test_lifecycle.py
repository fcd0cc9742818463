"""Lifecycle stages from tenure, spend trend and regularity; exit patterns; the monthly history."""

from datetime import date, timedelta

import pytest

from clientele import analytics
from clientele.lake.reader import basket_lines

AS_OF = date(2024, 12, 31)
JAN = date(2024, 1, 1)


def weekly_until(builder, customer, first, last, spend):
    weeks = (last - first).days // 7 + 1
    builder.weekly(customer, first, weeks, spend)


@pytest.fixture
def year_of_customers(lake_builder):
    weekly_until(lake_builder, 1, JAN, AS_OF, 40.0)  # steady all year
    weekly_until(lake_builder, 2, JAN, date(2024, 9, 30), 20.0)  # then triples
    weekly_until(lake_builder, 2, date(2024, 10, 1), AS_OF, 60.0)
    weekly_until(lake_builder, 3, JAN, date(2024, 9, 30), 60.0)  # then a third
    weekly_until(lake_builder, 3, date(2024, 10, 1), AS_OF, 20.0)
    weekly_until(lake_builder, 4, JAN, date(2024, 9, 30), 40.0)  # then gone
    lake_builder.basket(5, date(2024, 2, 10))  # tried once
    lake_builder.basket(6, date(2024, 11, 5)).basket(6, date(2024, 12, 5))  # new
    return lake_builder.build()


def test_stages_follow_tenure_trend_and_regularity(year_of_customers, duckdb_con):
    history = analytics.lifecycle_history(analytics.baskets(basket_lines(duckdb_con, year_of_customers)), AS_OF)
    now = analytics.current_stage(history).execute().set_index("customer_id")
    assert now.lifecycle_stage.to_dict() == {
        1: "stability", 2: "formation", 3: "decline", 4: "lapsed", 5: "lapsed", 6: "exploration",
    }


def test_lapsed_customers_carry_their_exit_pattern(year_of_customers, duckdb_con):
    history = analytics.lifecycle_history(analytics.baskets(basket_lines(duckdb_con, year_of_customers)), AS_OF)
    now = analytics.current_stage(history).execute().set_index("customer_id")
    assert now.loc[4, "exit_pattern"] == "after a long stability"
    assert now.loc[5, "exit_pattern"] == "in exploration"
    assert now.exit_pattern[now.lifecycle_stage != "lapsed"].isna().all()


def test_history_keeps_one_stage_per_customer_and_month_for_the_flows(year_of_customers, duckdb_con):
    history = analytics.lifecycle_history(analytics.baskets(basket_lines(duckdb_con, year_of_customers)), AS_OF)
    table = history.execute()
    assert not table.duplicated(["customer_id", "month"]).any()
    assert (table.customer_id == 1).sum() == 12  # every month of the year, zero-spend months included
    flows = analytics.stage_flows(history).execute()
    assert flows.customers.sum() == len(table)
    assert ((flows.from_stage == "stability") & (flows.to_stage == "decline")).any()


def test_the_stages_moved_on_by_one_month_equal_those_of_the_longer_history(lake_builder, duckdb_con):
    # decision 0148: a closing night moves the kept stages on by the closed month's rows alone
    weekly_until(lake_builder, 1, JAN, AS_OF, 40.0)
    weekly_until(lake_builder, 2, JAN, date(2024, 3, 20), 30.0)  # formation, then lapsed in it
    weekly_until(lake_builder, 3, date(2024, 2, 1), date(2024, 9, 1), 50.0)  # stability, then lapsed
    lake_builder.basket(3, date(2024, 12, 2), spend=500.0)  # and back
    lake_builder.basket(4, date(2024, 3, 10)).basket(4, date(2024, 10, 10))  # lapsed in exploration, back
    weekly_until(lake_builder, 5, date(2024, 5, 1), date(2024, 6, 30), 20.0)
    weekly_until(lake_builder, 5, date(2024, 7, 1), AS_OF, 5.0)  # decline
    lake_builder.basket(6, date(2024, 11, 5)).basket(6, date(2024, 12, 5))  # new late
    lake = lake_builder.build()
    history = analytics.lifecycle_history(analytics.baskets(basket_lines(duckdb_con, lake)), AS_OF)
    months = sorted(history.month.cast("date").execute().unique())
    order = ["customer_id"]
    for before, month in zip(months, months[1:]):
        up_to = history.filter(history.month.cast("date") <= before)
        moved = analytics.next_stage(analytics.current_stage(up_to),
                                     history.filter(history.month.cast("date") == month))
        expected = analytics.current_stage(history.filter(history.month.cast("date") <= month)).execute()
        got = moved.execute()
        assert got.sort_values(order).reset_index(drop=True).equals(
            expected.sort_values(order).reset_index(drop=True)), month
    assert set(expected.exit_pattern.dropna()) >= {"in formation"}
