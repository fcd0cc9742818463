"""The bound kept between refits of the next-purchase models (decision 0122): no customer x product
pair outside the pairs within reach can reach the cut, alone or with its category's other
products, on any night until the next refit, as long as it is not bought again."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from clientele.forecasting.next_purchase import (
    Calibration,
    cycle_priors,
    expected_category_purchases,
    fit_calibration,
    pairs_within_reach,
    product_cycles,
    product_forecasts,
    reach_bounds,
)

AS_OF = pd.Timestamp("2024-07-20")  # the morning after the last line
NIGHTS = 7
KEYS = ["customer_id", "product_id"]


def _lines() -> pd.DataFrame:
    """300 customers buying some of 60 products, each on a cycle of 3 to 60 days (a day early or
    late), once to 12 times, over the 200 days before AS_OF."""
    rng = np.random.default_rng(3)
    start, rows = pd.Timestamp("2024-01-01 10:00"), []
    for customer in range(300):
        for product in rng.choice(60, size=rng.integers(2, 20), replace=False):
            cycle, first = int(rng.choice([3, 7, 10, 14, 30, 60])), int(rng.integers(0, 200))
            for n in range(int(rng.choice([1, 1, 1, 2, 3, 6, 12]))):
                day = first + n * cycle + int(rng.integers(-1, 2))
                if 0 <= day < 200:
                    rows.append((customer, int(product), start + pd.Timedelta(days=day)))
    return pd.DataFrame(rows, columns=["customer_id", "product_id", "transaction_ts"]).drop_duplicates()


@pytest.fixture(scope="module")
def lines() -> ibis.Table:
    return ibis.memtable(_lines())


PRODUCTS = pd.DataFrame({"product_id": range(60), "category": [f"c{p % 8}" if p < 54 else None for p in range(60)]})


@pytest.mark.parametrize("calibration, cut", [
    ("fitted", 0.3),
    (None, 0.6),
    # a calibration whose weight of the elapsed cycles is positive: the bound takes the range's other end
    (Calibration(-1.0, (0.8, 0.3, 0.5)), 0.6),
])
def test_no_pair_outside_the_reach_reaches_the_cut_on_any_night_until_the_refit(lines, calibration, cut):
    if calibration == "fitted":
        calibration = fit_calibration(lines, AS_OF)
    cycles = product_cycles(lines, AS_OF)
    priors = cycle_priors(cycles)
    last = AS_OF + pd.Timedelta(days=NIGHTS - 1)
    bounds = reach_bounds(cycles, priors, calibration, AS_OF, last)
    reach = set(map(tuple, pairs_within_reach(bounds, ibis.memtable(PRODUCTS), cut).to_pandas()[KEYS].to_numpy()))
    bounds = bounds.to_pandas()
    reaching_first, reaching_later = set(), set()
    for night in range(NIGHTS):
        # the same lines every night: no pair bought again, the days elapsed and the visits' odds move
        forecasts = product_forecasts(lines, AS_OF + pd.Timedelta(days=night), calibration=calibration, priors=priors)
        every = forecasts.to_pandas().merge(bounds, on=KEYS, how="outer", indicator=True)
        assert (every["_merge"] == "both").all()
        assert (every["probability"] <= every["bound"]).all(), night
        pairs = set(map(tuple, every.loc[every["probability"] >= cut, KEYS].to_numpy()))
        categories = expected_category_purchases(
            forecasts, ibis.memtable(PRODUCTS.rename(columns={"category": "product_category"}))).to_pandas()
        groups = categories.loc[categories["probability"] >= cut, ["customer_id", "product_category"]]
        in_groups = every.merge(PRODUCTS.rename(columns={"category": "product_category"}), on="product_id").merge(
            groups, on=["customer_id", "product_category"])
        pairs |= set(map(tuple, in_groups[KEYS].to_numpy()))
        assert pairs <= reach, night
        if night == 0:
            reaching_first = pairs
        else:
            reaching_later |= pairs - reaching_first
    # the test bites: the reach leaves pairs out, and some pairs reach the cut only on a later night
    assert len(reach) < len(bounds)
    assert reaching_later


def test_no_bound_when_the_calibration_decreases_with_the_cycle_models_probability(lines):
    cycles = product_cycles(lines, AS_OF)
    assert reach_bounds(cycles, cycle_priors(cycles), Calibration(0.0, (-0.1, 0.0, 0.0)), AS_OF, AS_OF) is None


def test_every_pair_of_a_group_its_small_bounds_add_up_to_the_cut_is_within_reach():
    """The groups are summed over their own pairs (decision 0135): taking each pair's bound as its
    probability (the most it can be), every pair whose category reaches the cut as
    `expected_category_purchases` computes it, however small each of its bounds, is within reach,
    as is each pair at the cut alone; a customer's pairs of other categories are not counted in."""
    rng = np.random.default_rng(7)
    rows = []
    for customer in range(400):
        # per customer a few categories, each of 1 to 120 pairs of bounds from 1e-5 to 0.2
        for category in rng.choice(8, size=int(rng.integers(1, 5)), replace=False):
            scale = float(rng.choice([1e-4, 1e-3, 3e-3, 0.03]))
            for product in rng.choice(range(category * 1000, category * 1000 + 1000), size=int(rng.integers(1, 120)),
                                      replace=False):
                rows.append((customer, int(product), min(float(rng.exponential(scale)), 0.2)))
        rows.append((customer, 9000 + customer % 3, float(rng.choice([0.05, 0.3]))))  # no category
    bounds = pd.DataFrame(rows, columns=[*KEYS, "bound"])
    products = pd.DataFrame({"product_id": range(9003), "category": [
        f"c{p // 1000}" if p < 8000 else None for p in range(9003)]})
    cut = 0.1
    reach = set(map(tuple, pairs_within_reach(ibis.memtable(bounds), ibis.memtable(products), cut).to_pandas()[
        KEYS].to_numpy()))
    as_probabilities = bounds.rename(columns={"bound": "probability"}).assign(expected_date=pd.Timestamp("2024-08-01"))
    named = products.rename(columns={"category": "product_category"})
    categories = expected_category_purchases(ibis.memtable(as_probabilities), ibis.memtable(named)).to_pandas()
    groups = categories.loc[categories["probability"] >= cut, ["customer_id", "product_category"]]
    in_groups = bounds.merge(named, on="product_id").merge(groups, on=["customer_id", "product_category"])
    reaching = set(map(tuple, in_groups[KEYS].to_numpy())) | set(map(tuple, bounds.loc[
        bounds["bound"] >= cut, KEYS].to_numpy()))
    assert reaching <= reach
    # the test bites: groups reach the cut only through pairs far below it alone (a sum of the
    # bounds of 0.01 or more leaves them out), and the reach is the pairs reaching, give or take
    # the margin, not every pair of a customer with a group reaching
    small_only = in_groups.groupby(["customer_id", "product_category"])["bound"].max()
    assert (small_only < 0.01).sum() >= 5
    assert len(reach - reaching) <= len(reach) // 100
    assert len(reach) < 0.8 * len(bounds[bounds["customer_id"].isin(groups["customer_id"])])
