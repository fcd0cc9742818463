"""A result kept as a base and a delta (decision 0124): every reader sees the merged table, the
delta's rows over the base's, its tombstones hiding the keys gone, every row stamped with the
night's refresh_date; a result written whole drops the delta."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import ibis
import pytest

from clientele.analytics.customer_view import write_customer_view
from clientele.analytics.results import ResultDelta, delta_dir, read_result, result_source, results_dir
from clientele.refresh import _write_result

BASE_NIGHT, NIGHT = date(2025, 3, 1), date(2025, 3, 3)
SCHEMA = {"customer_id": "int64", "category_code": "int64", "category": "string", "category_spend": "float64"}
#: The base: customers 1-3's spend in two categories.
BASE = [(1, 10, "COLD CEREAL", 5.0), (1, 20, "BEEF", 7.5), (2, 10, "COLD CEREAL", 1.25), (3, 20, "BEEF", 4.0)]
#: The night's changes: customer 1's cereal spend changed, customer 4 new, customer 2's cereal and
#: customer 1's beef gone (tombstones), and a key gone that the base never held.
CHANGED = [(1, 10, "COLD CEREAL", 6.5), (4, 20, "BEEF", 2.0)]
GONE = [(2, 10), (1, 20), (9, 99)]
MERGED = {(1, 10, "COLD CEREAL", 6.5), (3, 20, "BEEF", 4.0), (4, 20, "BEEF", 2.0)}


def _table(rows: list[tuple], columns: dict[str, str]) -> ibis.Table:
    return ibis.memtable([dict(zip(columns, row)) for row in rows], schema=columns)


def _written(con: ibis.BaseBackend, lake: Path) -> None:
    """The base written whole on BASE_NIGHT, then the night's delta on NIGHT."""
    _write_result(con, lake, "category_spend", _table(BASE, SCHEMA), BASE_NIGHT, about={"of": "the test"})
    delta = ResultDelta(_table(CHANGED, SCHEMA), _table(GONE, {"customer_id": "int64", "category_code": "int64"}),
                        ("customer_id", "category_code"))
    _write_result(con, lake, "category_spend", delta, NIGHT)


def _rows(table: ibis.Table) -> set[tuple]:
    return {tuple(row[c] for c in SCHEMA) for row in table.to_pyarrow().to_pylist()}


def test_a_result_read_merged_shows_the_delta_over_the_base_without_the_keys_gone(duckdb_con, tmp_path):
    _written(duckdb_con, tmp_path)
    merged = read_result(duckdb_con, "category_spend", tmp_path)
    assert merged.columns == (*SCHEMA, "refresh_date")
    assert _rows(merged) == MERGED
    assert set(merged.refresh_date.to_pyarrow().to_pylist()) == {NIGHT}
    # DuckDB's SQL of the same files (the 360 file, the benchmarks) merges them alike
    sql = duckdb.connect().execute(f"SELECT * FROM ({result_source(results_dir(tmp_path), 'category_spend')})")
    names = [d[0] for d in sql.description]
    found = [dict(zip(names, row)) for row in sql.fetchall()]
    assert {tuple(row[c] for c in SCHEMA) for row in found} == MERGED
    assert {row["refresh_date"] for row in found} == {NIGHT}


def test_a_result_written_whole_drops_its_delta(duckdb_con, tmp_path):
    """The weekly base rewrite and a full refresh write the result whole: the delta goes."""
    _written(duckdb_con, tmp_path)
    _write_result(duckdb_con, tmp_path, "category_spend", _table(BASE, SCHEMA), NIGHT)
    assert not delta_dir("category_spend", tmp_path).exists()
    merged = read_result(duckdb_con, "category_spend", tmp_path)
    assert _rows(merged) == set(BASE)
    assert set(merged.refresh_date.to_pyarrow().to_pylist()) == {NIGHT}


def test_an_empty_delta_stamps_the_base_with_the_nights_date(duckdb_con, tmp_path):
    _write_result(duckdb_con, tmp_path, "category_spend", _table(BASE, SCHEMA), BASE_NIGHT)
    empty = ResultDelta(_table([], SCHEMA), _table([], {"customer_id": "int64", "category_code": "int64"}),
                        ("customer_id", "category_code"))
    _write_result(duckdb_con, tmp_path, "category_spend", empty, NIGHT)
    merged = read_result(duckdb_con, "category_spend", tmp_path)
    assert _rows(merged) == set(BASE)
    assert set(merged.refresh_date.to_pyarrow().to_pylist()) == {NIGHT}


def test_the_customer_view_file_copies_a_result_merged(duckdb_con, tmp_path):
    """The 360 file holds the merged rows of a result kept as a base and a delta."""
    columns = {"customer_id": "int64", "category_code": "int64", "category": "string", "category_spend": "float64",
               "store_brand_share": "float64", "brand_loyalty": "string", "usage": "string"}
    base = [(1, 10, "COLD CEREAL", 5.0, 0.0, "national", "high"), (2, 10, "COLD CEREAL", 1.0, 1.0, "store", "low")]
    _write_result(duckdb_con, tmp_path, "brand_loyalty", _table(base, columns), BASE_NIGHT)
    changed = [(3, 10, "COLD CEREAL", 2.0, 0.5, "switcher", "medium")]
    _write_result(duckdb_con, tmp_path, "brand_loyalty", ResultDelta(
        _table(changed, columns), _table([(2, 10)], {"customer_id": "int64", "category_code": "int64"}),
        ("customer_id", "category_code")), NIGHT)
    write_customer_view(tmp_path)
    with duckdb.connect(str(results_dir(tmp_path) / "customer_view.duckdb"), read_only=True) as view:
        assert view.execute("SELECT customer_id, usage FROM brand_loyalty ORDER BY customer_id").fetchall() == [
            (1, "high"), (3, "medium")]


@pytest.mark.spark
def test_spark_reads_a_result_merged_as_duckdb_does(spark_engine, duckdb_con, tmp_path):
    """Written and read on Spark, the same merged rows as DuckDB's."""
    _written(spark_engine, tmp_path)
    merged = read_result(spark_engine, "category_spend", tmp_path)
    assert _rows(merged) == MERGED
    assert set(merged.refresh_date.to_pyarrow().to_pylist()) == {NIGHT}
    assert _rows(read_result(duckdb_con, "category_spend", tmp_path)) == MERGED
