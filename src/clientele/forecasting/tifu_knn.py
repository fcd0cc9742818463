"""TIFU-KNN (Hu et al., SIGIR 2020): the next-basket baseline that Clientele's model must beat.

A household is a vector over products: its past baskets, grouped `group_size` at a time from the
most recent backwards, each basket decayed by `basket_decay` within its group and each group by
`group_decay`. The score of a product for the next basket mixes the household's own vector with the
mean vector of its `neighbours` most similar households (cosine): `alpha * own + (1 - alpha) *
neighbours`. It ignores timestamps; only the order of baskets matters.

The functions take history lines as a DataFrame with integer columns `customer` (0..n-1), `item`
(0..m-1), `basket_no` (0 = the household's first basket) and `n_history_baskets`, one row per
product per basket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse


@dataclass(frozen=True)
class TifuParams:
    """TIFU-KNN's hyper-parameters, named as in the paper (r_b, r_g, m, k, alpha)."""

    basket_decay: float = 0.9
    group_decay: float = 0.7
    group_size: int = 7
    neighbours: int = 300
    alpha: float = 0.7


def household_vectors(history: pd.DataFrame, n_customers: int, n_items: int, params: TifuParams) -> sparse.csr_matrix:
    """Each household's time-decayed purchase vector (households x products), as in TIFU-KNN eq. 3-4.

    The most recent basket and group weigh 1; a group's vector is the mean of its decayed baskets and
    the household vector the mean of its decayed groups, so households of any length are comparable.
    """
    rank_from_end = (history["n_history_baskets"] - 1 - history["basket_no"]).to_numpy()
    n_history = history["n_history_baskets"].to_numpy()
    group = rank_from_end // params.group_size
    # Groups are cut from the most recent basket backwards, so only the oldest group can be short.
    group_length = np.minimum(params.group_size, n_history - group * params.group_size)
    n_groups = np.ceil(n_history / params.group_size)
    weight = (
        params.group_decay**group
        * params.basket_decay ** (rank_from_end % params.group_size)
        / group_length
        / n_groups
    )
    return sparse.csr_matrix(
        (weight, (history["customer"].to_numpy(), history["item"].to_numpy())),
        shape=(n_customers, n_items),
    )


def neighbour_vectors(vectors: sparse.csr_matrix, customers: np.ndarray, neighbours: int) -> np.ndarray:
    """The mean vector of each given household's `neighbours` nearest households (cosine), dense.

    Every household's history is a candidate neighbour (histories never contain target baskets);
    a household is never its own neighbour, so a lone household has no neighbours (all zeros).
    """
    k = min(neighbours, vectors.shape[0] - 1)
    if k == 0:
        return np.zeros((len(customers), vectors.shape[1]))
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1))).ravel()
    normalised = sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ vectors
    similarity = (normalised[customers] @ normalised.T).toarray()
    similarity[np.arange(len(customers)), customers] = -np.inf
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    averaging = sparse.csr_matrix(
        (np.full(nearest.size, 1.0 / k), (np.repeat(np.arange(len(customers)), k), nearest.ravel())),
        shape=(len(customers), vectors.shape[0]),
    )
    return (averaging @ vectors).toarray()


def tifu_scores(
    history: pd.DataFrame, n_customers: int, n_items: int, customers: np.ndarray, params: TifuParams
) -> np.ndarray:
    """TIFU-KNN's score of every product for the next basket of each given household (rows follow
    `customers`, columns are products); higher means more likely, the scale has no unit."""
    vectors = household_vectors(history, n_customers, n_items, params)
    own = vectors[customers].toarray()
    return params.alpha * own + (1 - params.alpha) * neighbour_vectors(vectors, customers, params.neighbours)
