"""Coupon targeting on a real slice of the Complete Journey (DuckDB over the slice's lake): the signals
read nothing dated on or after the offer's day, the scores are probabilities, and a member who
redeemed before is ranked above an identical one who never did, and, before any campaign has
redemptions to learn from, so is a coupon user above an identical non-user."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from clientele.offers import targeting

#: A Type A campaign of the slice, starting 2017-10-30 after enough ended campaigns to learn from.
CAMPAIGN = 18
START = pd.Timestamp("2017-10-30")


@pytest.fixture
def lake(cj_slice_lake: Path, tmp_path: Path) -> Path:
    """A copy of the slice's lake that a test may add lines and redemptions to."""
    return Path(shutil.copytree(cj_slice_lake, tmp_path / "lake"))


def _pairs(lake: Path) -> pd.DataFrame:
    con = targeting.connect(lake)
    try:
        pairs = targeting.campaign_pairs(con)
    finally:
        con.close()
    return pairs[pairs.campaign_id == CAMPAIGN].reset_index(drop=True)


def _signals(lake: Path, pairs: pd.DataFrame) -> pd.DataFrame:
    con = targeting.connect(lake)
    try:
        return targeting.pair_signals(con, pairs)
    finally:
        con.close()


@pytest.fixture(scope="module")
def slice_history(cj_slice_lake: Path) -> pd.DataFrame:
    """Every campaign's pairs of the slice with their signals and outcomes, computed once for the
    tests that only read them (the slice's lake is never changed)."""
    con = targeting.connect(cj_slice_lake)
    try:
        return targeting.pair_signals(con, targeting.campaign_pairs(con))
    finally:
        con.close()


@pytest.fixture
def history(slice_history: pd.DataFrame) -> pd.DataFrame:
    """The test's own copy of `slice_history`: whatever a test does to it, the next sees it whole."""
    return slice_history.copy()


def _add_line(lake: Path, customer_id: int, product_id: int, when: str, coupon_disc: str = "0.50") -> None:
    """A basket line of the member's, bought with a coupon at `when`, in a new file of the lake."""
    folder = lake / "basket_lines" / f"month={when[:7]}"
    folder.mkdir(exist_ok=True)
    source = f"{lake}/basket_lines/**/*.parquet"
    duckdb.execute(f"""
        COPY (SELECT * EXCLUDE (month) REPLACE (
                  'added-{when}' AS basket_id, CAST({customer_id} AS BIGINT) AS customer_id,
                  CAST({product_id} AS BIGINT) AS product_id, TIMESTAMP '{when}' AS transaction_ts,
                  CAST({coupon_disc} AS DECIMAL(12,2)) AS coupon_disc, CAST(2 AS DECIMAL(12,2)) AS sales_value)
              FROM read_parquet('{source}', hive_partitioning = true) LIMIT 1)
        TO '{folder}/added-{when[:10]}.parquet' (FORMAT parquet)""")


def _add_redemption(lake: Path, customer_id: int, coupon_upc: int, campaign_id: int, day: str) -> None:
    duckdb.execute(f"""
        COPY (SELECT CAST({customer_id} AS BIGINT) AS customer_id, CAST({coupon_upc} AS BIGINT) AS coupon_upc,
                     CAST({campaign_id} AS BIGINT) AS campaign_id, TIMESTAMP '{day}' AS redemption_date)
        TO '{lake}/coupon_redemptions/added-{day}.parquet' (FORMAT parquet)""")


def _a_pair_and_product(lake: Path, pairs: pd.DataFrame) -> tuple[int, int, int]:
    """A targeted member, a coupon of the campaign and one of the coupon's products."""
    first = pairs.iloc[0]
    products = pd.read_parquet(lake / "coupons")
    product = products[(products.coupon_upc == first.coupon_upc) & (products.campaign_id == CAMPAIGN)].product_id.iloc[0]
    return int(first.customer_id), int(first.coupon_upc), int(product)


def test_nothing_dated_on_or_after_the_start_changes_a_signal(lake: Path) -> None:
    pairs = _pairs(lake)
    before = _signals(lake, pairs)
    customer, coupon, product = _a_pair_and_product(lake, pairs)

    _add_line(lake, customer, product, "2017-10-30 00:00:00")  # the start's first instant
    _add_line(lake, customer, product, "2017-11-02 10:00:00")
    _add_redemption(lake, customer, coupon, CAMPAIGN, "2017-10-30")
    _add_redemption(lake, customer, coupon, 13, "2017-11-01")
    after = _signals(lake, pairs)

    every_signal = sorted({name for features in targeting.VARIANTS.values() for name in features})
    pd.testing.assert_frame_equal(before[every_signal], after[every_signal])


