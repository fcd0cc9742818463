"""The nightly refresh writes every result, resumes, and gives the same answers on DuckDB and Spark."""

import shutil
from datetime import date, timedelta

import pandas as pd

import pytest

from clientele.analytics.results import customer_profiles, read_result, segment_customer_ids
from clientele.lake.reader import read_table
from clientele.refresh import STEPS, refresh

AS_OF = date(2024, 12, 31)


@pytest.fixture
def small_lake(lake_builder):
    for customer in range(1, 31):
        first = AS_OF - timedelta(days=7 * (10 + customer))
        lake_builder.weekly(customer, first, weeks=customer % 9 + 2, spend=7.0 * customer,
                            product_id=customer % 7 + 1, retail_disc=float(customer % 3))
    return lake_builder.build()


def test_refresh_writes_every_result_with_its_refresh_date_and_resumes(small_lake, duckdb_con):
    first = refresh(lake=small_lake, refresh_date=date(2025, 1, 1), con=duckdb_con)
    assert first.resumed == [] and first.rows == {t: read_result(duckdb_con, t, small_lake).count().execute()
                                                  for t in STEPS}
    stamped = read_table(duckdb_con, "results/rfm", small_lake).refresh_date.to_pyarrow().to_pylist()
    assert set(stamped) == {date(2025, 1, 1)}
    again = refresh(lake=small_lake, refresh_date=date(2025, 1, 1), con=duckdb_con)
    assert again.resumed == list(STEPS) and again.rows == first.rows


def test_every_customer_gets_one_serving_profile(small_lake, duckdb_con):
    refresh(lake=small_lake, refresh_date=date(2025, 1, 1), con=duckdb_con)
    profiles = customer_profiles(duckdb_con, small_lake)
    assert [p["customer_id"] for p in profiles] == list(range(1, 31))
    assert all(p["rfm_segment"] and p["pyramid_level"] and p["lifecycle_stage"] for p in profiles)
    vip = segment_customer_ids(duckdb_con, "pyramid=VIP", small_lake)
    assert vip == [p["customer_id"] for p in profiles if p["pyramid_level"] == "VIP"]


def test_duckdb_and_spark_give_the_same_results(small_lake, con, duckdb_con, tmp_path, gathering_per_step):
    """One body on each engine, compared table by table with a DuckDB refresh of a copy of the lake;
    on Spark, no step's plan moves all its rows into one partition (decision 0075)."""
    reference = tmp_path / "reference"
    shutil.copytree(small_lake, reference)
    refresh(lake=reference, refresh_date=date(2025, 1, 1), con=duckdb_con, as_of=AS_OF)
    with gathering_per_step(con) as gathered:
        refresh(lake=small_lake, refresh_date=date(2025, 1, 1), con=con, as_of=AS_OF)
    if con.name == "pyspark":
        assert set(STEPS) <= set(gathered)
        assert {step: operators for step, operators in gathered.items() if operators} == {}
    for table in ("rfm", "pyramid", "value", "lifecycle", "brand_loyalty", "deal_proneness", "traits",
                  "year_over_year", "customer_profiles", "list_candidates", "category_spend", "category_pyramid",
                  "narrow_baskets", "complementary_categories", "till_context", "customer_margin"):
        got, expected = (
            # as every reader reads it: category_pyramid's rank computed (decision 0128)
            read_result(duckdb_con, table, lake).execute() for lake in (small_lake, reference)
        )
        keys = [c for c in ("customer_id", "category", "goes_with", "trait", "product_id") if c in got.columns]
        pd.testing.assert_frame_equal(
            got.sort_values(keys).reset_index(drop=True)[list(expected.columns)],
            expected.sort_values(keys).reset_index(drop=True),
            check_dtype=False, obj=table,
        )
