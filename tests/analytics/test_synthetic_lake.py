"""The synthetic lake (lake.synth): the same arguments give the same lake, and `everyone_shops_in`
makes every customer a shopper of the chosen months without changing the default lake."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from clientele.lake.synth import synthesize

#: A checksum of every line of the default lake below, as the generator wrote it before
#: `everyone_shops_in` existed: the default output must not move (benchmarks and tests rely on it).
DEFAULT_LAKE = (19_397, 253, "177959646916102368873105")


def _lines(lake: Path) -> tuple[int, int, str]:
    """Lines, distinct customers and a checksum of every column of every line."""
    count, customers, checksum = duckdb.sql(
        f"""SELECT count(*), count(DISTINCT customer_id),
                   sum(hash(basket_id, line_no, customer_id, store_id, transaction_ts, product_id, quantity,
                            sales_value, retail_disc, coupon_disc, coupon_match_disc, channel))::VARCHAR
            FROM read_parquet('{lake}/basket_lines/*/*.parquet')"""
    ).fetchall()[0]
    return count, customers, checksum


@pytest.fixture
def products(tmp_path, lake_builder_factory) -> Path:
    return lake_builder_factory(tmp_path / "shelf").build() / "products" / "products.parquet"


def test_the_default_lake_is_the_one_it_always_was(tmp_path, products):
    synthesize(tmp_path / "lake", 300, 20_000, products, months=4, first_month=date(2024, 11, 1), seed=5)
    assert _lines(tmp_path / "lake") == DEFAULT_LAKE


def test_everyone_shops_in_gives_every_customer_a_basket_in_the_chosen_months(tmp_path, products):
    lake = tmp_path / "lake"
    result = synthesize(lake, 2_000, 40_000, products, months=6, first_month=date(2025, 1, 1), seed=5,
                        everyone_shops_in=[2, 3])
    shoppers, months, baskets = duckdb.sql(
        f"""SELECT count(DISTINCT customer_id), list(DISTINCT month(transaction_ts)),
                   count(DISTINCT basket_id)
            FROM read_parquet('{lake}/basket_lines/*/*.parquet')
            WHERE transaction_ts >= DATE '2025-03-01' AND transaction_ts < DATE '2025-05-01'"""
    ).fetchall()[0]
    assert shoppers == 2_000 and sorted(months) == [3, 4]  # every customer, in March or April
    # the lines asked for in all: a sure basket each (mean 9.4 lines), the rest drawn by rate
    assert 0.9 * 40_000 < result.lines < 1.1 * 40_000 and baskets > 2_000
    again = tmp_path / "again"
    synthesize(again, 2_000, 40_000, products, months=6, first_month=date(2025, 1, 1), seed=5,
               everyone_shops_in=[2, 3])
    assert _lines(again) == _lines(lake)


def test_the_sure_baskets_alone_when_they_take_every_line(tmp_path, products):
    result = synthesize(tmp_path / "lake", 1_000, 1_000, products, months=3, everyone_shops_in=[0])
    assert result.baskets == 1_000 and _lines(tmp_path / "lake")[1] == 1_000


@pytest.mark.parametrize("months", [[], [6], [-1]])
def test_everyone_shops_in_names_months_of_the_lake(tmp_path, products, months):
    with pytest.raises(ValueError, match="everyone_shops_in"):
        synthesize(tmp_path / "lake", 10, 100, products, months=6, everyone_shops_in=months)
