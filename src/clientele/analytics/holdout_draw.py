"""Random holdouts for campaigns: who is kept out, drawn from a stored seed (pure numpy, no Django).

Each customer gets a pseudo-random number from the campaign's seed and their customer id alone
(SplitMix64), so the draw does not depend on the order the audience was read in and the same seed
gives the same groups on any machine. Within each stratum (a cell of the audience, such as its
pyramid level and lifecycle stage) the customers with the smallest numbers, round(share x size) of
them, form the holdout: every cell is split in the same proportion. A customer added later (an event
trigger) is drawn alone: holdout when their number is below the share.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pyarrow as pa

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def uniform_draws(seed: int, customer_ids: np.ndarray) -> np.ndarray:
    """Per customer, a number in [0, 1) that only the seed and the customer id decide."""
    with np.errstate(over="ignore"):
        z = (np.asarray(customer_ids, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.uint64(seed & 0xFFFFFFFFFFFFFFFF)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def stratified_holdout(seed: int, customer_ids: np.ndarray, strata, share: float) -> np.ndarray:
    """True for the customers drawn into the holdout: round(share x size) of each stratum, chosen
    by their draw (`uniform_draws`); the same inputs always give the same answer."""
    customer_ids = np.asarray(customer_ids, dtype=np.int64)
    if len(customer_ids) == 0:
        return np.zeros(0, dtype=bool)
    stratum_index = _codes(strata)
    draws = uniform_draws(seed, customer_ids)
    order = np.lexsort((customer_ids, draws, stratum_index))  # by stratum, then draw
    sizes = np.bincount(stratum_index)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank_in_stratum = np.empty(len(customer_ids), dtype=np.int64)
    rank_in_stratum[order] = np.arange(len(customer_ids)) - np.repeat(starts, sizes)
    kept_out = np.floor(sizes * share + 0.5).astype(np.int64)
    return rank_in_stratum < kept_out[stratum_index]


def _codes(strata) -> np.ndarray:
    """Each row's stratum as a small integer (the same stratum, the same code; which code a
    stratum gets does not matter to the draw: only the grouping does)."""
    if isinstance(strata, (pa.Array, pa.ChunkedArray)):
        encoded = pa.chunked_array([strata]) if isinstance(strata, pa.Array) else strata
        encoded = encoded.cast(pa.string()).fill_null("").dictionary_encode().combine_chunks()
        return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    _, codes = np.unique(np.asarray(strata, dtype=object).astype(str), return_inverse=True)
    return codes


def single_holdout(seed: int, customer_id: int, share: float) -> bool:
    """True when a customer joining a running campaign alone (an event trigger) is held out."""
    return bool(uniform_draws(seed, np.array([customer_id]))[0] < share)


def draw_audience(members: ibis.Table, profiles: ibis.Table, strata: Sequence[str], seed: int,
                  share: float) -> pa.Table:
    """The audience's groups: customer_id, treated (False: the holdout) and stratum (the values of
    the `strata` profile columns joined by '/'), one row per customer, ascending customer_id."""
    cells = profiles.select("customer_id", *strata)
    audience = members.select("customer_id").distinct().left_join(cells, "customer_id")
    stratum = ibis.literal("")
    for position, column in enumerate(strata):
        value = audience[column].cast("string").fill_null("-")
        stratum = value if position == 0 else stratum.concat("/", value)
    rows = audience.select(audience.customer_id, stratum=stratum).order_by("customer_id").to_pyarrow()
    ids = rows.column("customer_id").to_numpy()
    held_out = stratified_holdout(seed, ids, rows.column("stratum"), share)
    return pa.table({"customer_id": ids, "treated": ~held_out, "stratum": rows.column("stratum")})
