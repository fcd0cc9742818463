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


def test_category_pyramids_rank_is_computed_when_read_alike_by_every_reader(duckdb_con, tmp_path):
    """category_pyramid is stored without its rank (decision 0128): read_result, DuckDB's SQL of
    the files and the customer-360 file all give 1 + the category's buyers with more spend, or as
    much and a smaller customer id, over the base merged with the night's delta."""
    from clientele.analytics.customer_view import customer_results

    columns = {"customer_id": "int64", "department": "string", "category": "string", "category_code": "int64",
               "category_spend": "float64", "store_brand_spend": "float64", "category_level": "string"}
    base = [(c, "GROCERY", "COLD CEREAL", 10, float(s), 0.0, "small") for c, s in
            [(1, 5), (2, 9), (3, 9), (4, 7), (5, 9), (6, 1)]]
    base += [(1, "MEAT", "BEEF", 20, 3.0, 0.0, "small"), (2, "MEAT", "BEEF", 20, 4.0, 0.0, "small")]
    _write_result(duckdb_con, tmp_path, "category_pyramid", _table(base, columns), BASE_NIGHT)
    # the night: customer 7 ties with 2, 3 and 5 at 9.0; customer 4 gone; customer 1's beef up to 4.0
    changed = [(7, "GROCERY", "COLD CEREAL", 10, 9.0, 0.0, "VIP"), (1, "MEAT", "BEEF", 20, 4.0, 0.0, "VIP")]
    _write_result(duckdb_con, tmp_path, "category_pyramid", ResultDelta(
        _table(changed, columns), _table([(4, 10)], {"customer_id": "int64", "category_code": "int64"}),
        ("customer_id", "category_code")), NIGHT)
    expected = {(2, 10): 1, (3, 10): 2, (5, 10): 3, (7, 10): 4, (1, 10): 5, (6, 10): 6, (1, 20): 1, (2, 20): 2}
    read = read_result(duckdb_con, "category_pyramid", tmp_path)
    assert read.columns == (*list(columns)[:-1], "category_rank", "category_level", "refresh_date")
    assert {(r["customer_id"], r["category_code"]): r["category_rank"] for r in read.to_pyarrow().to_pylist()} == expected
    sql = duckdb.connect().execute(f"SELECT customer_id, category_code, category_rank "
                                   f"FROM ({result_source(results_dir(tmp_path), 'category_pyramid')})").fetchall()
    assert {(c, k): rank for c, k, rank in sql} == expected
    write_customer_view(tmp_path)
    shown = {c: customer_results(c, tmp_path)["category_pyramid"] for c in (1, 2, 4, 7)}
    assert shown[1] == [{"department": "MEAT", "category": "BEEF", "category_rank": 1, "category_level": "VIP"},
                        {"department": "GROCERY", "category": "COLD CEREAL", "category_rank": 5,
                         "category_level": "small"}]
    assert [row["category_rank"] for row in shown[2]] == [1, 2]
    assert shown[4] == [] and shown[7][0]["category_rank"] == 4
