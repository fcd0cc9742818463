"""The summary report: the figures a store manager reads first, checked against the raw data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal

import duckdb
import ibis
import pytest

from clientele.analytics.pyramid import LEVELS, PyramidCutoffs, assign_levels, level_summary
from clientele.analytics.results import customer_profiles, read_result
from clientele.lake.completejourney import data_dir
from clientele.lake.reader import basket_lines
from clientele.refresh import refresh
from clientele.reports.summary import compute, to_csv, to_json


def test_a_thousand_customers_make_10_vip_40_major_150_medium_800_small():
    customers = ibis.memtable({"customer_id": list(range(1000)), "spend": [float(i % 997) for i in range(1000)]})
    per_level = dict(ibis.duckdb.connect().execute(level_summary(assign_levels(customers, "spend"), "spend"))
                     [["pyramid_level", "customers"]].itertuples(index=False))
    assert per_level == {"VIP": 10, "major": 40, "medium": 150, "small": 800}


def test_pyramid_cutoffs_must_rise():
    with pytest.raises(ValueError, match="vip < major < medium"):
        PyramidCutoffs(vip=0.1, major=0.05, medium=0.2)


def test_summary_matches_the_raw_complete_journey_slice(cj_slice_lake, slice_customers):
    report = compute(basket_lines(ibis.duckdb.connect(), cj_slice_lake))
    ids = ", ".join(map(str, slice_customers))
    raw = f"read_parquet('{data_dir() / 'transactions.parquet'}')"
    customers, baskets, revenue = duckdb.sql(
        f"SELECT count(DISTINCT household_id), count(DISTINCT basket_id), sum(round(sales_value, 2))::DECIMAL(18,2) "
        f"FROM {raw} WHERE household_id IN ({ids})").fetchall()[0]
    assert (report.overview["customers"], report.overview["baskets"]) == (customers, baskets)
    assert Decimal(report.overview["revenue"]) == revenue
    assert [row["customers"] for row in report.pyramid] == [0, 2, 6, 32]  # 40 customers: round(0.4)=0 VIP
    # the pyramid is the year to the last basket: every basket of the 2017 data is in it
    assert report.pyramid_rule["window_days"] == 365 and report.pyramid_rule["as_of"] == "2017-12-31"
    assert sum(Decimal(row["window_spend"]) for row in report.pyramid) == revenue


def test_the_summary_shows_the_same_pyramid_as_the_nightly_table(cj_slice_lake, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(cj_slice_lake, lake)
    con = ibis.duckdb.connect()
    report = compute(basket_lines(con, lake))
    refresh(lake=lake, con=con)
    nightly = read_result(con, "pyramid", lake).to_pyarrow().to_pylist()
    by_level = {level: sum(row["pyramid_level"] == level for row in nightly) for level in LEVELS}
    assert {row["level"]: row["customers"] for row in report.pyramid} == by_level
    best = sorted(nightly, key=lambda row: row["value_rank"])[:10]
    assert [(row["customer_id"], row["pyramid_level"]) for row in report.top_customers] == \
        [(row["customer_id"], row["pyramid_level"]) for row in best]
    profiles = {row["customer_id"]: row["pyramid_level"] for row in customer_profiles(con, lake)}
    assert all(profiles[row["customer_id"]] == row["pyramid_level"] for row in nightly)


def test_summary_is_readable_by_machines(cj_slice_lake):
    report = compute(basket_lines(ibis.duckdb.connect(), cj_slice_lake))
    assert json.loads(to_json(report))["overview"]["customers"] == 40
    assert to_csv(report).splitlines()[0] == "section,metric,value"


def test_the_command_prints_the_report_and_a_clear_error_without_data(cj_slice_lake, tmp_path):
    env = {**os.environ, "CLIENTELE_LAKE": str(cj_slice_lake), "CLIENTELE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "clientele", "report", "summary", "--format", "json"],
                          env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["overview"]["baskets"] > 0
    env["CLIENTELE_LAKE"] = str(tmp_path / "empty")
    failed = subprocess.run([sys.executable, "-m", "clientele", "report", "summary"], env=env, capture_output=True, text=True)
    assert failed.returncode == 2
    assert "has no table 'basket_lines': import data first" in " ".join(failed.stderr.split())
    assert "Traceback" not in failed.stderr


@pytest.mark.spark
def test_spark_gives_the_same_summary_to_the_cent(cj_slice_lake, spark_engine):
    on_duckdb = compute(basket_lines(ibis.duckdb.connect(), cj_slice_lake))
    on_spark = compute(basket_lines(spark_engine, cj_slice_lake))
    assert on_spark.overview == on_duckdb.overview
    assert on_spark.pyramid == on_duckdb.pyramid
    assert on_spark.top_customers == on_duckdb.top_customers
