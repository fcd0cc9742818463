"""Specifications of the next-basket data preparation, metrics, baselines and ranker."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clientele.forecasting.nbr_evaluation import (
    load_complete_journey,
    personal_top_frequency,
    ranking_metrics,
    split_households,
    top_k,
)
from clientele.forecasting.next_basket import (
    CandidateFeatures,
    NextBasketRanker,
    RankerParams,
    prepare_baskets,
)
from clientele.forecasting.tifu_knn import TifuParams, tifu_scores

DAY = pd.Timedelta(days=1)


def baskets(customer_id: int, *contents: list[int], every_days: int = 7) -> pd.DataFrame:
    """Basket lines of one household: one basket per list of product ids, `every_days` apart."""
    start = pd.Timestamp("2017-01-02 09:00")
    return pd.DataFrame(
        [
            {
                "customer_id": customer_id,
                "basket_id": f"{customer_id}-{number}",
                "transaction_ts": start + number * every_days * DAY,
                "product_id": product,
            }
            for number, content in enumerate(contents)
            for product in content
        ]
    )


def test_only_households_with_at_least_three_baskets_are_kept():
    lines = pd.concat([baskets(1, [10], [10], [10]), baskets(2, [10], [10])])

    sequences = prepare_baskets(lines, min_baskets=3, min_item_count=1)

    assert sequences.customer_ids.tolist() == [1]


def test_rare_products_are_dropped_before_baskets_are_counted():
    # Product 99 is in only 2 baskets: without it household 2 has 2 baskets left and is dropped.
    lines = pd.concat([baskets(1, [10], [10], [10]), baskets(2, [10], [10], [99]), baskets(3, [99], [10], [10])])

    sequences = prepare_baskets(lines, min_baskets=3, min_item_count=3)

    assert sequences.product_ids.tolist() == [10]
    assert sequences.customer_ids.tolist() == [1]


def test_the_last_basket_is_the_target_and_the_earlier_ones_the_history():
    sequences = prepare_baskets(baskets(1, [10, 11], [11], [12, 10]), min_baskets=3, min_item_count=1)

    history, targets = sequences.history(), sequences.targets()

    assert sorted(sequences.product_ids[targets["item"]]) == [10, 12]
    assert sorted(sequences.product_ids[history["item"]]) == [10, 11, 11]
    assert set(history["n_history_baskets"]) == {2}
    assert sequences.target_times().iloc[0] == pd.Timestamp("2017-01-16 09:00")


def test_households_split_72_8_20_without_overlap():
    split = split_households(1000, seed=3)

    assert [len(split[part]) for part in ("train", "validation", "test")] == [720, 80, 200]
    assert len(np.unique(np.concatenate(list(split.values())))) == 1000


def test_recall_and_ndcg_on_a_hand_worked_example():
    # Household 0 bought item 1 before; its target is {1, 2}; the list is 1, 3, 2.
    # Household 1 has no history; its target is {4}; the list is 5 only.
    history = pd.DataFrame({"customer": [0], "item": [1]})
    targets = pd.DataFrame({"customer": [0, 0, 1], "item": [1, 2, 4]})
    recommended = np.full((2, 20), -1)
    recommended[0, :3] = [1, 3, 2]
    recommended[1, 0] = 5

    metrics = ranking_metrics(recommended, np.array([0, 1]), targets, history, n_items=6)

    ndcg_household_0 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert metrics["recall@10"] == pytest.approx((1.0 + 0.0) / 2)
    assert metrics["ndcg@10"] == pytest.approx((ndcg_household_0 + 0.0) / 2)
    # Repeat items: only household 0 has one (item 1, found first).
    assert metrics["recall@10_repeat"] == pytest.approx(1.0)
    assert metrics["ndcg@10_repeat"] == pytest.approx(1.0)
    # Explore items: item 2 found third by household 0, item 4 missed by household 1.
    assert metrics["recall@10_explore"] == pytest.approx(0.5)
    assert metrics["ndcg@10_explore"] == pytest.approx((1 / math.log2(4)) / 2)
    assert metrics["recall@20"] == metrics["recall@10"]


def test_top_k_marks_products_a_method_cannot_recommend_with_minus_one():
    scores = np.array([[0.2, -np.inf, 0.9, -np.inf]])

    assert top_k(scores, 3).tolist() == [[2, 0, -1]]


def test_personal_top_frequency_recommends_only_the_households_own_products_most_frequent_first():
    sequences = prepare_baskets(
        pd.concat([baskets(1, [10, 11], [11], [11, 12], [13]), baskets(2, [14], [14], [14])]),
        min_item_count=1,
    )

    recommended = top_k(personal_top_frequency(sequences, np.array([0])), 10)

    assert sequences.product_ids[recommended[0, :3]].tolist() == [11, 10, 12]
    assert (recommended[0, 3:] == -1).all()


def test_tifu_knn_weighs_recent_baskets_more_than_old_ones():
    sequences = prepare_baskets(baskets(1, [10], [10], [11], [11], [12]), min_item_count=1)
    params = TifuParams(basket_decay=0.9, group_decay=0.5, group_size=2, neighbours=1, alpha=1.0)

    scores = tifu_scores(sequences.history(), 1, sequences.n_items, np.array([0]), params)

    recent, old = np.searchsorted(sequences.product_ids, [11, 10])
    assert scores[0, recent] > scores[0, old] > 0


def test_tifu_knn_borrows_products_from_similar_households():
    lines = pd.concat(
        [baskets(1, [10, 11], [10, 11], [10]), baskets(2, [10, 11, 12], [10, 11, 12], [10]), baskets(3, [13], [13], [13])]
    )
    sequences = prepare_baskets(lines, min_item_count=1)
    params = TifuParams(neighbours=1, alpha=0.5)

    scores = tifu_scores(sequences.history(), 3, sequences.n_items, np.array([0]), params)

    borrowed, unrelated = np.searchsorted(sequences.product_ids, [12, 13])
    assert scores[0, borrowed] > 0
    assert scores[0, unrelated] == 0


@pytest.fixture(scope="module")
def real_slice_sequences():
    """The baskets of 300 real Complete Journey households (filtered as in the harness)."""
    lines = load_complete_journey()
    households = np.sort(lines["customer_id"].unique())[:300]
    return prepare_baskets(lines[lines["customer_id"].isin(households)], min_item_count=5)


def test_the_ranker_gives_every_household_its_past_products_with_a_probability(real_slice_sequences):
    sequences = real_slice_sequences
    split = split_households(sequences.n_customers, seed=0, train=0.8, validation=0.0)
    params = RankerParams(tifu=TifuParams(neighbours=20), max_iter=20, earlier_targets=1)
    ranker = NextBasketRanker(params).fit(sequences, split["train"])

    features = CandidateFeatures(sequences.history(), sequences.n_customers, sequences.n_items, params.tifu)
    scores = ranker.scores(features, split["test"])

    history = sequences.history()
    test_history = history[history["customer"].isin(split["test"])]
    rows = np.searchsorted(split["test"], test_history["customer"])
    past = scores[rows, test_history["item"]]
    assert ((past >= 0) & (past <= 1)).all()
    assert np.isfinite(scores).sum(axis=1).min() >= params.explore_candidates


def test_the_ranker_knowing_the_visit_date_uses_no_target_contents(real_slice_sequences):
    sequences = real_slice_sequences
    visit_ts = sequences.target_times()
    features = CandidateFeatures(sequences.history(), sequences.n_customers, sequences.n_items, TifuParams(), visit_ts)

    days_to_visit = features.customers["days_to_visit"]
    last = features.customers["last_basket_ts"]

    assert ((visit_ts - last) / DAY).equals(days_to_visit)
    assert (days_to_visit >= 0).all()
