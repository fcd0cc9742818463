"""The lists' engine part on Spark gives what it gives on DuckDB (issue 19: generation on Spark too),
on the real slice refreshed by DuckDB (the refresh's own parity, list candidates included, is in
tests/analytics/test_refresh_and_parity.py)."""

from __future__ import annotations

import pytest

from clientele.analytics.shopping_lists import ListRules, read_list_inputs
from clientele.engine import connect

pytestmark = pytest.mark.spark


def test_the_lists_inputs_are_the_same_on_spark_and_duckdb(refreshed_lake, spark_engine):
    rules = ListRules()
    on_duckdb = read_list_inputs(connect("duckdb"), lake=refreshed_lake, rules=rules)
    on_spark = read_list_inputs(spark_engine, lake=refreshed_lake, rules=rules)

    assert on_duckdb.candidates.num_rows  # the slice has members whose products are due
    assert on_spark.as_of == on_duckdb.as_of
    assert [(r["customer_id"], r["product_id"], r["rank"]) for r in on_spark.candidates.to_pylist()] == [
        (r["customer_id"], r["product_id"], r["rank"]) for r in on_duckdb.candidates.to_pylist()]
    assert on_spark.cells.to_pylist() == on_duckdb.cells.to_pylist()
    assert {c: p for c, (p, _) in on_spark.leaders.items()} == {c: p for c, (p, _) in on_duckdb.leaders.items()}
    assert on_spark.prices.keys() == on_duckdb.prices.keys()
    assert all(on_spark.prices[p] == pytest.approx(on_duckdb.prices[p]) for p in on_duckdb.prices)
