"""The bound kept between refits of the next-purchase models (decision 0122): no customer x product
pair outside the pairs within reach can reach the cut, alone or with its category's other
products, on any night until the next refit, as long as it is not bought again; nor any pair
outside those the night picks from the reach with its own visit probabilities (decision 0135)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from clientele.forecasting.next_purchase import (
    Calibration,
    bounds_tonight,
    cycle_priors,
    cycle_sums,
    cycles_from_sums,
    expected_category_purchases,
    fit_calibration,
    pairs_within_reach,
    product_cycles,
    product_forecasts,
    reach_bounds,
    visit_probabilities,
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
    reach_rows = pairs_within_reach(bounds, ibis.memtable(PRODUCTS), cut)
    reach = set(map(tuple, reach_rows.to_pandas()[KEYS].to_numpy()))
    bounds = bounds.to_pandas()
    reaching_first, reaching_later, picked_fewer = set(), set(), False
    for night in range(NIGHTS):
        # the same lines every night: no pair bought again, the days elapsed and the visits' odds move
        morning = AS_OF + pd.Timedelta(days=night)
        forecasts = product_forecasts(lines, morning, calibration=calibration, priors=priors).to_pandas()
        every = forecasts.merge(bounds, on=KEYS, how="outer", indicator=True)
        assert (every["_merge"] == "both").all()
        assert (every["probability"] <= every["bound"]).all(), night
        # the night's pick: the reach's pairs that may reach the cut with this morning's visit
        # probabilities (each pair's bound with them at least its probability)
        visits = visit_probabilities(cycles_from_sums(cycle_sums(lines, ["customer_id"], morning), morning), morning)
        tonight = bounds_tonight(reach_rows, visits, calibration)
        within = forecasts.merge(tonight.to_pandas(), on=KEYS)
        assert len(within) == len(reach) and (within["probability"] <= within["bound"]).all(), night
        picked = set(map(tuple, pairs_within_reach(tonight, ibis.memtable(PRODUCTS), cut).to_pandas()[
            KEYS].to_numpy()))
        picked_fewer |= len(picked) < len(reach)
        pairs = set(map(tuple, every.loc[every["probability"] >= cut, KEYS].to_numpy()))
        categories = expected_category_purchases(
            forecasts, ibis.memtable(PRODUCTS.rename(columns={"category": "product_category"}))).to_pandas()
        groups = categories.loc[categories["probability"] >= cut, ["customer_id", "product_category"]]
        in_groups = every.merge(PRODUCTS.rename(columns={"category": "product_category"}), on="product_id").merge(
            groups, on=["customer_id", "product_category"])
        pairs |= set(map(tuple, in_groups[KEYS].to_numpy()))
        assert pairs <= picked <= reach, night
        if night == 0:
            reaching_first = pairs
        else:
            reaching_later |= pairs - reaching_first
    # the test bites: the reach leaves pairs out, some pairs reach the cut only on a later night,
    # and a night's visit probabilities leave some of the reach's pairs out
    assert len(reach) < len(bounds)
    assert reaching_later
    assert picked_fewer


def test_no_bound_when_the_calibration_decreases_with_the_cycle_models_probability(lines):
    cycles = product_cycles(lines, AS_OF)
    assert reach_bounds(cycles, cycle_priors(cycles), Calibration(0.0, (-0.1, 0.0, 0.0)), AS_OF, AS_OF) is None