def test_the_same_additions_the_day_before_the_start_do_change_the_signals(lake: Path) -> None:
    pairs = _pairs(lake)
    before = _signals(lake, pairs)
    customer, coupon, product = _a_pair_and_product(lake, pairs)

    _add_line(lake, customer, product, "2017-10-29 18:00:00")
    _add_redemption(lake, customer, coupon, 13, "2017-10-29")
    after = _signals(lake, pairs)

    mine = (after.customer_id == customer) & (after.coupon_upc == coupon)
    assert (after.loc[mine, "bought_baskets"] == before.loc[mine, "bought_baskets"] + 1).all()
    assert (after.loc[mine, "bought_coupon_lines"] == before.loc[mine, "bought_coupon_lines"] + 1).all()
    assert (after.loc[mine, "coupon_redeemed_by_member"] == before.loc[mine, "coupon_redeemed_by_member"] + 1).all()
    assert (after.loc[after.customer_id == customer, "days_since_redemption"] == 1).all()


def test_scores_are_probabilities_on_one_scale(cj_slice_lake: Path) -> None:
    pairs = _pairs(cj_slice_lake)

    scores = targeting.expected_redemptions(cj_slice_lake, pairs)

    assert len(scores) == len(pairs) and scores.notna().all()
    assert ((scores > 0) & (scores < 1)).all()
    assert scores.nunique() > 1  # the slice has enough earlier redemptions for a model, not the prior


def test_a_member_who_redeemed_before_ranks_above_an_identical_one_who_never_did(history: pd.DataFrame) -> None:
    model = targeting.train(history, START)
    assert model.classifiers
    pairs = history[history.campaign_id == CAMPAIGN]
    never = pairs[pairs.member_redemptions == 0].copy()
    redeemer = never.assign(member_redemptions=4.0, member_redeemed_campaigns=2.0, member_redeemed_ended=2.0,
                            days_since_redemption=20.0)

    never_scores, redeemer_scores = model.expected_redemption(never), model.expected_redemption(redeemer)

    assert (redeemer_scores >= never_scores).all()
    assert redeemer_scores.mean() > never_scores.mean()


def _fallback_and_first_type_a(history: pd.DataFrame) -> tuple[targeting.TargetingModel, pd.DataFrame]:
    """The model on the first Type A campaign's start (no campaign with redemptions ended yet) and
    that campaign's pairs."""
    return targeting.train(history, "2017-02-08"), history[history.campaign_id == 27]


def test_before_enough_redemptions_the_prior_is_moved_within_bounds_by_bought_before(history: pd.DataFrame) -> None:
    model, rows = _fallback_and_first_type_a(history)
    never = rows[(rows.bought_baskets == 0) & (rows.bought_coupon_lines == 0)]
    bought = never.assign(bought_baskets=3.0)

    scores = model.expected_redemption(rows)

    assert not model.classifiers
    bound = targeting.FALLBACK_BOUND
    assert (scores >= model.prior / bound).all() and (scores <= model.prior * bound).all()
    assert scores.mean() == pytest.approx(model.prior, rel=0.5)  # the prior's scale, not another one
    assert (model.expected_redemption(bought) >= model.expected_redemption(never)).all()
    assert model.expected_redemption(bought).mean() > model.expected_redemption(never).mean()


def test_without_history_a_coupon_user_ranks_above_an_identical_non_user(history: pd.DataFrame) -> None:
    model, rows = _fallback_and_first_type_a(history)
    non_user = rows[rows.member_baskets > 0].assign(member_coupon_baskets=0.0, member_coupon_basket_share=0.0)
    user = non_user.assign(member_coupon_baskets=non_user.member_baskets / 2, member_coupon_basket_share=0.5)

    user_scores, non_user_scores = model.expected_redemption(user), model.expected_redemption(non_user)

    assert not model.classifiers and model.coupon_share > 0
    assert (user_scores >= non_user_scores).all()
    assert user_scores.mean() > non_user_scores.mean()


def test_pairs_without_their_columns_are_refused(cj_slice_lake: Path) -> None:
    con = targeting.connect(cj_slice_lake)
    try:
        with pytest.raises(targeting.TargetingInputError, match="as_of"):
            targeting.pair_signals(con, pd.DataFrame({"campaign_id": [18], "customer_id": [1], "coupon_upc": [1]}))
    finally:
        con.close()
