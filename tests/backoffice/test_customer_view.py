"""The customer 360's reads of one customer in the lake: the refresh's rows of that customer, from
files the refresh writes in customer order, and a basket's lines from its month only."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pyarrow.parquet as pq

from clientele.analytics.customer_view import CUSTOMER_TABLES, basket_lines_of, customer_results
from clientele.analytics.results import result_source
from clientele.refresh import refresh


def test_a_customers_results_are_the_refresh_rows_of_that_customer_from_files_in_customer_order(cj_slice_lake,
                                                                                             tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(cj_slice_lake, lake)
    refresh(lake=lake, refresh_date=date(2018, 1, 2))

    found = customer_results(1023, lake)

    for table, (_, _, limit) in CUSTOMER_TABLES.items():
        files = sorted((lake / "results" / table).rglob("*.parquet"))
        # each file in customer order (the baskets are a file per month: decision 0137)
        each_file = [pq.read_table(f, columns=["customer_id"]).column(0).to_pylist() for f in files]
        assert all(ids == sorted(ids) for ids in each_file), f"{table} is not written in customer order"
        ids = [i for file_ids in each_file for i in file_ids]
        assert len(found[table]) == min(ids.count(1023), limit), table
        columns, order, _ = CUSTOMER_TABLES[table]
        # the result as every reader reads it (category_pyramid's rank computed: decision 0128)
        each = duckdb.sql(f"SELECT {columns} FROM ({result_source(lake / 'results', table)}) WHERE customer_id = 1023 "
                          f"ORDER BY {order} LIMIT {limit}")
        # read in one statement with the other tables, each value as its own table's read gives it
        expected = [dict(zip(each.columns, row)) for row in each.fetchall()]
        assert [{k: (v, type(v)) for k, v in row.items()} for row in found[table]] == [
            {k: (v, type(v)) for k, v in row.items()} for row in expected], table
    newest = found["baskets"][0]
    lines = basket_lines_of(newest["basket_id"], newest["basket_date"], lake)
    every_line = duckdb.sql(f"SELECT sum(sales_value) FROM read_parquet('{lake}/basket_lines/*/*.parquet') "
                            f"WHERE basket_id = '{newest['basket_id']}'").fetchall()[0][0]
    assert lines and sum(line["sales_value"] for line in lines) == every_line
    assert customer_results(999_999, lake)["baskets"] == []


def test_a_refresh_of_a_new_day_counts_the_stage_moves_since_the_last_one_and_serves_its_own_view(cj_slice_lake,
                                                                                                 tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(cj_slice_lake, lake)
    refresh(lake=lake, refresh_date=date(2018, 1, 2))
    first = tmp_path / "first.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{lake}/results/lifecycle/*.parquet')) TO '{first}'")
    assert customer_results(1023, lake)["baskets"][0]["basket_date"] > date(2017, 6, 30)

    refresh(lake=lake, refresh_date=date(2018, 1, 3), as_of=date(2017, 6, 30))

    expected = duckdb.sql(
        f"SELECT f.lifecycle_stage, s.lifecycle_stage, count(*) FROM read_parquet('{first}') f FULL JOIN "
        f"read_parquet('{lake}/results/lifecycle/*.parquet') s USING (customer_id) GROUP BY ALL").fetchall()
    moves = duckdb.sql(f"SELECT from_stage, to_stage, customers FROM read_parquet('{lake}/results/refresh_flows/*.parquet')")
    assert sorted(moves.fetchall(), key=str) == sorted(expected, key=str)
    assert any(before != after for before, after, _ in expected)  # half a year earlier: some stages differ
    assert all(b["basket_date"] <= date(2017, 6, 30) for b in customer_results(1023, lake)["baskets"])
