"""Which products each customer will put in their next basket: a repeat-aware ranker.

The ranker scores, for every customer, the products they bought before (repeat items) and the
products their TIFU-KNN neighbours buy (explore items). What it adds to TIFU-KNN is time: for each
product the customer buys, how many days have passed since they last bought it compared with their
own typical interval between two purchases of it, and how soon they are expected back in a store.
A gradient-boosted classifier learns, from the last basket of training households, how these
signals combine into the probability that the product is in the next basket.

Input: basket lines with `customer_id`, `basket_id`, `transaction_ts`, `product_id` (a pandas
DataFrame, an Ibis table or a DuckDB relation), e.g. the lake's `basket_lines`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from clientele.forecasting.tifu_knn import TifuParams, household_vectors, neighbour_vectors

REQUIRED_COLUMNS = ("customer_id", "basket_id", "transaction_ts", "product_id")
DAY = np.timedelta64(1, "D")


def as_dataframe(lines) -> pd.DataFrame:
    """The basket lines as a pandas DataFrame, from pandas, an Ibis table or a DuckDB relation;
    raises ValueError naming any required column that is missing."""
    if hasattr(lines, "to_pandas"):
        lines = lines.to_pandas()
    elif hasattr(lines, "df"):
        lines = lines.df()
    missing = [column for column in REQUIRED_COLUMNS if column not in lines.columns]
    if missing:
        raise ValueError(f"basket lines lack the column(s) {', '.join(missing)}")
    return lines


@dataclass(frozen=True)
class BasketSequences:
    """Each household's baskets in time order, products and households numbered from 0.

    `lines` has one row per product per basket: `customer`, `item`, `basket_no` (0 = first
    basket), `n_baskets` (the household's number of baskets) and `basket_ts`.
    """

    lines: pd.DataFrame
    customer_ids: np.ndarray
    product_ids: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_items(self) -> int:
        return len(self.product_ids)

    def history(self, earlier: int = 0) -> pd.DataFrame:
        """The basket lines before each household's target basket, with `n_history_baskets`. The
        target is the last basket; with `earlier` = j it is the j-th basket before the last, which
        gives more training examples from the same households."""
        cut = self.lines["n_baskets"] - 1 - earlier
        before = self.lines[self.lines["basket_no"] < cut]
        return before.assign(n_history_baskets=(before["n_baskets"] - 1 - earlier))

    def target_times(self, earlier: int = 0) -> pd.Series:
        """When each household's target basket was bought (by household number)."""
        target = self.lines[self.lines["basket_no"] == self.lines["n_baskets"] - 1 - earlier]
        return target.groupby("customer")["basket_ts"].first()

    def targets(self, earlier: int = 0) -> pd.DataFrame:
        """The lines (`customer`, `item`) of each household's target basket: what must be predicted."""
        return self.lines.loc[self.lines["basket_no"] == self.lines["n_baskets"] - 1 - earlier, ["customer", "item"]]


def prepare_baskets(lines, min_baskets: int = 3, min_item_count: int = 17) -> BasketSequences:
    """The households' baskets filtered as in Li et al. (2023): products bought in fewer than
    `min_item_count` baskets are dropped first, then households left with fewer than `min_baskets`
    baskets. A basket is one `basket_id`; a product counts once per basket."""
    lines = as_dataframe(lines)
    basket_lines = lines[list(REQUIRED_COLUMNS)].drop_duplicates(["basket_id", "product_id"])
    item_counts = basket_lines["product_id"].value_counts()
    basket_lines = basket_lines[basket_lines["product_id"].isin(item_counts.index[item_counts >= min_item_count])]
    baskets = (
        basket_lines.groupby(["customer_id", "basket_id"], as_index=False)["transaction_ts"]
        .min()
        .rename(columns={"transaction_ts": "basket_ts"})
    )
    baskets["n_baskets"] = baskets.groupby("customer_id")["basket_id"].transform("size")
    baskets = baskets[baskets["n_baskets"] >= min_baskets].sort_values(["customer_id", "basket_ts", "basket_id"])
    baskets["basket_no"] = baskets.groupby("customer_id").cumcount()
    kept = basket_lines.merge(baskets, on=["customer_id", "basket_id"])
    customer_ids, customer = np.unique(kept["customer_id"].to_numpy(), return_inverse=True)
    product_ids, item = np.unique(kept["product_id"].to_numpy(), return_inverse=True)
    sequences = pd.DataFrame(
        {
            "customer": customer,
            "item": item,
            "basket_no": kept["basket_no"].to_numpy(),
            "n_baskets": kept["n_baskets"].to_numpy(),
            "basket_ts": pd.to_datetime(kept["basket_ts"]).to_numpy(),
        }
    ).sort_values(["customer", "basket_no", "item"], ignore_index=True)
    return BasketSequences(sequences, customer_ids, product_ids)


def _customer_features(history: pd.DataFrame, visit_ts: pd.Series | None) -> pd.DataFrame:
    """Per household: number of past baskets, median days between baskets, mean basket size, the
    share of its basket lines that repeat a product it had bought before, and the days from its
    last basket to the visit being predicted: `visit_ts` (by household number) when the visit is
    known, as at the till, else one median gap."""
    baskets = history.groupby(["customer", "basket_no"], as_index=False).agg(
        basket_ts=("basket_ts", "first"), basket_size=("item", "size")
    )
    baskets["gap_days"] = baskets.groupby("customer")["basket_ts"].diff() / DAY
    first_seen = history.groupby(["customer", "item"])["basket_no"].transform("min")
    repeated = (history["basket_no"] > first_seen).groupby(history["customer"]).mean()
    features = baskets.groupby("customer").agg(
        n_history_baskets=("basket_no", "size"),
        median_gap_days=("gap_days", "median"),
        mean_basket_size=("basket_size", "mean"),
        last_basket_ts=("basket_ts", "max"),
    )
    features["repeat_share"] = repeated
    features["days_to_visit"] = (
        features["median_gap_days"] if visit_ts is None else (visit_ts - features["last_basket_ts"]) / DAY
    )
    return features


def _repeat_features(history: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Per household and product bought: how often (plain and recency-decayed), how recently (in
    baskets and days) and the household's own cycle for it (median days between purchases)."""
    rank_from_end = history["n_history_baskets"] - 1 - history["basket_no"]
    lines = history.assign(decay_09=0.9**rank_from_end, decay_07=0.7**rank_from_end, rank_from_end=rank_from_end)
    lines["interval_days"] = lines.groupby(["customer", "item"])["basket_ts"].diff() / DAY
    pairs = lines.groupby(["customer", "item"]).agg(
        times=("basket_no", "size"),
        decay_09=("decay_09", "sum"),
        decay_07=("decay_07", "sum"),
        baskets_since=("rank_from_end", "min"),
        last_bought=("basket_ts", "max"),
        first_bought=("basket_ts", "min"),
        cycle_days=("interval_days", "median"),
        cycle_mean_days=("interval_days", "mean"),
    )
    pairs = pairs.join(customers[["n_history_baskets", "days_to_visit", "last_basket_ts"]], on="customer")
    pairs["share"] = pairs["times"] / pairs["n_history_baskets"]
    pairs["days_since"] = (pairs["last_basket_ts"] - pairs["last_bought"]) / DAY
    # Compare the product's cycle with the time elapsed at the visit being predicted, not at the
    # last basket: that is the "is it due?" signal TIFU-KNN lacks.
    pairs["days_since_at_next_visit"] = pairs["days_since"] + pairs["days_to_visit"]
    # Two baskets on the same day give a zero interval; a cycle shorter than a day means "daily".
    pairs["cycle_progress"] = pairs["days_since_at_next_visit"] / pairs["cycle_days"].clip(lower=1.0)
    pairs["tenure_rate"] = pairs["times"] / (1.0 + (pairs["last_basket_ts"] - pairs["first_bought"]) / DAY)
    return pairs.drop(columns=["last_bought", "first_bought", "last_basket_ts", "n_history_baskets", "days_to_visit"])


@dataclass
class RankerParams:
    """The ranker's settings: explore candidates per household, how many earlier baskets of each
    household also serve as training targets, the share of candidates not bought that
    are kept for training, whether the time of the predicted visit is known (as at the till: its
    date, never its contents), the TIFU-KNN settings feeding it and the
    gradient boosting's size (trees, learning rate, leaves per tree)."""

    explore_candidates: int = 30
    earlier_targets: int = 2
    negative_share: float = 0.3
    knows_visit_time: bool = False
    tifu: TifuParams = field(default_factory=TifuParams)
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31


class CandidateFeatures:
    """What is known about every household at the end of one history: its candidate products for
    the next basket and the signals the ranker reads about each."""

    def __init__(
        self,
        history: pd.DataFrame,
        n_customers: int,
        n_items: int,
        tifu: TifuParams,
        visit_ts: pd.Series | None = None,
    ):
        self.n_items = n_items
        self.tifu = tifu
        self.customers = _customer_features(history, visit_ts)
        self.pairs = _repeat_features(history, self.customers)
        repeat_buyers = (self.pairs["times"] >= 2).groupby(level="item").mean()
        self.items = pd.DataFrame(
            {
                "log_popularity": np.log1p(history.groupby("item").size().reindex(range(n_items), fill_value=0)),
                "item_repeat_rate": repeat_buyers.reindex(range(n_items)),
            }
        )
        self.vectors = household_vectors(history, n_customers, n_items, tifu)

    def candidates(self, customers: np.ndarray, explore_candidates: int) -> pd.DataFrame:
        """One row per household and candidate product (`customer`, `item`, then the features): all
        products the household bought plus the `explore_candidates` best new products of its
        TIFU-KNN neighbours."""
        own = self.vectors[customers].toarray()
        neighbours = neighbour_vectors(self.vectors, customers, self.tifu.neighbours)
        unseen = np.where(own > 0, -np.inf, neighbours)
        n_explore = min(explore_candidates, self.n_items - 1)
        explore = np.argpartition(-unseen, n_explore, axis=1)[:, :n_explore]
        candidate = own > 0
        candidate[np.repeat(np.arange(len(customers)), n_explore), explore.ravel()] = True
        rows, items = np.nonzero(candidate)
        frame = pd.DataFrame(
            {
                "customer": customers[rows],
                "item": items,
                "tifu_own": own[rows, items],
                "tifu_neighbours": neighbours[rows, items],
            }
        )
        frame["tifu_score"] = self.tifu.alpha * frame["tifu_own"] + (1 - self.tifu.alpha) * frame["tifu_neighbours"]
        frame = frame.join(self.pairs, on=["customer", "item"])
        never_bought = ["times", "share", "decay_09", "decay_07"]
        frame[never_bought] = frame[never_bought].fillna(0)
        # The classifier sees one product at a time; where the product stands among the household's
        # own candidates is what decides the top of its list.
        by_customer = frame.groupby("customer")
        for signal in ("tifu_score", "decay_09", "tifu_neighbours"):
            frame[f"{signal}_rank"] = by_customer[signal].rank(ascending=False, method="min")
        frame["tifu_score_of_best"] = frame["tifu_score"] / by_customer["tifu_score"].transform("max")
        frame = frame.join(self.customers.drop(columns="last_basket_ts"), on="customer")
        return frame.join(self.items, on="item")


def _feature_matrix(candidates: pd.DataFrame) -> np.ndarray:
    return candidates.drop(columns=["customer", "item"]).to_numpy(dtype=np.float32)


class NextBasketRanker:
    """A gradient-boosted classifier of "this product is in the household's next basket"."""

    def __init__(self, params: RankerParams | None = None):
        self.params = params or RankerParams()
        self.model = HistGradientBoostingClassifier(
            max_iter=self.params.max_iter,
            learning_rate=self.params.learning_rate,
            max_leaf_nodes=self.params.max_leaf_nodes,
            early_stopping=False,
            warm_start=True,
            random_state=0,
        )
        self._examples: tuple[np.ndarray, np.ndarray] | None = None

    def fit(self, sequences: BasketSequences, customers: np.ndarray) -> NextBasketRanker:
        """Learn from the last basket of the given households and, to have more examples, from the
        `earlier_targets` baskets before the last of every household (each predicted from the
        baskets before it only)."""
        features, labels = [], []
        sampler = np.random.default_rng(0)
        for earlier in range(self.params.earlier_targets + 1):
            history = sequences.history(earlier)
            # Earlier baskets of every household are history, never a target of the evaluation,
            # so all households may lend them as training examples.
            learners = customers if earlier == 0 else np.arange(sequences.n_customers)
            known = np.intersect1d(learners, history["customer"].unique())
            visit_ts = sequences.target_times(earlier) if self.params.knows_visit_time else None
            candidates = CandidateFeatures(
                history, sequences.n_customers, sequences.n_items, self.params.tifu, visit_ts
            ).candidates(known, self.params.explore_candidates)
            bought = pd.MultiIndex.from_frame(sequences.targets(earlier))
            label = pd.MultiIndex.from_frame(candidates[["customer", "item"]]).isin(bought)
            # Products not bought outnumber those bought about 20 to 1; a random share of them
            # teaches the same ranking in a fraction of the time (the odds shift by one constant).
            kept = label | (sampler.random(len(label)) < self.params.negative_share)
            labels.append(label[kept])
            features.append(_feature_matrix(candidates[kept]))
        self._examples = (np.vstack(features), np.concatenate(labels))
        self.model.fit(*self._examples)
        return self

    def grow(self, more_trees: int) -> NextBasketRanker:
        """Add `more_trees` boosting rounds on the same examples (for tuning the number of trees)."""
        if self._examples is None:
            raise RuntimeError("fit the ranker before growing it")
        self.model.set_params(max_iter=self.model.max_iter + more_trees)
        self.model.fit(*self._examples)
        return self

    def scores(self, features: CandidateFeatures, customers: np.ndarray) -> np.ndarray:
        """The probability (0-1) that each product is in each household's next basket (rows follow
        `customers`, columns are products); products that are not candidates score -inf."""
        candidates = features.candidates(customers, self.params.explore_candidates)
        probability = self.model.predict_proba(_feature_matrix(candidates))[:, 1]
        row_of = pd.Series(np.arange(len(customers)), index=customers)
        scores = np.full((len(customers), features.n_items), -np.inf)
        scores[row_of[candidates["customer"]].to_numpy(), candidates["item"].to_numpy()] = probability
        return scores
