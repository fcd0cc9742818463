"""The per-customer summary that feeds the lifetime-value models, from purchases."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from clientele.forecasting.cdnow import cdnow_summary, load_cdnow_transactions
from clientele.forecasting.summary import calibration_holdout_summary, summarise_transactions


def purchases(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "spend"]).assign(
        date=lambda t: pd.to_datetime(t["date"])
    )


def test_same_day_purchases_count_once_and_time_is_in_weeks():
    basket_lines = purchases(
        [
            ("ann", "2024-01-01", 10.0),
            ("ann", "2024-01-08", 4.0),
            ("ann", "2024-01-08", 6.0),
            ("ann", "2024-01-22", 20.0),
            ("bob", "2024-01-15", 7.0),
        ]
    )
    summary = summarise_transactions(basket_lines, observation_end=dt.date(2024, 1, 29))
    ann, bob = summary.loc["ann"], summary.loc["bob"]
    assert (ann["frequency"], ann["recency"], ann["T"]) == (2, 3.0, 4.0)
    assert ann["monetary_value"] == pytest.approx(15.0)  # (4 + 6 + 20) / 2 repeat purchase days
    assert (bob["frequency"], bob["recency"], bob["T"], bob["monetary_value"]) == (0, 0.0, 2.0, 0.0)


def test_a_duckdb_relation_gives_the_same_summary_as_a_pandas_table():
    basket_lines = purchases([("ann", "2024-01-01", 10.0), ("ann", "2024-01-08", 4.0)])
    relation = duckdb.from_df(basket_lines)
    end = dt.date(2024, 1, 29)
    pd.testing.assert_frame_equal(
        summarise_transactions(relation, observation_end=end),
        summarise_transactions(basket_lines, observation_end=end),
    )


def test_holdout_counts_purchase_days_after_calibration_for_known_customers_only():
    basket_lines = purchases(
        [
            ("ann", "2024-01-01", 10.0),
            ("ann", "2024-02-05", 3.0),
            ("ann", "2024-02-05", 5.0),
            ("ann", "2024-02-12", 2.0),
            ("cat", "2024-02-06", 9.0),
        ]
    )
    summary = calibration_holdout_summary(
        basket_lines, calibration_end=dt.date(2024, 1, 31), observation_end=dt.date(2024, 2, 28)
    )
    assert list(summary.index) == ["ann"]
    assert summary.loc["ann", "frequency_holdout"] == 2
    assert summary.loc["ann", "monetary_value_holdout"] == pytest.approx(5.0)
    assert summary.loc["ann", "duration_holdout"] == 4.0


def test_cdnow_sample_summary_has_the_published_shape():
    summary = cdnow_summary(sample=True)
    assert len(summary) == 2357
    assert (summary["frequency"] > 0).sum() == 946
    assert summary["frequency_holdout"].sum() == 1882
    assert summary["T"].max() == pytest.approx(38.86, abs=0.005)
    # Customer 4 of the master file bought on 1997-01-01, 01-18 and 08-02 (29.33, 29.73, 14.96).
    assert summary.loc[4, ["frequency", "recency"]].tolist() == pytest.approx([2, 30.43], abs=0.005)
    assert summary.loc[4, "monetary_value"] == pytest.approx((29.73 + 14.96) / 2)


def test_cdnow_cohort_is_23570_customers_all_acquired_in_the_first_quarter_of_1997():
    transactions = load_cdnow_transactions()
    first_purchase = transactions.groupby("customer_id")["date"].min()
    assert len(first_purchase) == 23_570
    assert first_purchase.max() < pd.Timestamp("1997-04-01")
