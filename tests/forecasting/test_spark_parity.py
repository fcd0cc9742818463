"""The forecasting summaries are computed by the engine: Spark gives the same as DuckDB on a real
slice of the Complete Journey."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from clientele.analytics import baskets
from clientele.engine import connect
from clientele.forecasting.churn import features_of_history, history_features
from clientele.forecasting.history_state import history_of_state, history_state, roll_history_state, rolled_days
from clientele.forecasting.next_purchase import expected_next_visit, expected_product_purchases
from clientele.forecasting.summary import summarise_transactions
from clientele.lake.reader import basket_lines

pytestmark = pytest.mark.spark

CUT = dt.date(2017, 9, 30)
KEPT = CUT - dt.timedelta(days=10)  # the day a kept purchase history is rolled from


def summaries(con, lake) -> dict[str, pd.DataFrame]:
    lines = basket_lines(con, lake)
    days = baskets(lines)
    purchases = days.select(customer_id=days.customer_id, date=days.basket_date, spend=days.spend)
    members = lines.filter(lines.customer_id.notnull())
    return {
        "summary": summarise_transactions(purchases, observation_end=CUT),
        "history": history_features(purchases, cutoff=CUT),
        # the kept purchase history (decision 0133), kept ten days before and rolled to the cut
        "kept_history": features_of_history(history_of_state(roll_history_state(
            history_state(purchases, KEPT), rolled_days(purchases, KEPT, CUT), KEPT, CUT), CUT), CUT),
        "next_visits": expected_next_visit(members, CUT),
        "next_purchases": expected_product_purchases(members, CUT, calibrated=False)
        .sort_values(["customer_id", "product_id"], ignore_index=True),
    }


def test_forecasting_summaries_are_the_same_on_spark_and_duckdb(cj_slice_lake, spark_engine):
    on_duckdb = summaries(connect("duckdb"), cj_slice_lake)
    on_spark = summaries(spark_engine, cj_slice_lake)

    for name, expected in on_duckdb.items():
        assert len(expected), name
        pd.testing.assert_frame_equal(on_spark[name], expected, check_dtype=False, obj=name)
    for engine in (on_duckdb, on_spark):  # rolled, to the last bit of every basket read again
        pd.testing.assert_frame_equal(engine["kept_history"], engine["history"], check_exact=True)
