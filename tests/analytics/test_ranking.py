"""Ranks over a whole table, cut by ranges of the value, equal the engine's own windows exactly."""

import ibis
import numpy as np
import pandas as pd
import pytest

from clientele.analytics import ranking


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    """2,000 customers: spends to the cent with many ties, a few without a value, a small-integer
    column (ties everywhere) and a text column (ties and every first letter)."""
    rng = np.random.default_rng(7)
    n = 2000
    spend = np.round(rng.lognormal(3, 1.2, n), 2)
    spend[rng.choice(n, 300, replace=False)] = 25.0  # a big tie
    frame = pd.DataFrame({
        "customer_id": rng.permutation(n).astype("int64"),
        "spend": spend,
        "visits": rng.integers(1, 12, n).astype("int64"),
        "shelf": [f"{chr(65 + k % 26)}{k % 7}" for k in rng.integers(0, 500, n)],
    })
    frame["spend"] = frame["spend"].astype("object")
    frame.loc[frame.index % 151 == 0, "spend"] = None
    frame["spend"] = frame["spend"].astype("float64")
    return frame


def as_table(frame: pd.DataFrame) -> ibis.Table:
    """The frame as a table whose missing spends are nulls on every engine (Spark keeps NaN)."""
    table = ibis.memtable(frame)
    return table.mutate(spend=ibis.ifelse(table.spend.isnan(), None, table.spend))


def by_customer(con, expr) -> pd.DataFrame:
    return con.execute(expr).sort_values("customer_id").reset_index(drop=True)


def test_ranks_equal_the_engines_windows_ties_and_nulls_included(con, customers):
    table = as_table(customers)
    expected = by_customer(con, table.mutate(
        spend_rank=ibis.rank().over(order_by=table.spend),
        visits_rank=ibis.rank().over(order_by=ibis.desc(table.visits)),
        shelf_code=ibis.dense_rank().over(order_by=table.shelf),
        spend_number=ibis.row_number().over(order_by=[ibis.desc(table.spend), table.customer_id]),
    ))
    got = by_customer(con, ranking.rank(table, "spend", "spend_rank"))
    assert got.spend_rank.tolist() == expected.spend_rank.tolist()
    got = by_customer(con, ranking.rank(table, "visits", "visits_rank", descending=True))
    assert got.visits_rank.tolist() == expected.visits_rank.tolist()
    got = by_customer(con, ranking.dense_rank(table, "shelf", "shelf_code"))
    assert got.shelf_code.tolist() == expected.shelf_code.tolist()
    got = by_customer(con, ranking.row_number(table, "spend", "customer_id", "spend_number"))
    assert got.spend_number.tolist() == expected.spend_number.tolist()


@pytest.mark.parametrize("quantile", [0.0, 0.01, 0.5, 0.99, 0.9973, 1.0])
def test_the_exact_quantile_is_the_engines_quantile_to_the_last_bit(con, customers, quantile):
    table = as_table(customers.assign(spend=customers.spend * 1.37))  # values off the cent grid
    expected = con.execute(table.aggregate(quantile=table.spend.quantile(quantile)))["quantile"][0]
    got = con.execute(ranking.exact_quantile(table, "spend", quantile))["quantile"][0]
    assert got == expected


def test_a_running_share_counts_every_customer_before_exactly(con, customers):
    table = as_table(customers.dropna())
    got = by_customer(con, ranking.running_amount_before(table, "spend", "customer_id", "before", decimals=2))
    ordered = customers.dropna().sort_values(["spend", "customer_id"], ascending=[False, True])
    cents = (ordered.spend * 100).round().astype("int64")
    expected = (cents.cumsum() - cents).set_axis(ordered.customer_id).sort_index()
    assert ((got.before * 100).round().astype("int64").tolist()) == expected.tolist()
    assert (got.before_total * 100).round().iloc[0] == cents.sum()


def test_a_table_read_by_duckdb_is_ranked_by_its_own_windows_with_the_same_results(customers, tmp_path):
    """DuckDB ranks its own tables with whole-table windows (decision 0075): the same figures as the
    range method that Spark uses, which a table of no backend takes on DuckDB too."""
    from clientele.engine import connect

    con = connect("duckdb")
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path)
    read = con.read_parquet(path)
    read = read.mutate(spend=ibis.ifelse(read.spend.isnan(), None, read.spend))
    assert ranking._on_one_machine(read) and not ranking._on_one_machine(as_table(customers))
    for build in (
        lambda t: ranking.ranks(t, {"spend_rank": "spend", "visits_rank": "visits"}, descending=True),
        lambda t: ranking.dense_rank(t, "shelf", "shelf_code"),
        lambda t: ranking.row_number(t, "spend", "customer_id", "spend_number"),
    ):
        native, ranged = by_customer(con, build(read)), by_customer(con, build(as_table(customers)))
        pd.testing.assert_frame_equal(native[ranged.columns], ranged)
    known = read.filter(read.spend.notnull())
    native = by_customer(con, ranking.running_amount_before(known, "spend", "customer_id", "before", decimals=2))
    ranged = by_customer(con, ranking.running_amount_before(
        as_table(customers.dropna()), "spend", "customer_id", "before", decimals=2))
    pd.testing.assert_frame_equal(native[ranged.columns], ranged)
    for quantile in (0.0, 0.5, 0.99, 1.0):
        assert (con.execute(ranking.exact_quantile(read, "spend", quantile))["quantile"][0]
                == con.execute(ranking.exact_quantile(as_table(customers), "spend", quantile))["quantile"][0])
