"""Specifications of the next visit and next purchase forecasts (forecasting/next_purchase.py)."""

from __future__ import annotations

import math

import ibis
import pandas as pd
import pytest

from clientele.forecasting.next_purchase import (
    RECENT_DECAY_DAYS,
    cycle_sums,
    expected_category_purchases,
    expected_next_visit,
    expected_product_purchases,
    next_purchase_holdout,
    roll_cycle_sums,
)

MILK, FLOUR, BREAD = 1001, 2002, 3003
START = pd.Timestamp("2017-03-01 10:00")


def purchases(customer_id: int, product_id: int, every_days: int, times: int, start: pd.Timestamp = START) -> pd.DataFrame:
    """Basket lines of a customer buying one product every `every_days` days, `times` times."""
    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "basket_id": [f"{customer_id}-{product_id}-{n}" for n in range(times)],
            "transaction_ts": [start + pd.Timedelta(days=every_days * n) for n in range(times)],
            "product_id": product_id,
        }
    )


def test_a_household_buying_milk_every_7_days_is_expected_to_buy_it_7_days_after_the_last_time():
    milk = purchases(1, MILK, every_days=7, times=10)
    last = milk["transaction_ts"].max().normalize()

    forecast = expected_product_purchases(milk)

    assert forecast.loc[0, "expected_date"] == last + pd.Timedelta(days=7)
    assert forecast.loc[0, "typical_cycle_days"] == pytest.approx(7.0)
    assert forecast.loc[0, "probability"] > 0.9  # due within the next 14 days


def test_recent_purchases_weigh_each_purchase_day_by_its_age():
    # bought every 7 days 10 times, then 5 weeks without; two purchases the same day count once
    milk = purchases(1, MILK, every_days=7, times=10)
    milk = pd.concat([milk, milk.head(1).assign(basket_id="again")])
    as_of = milk["transaction_ts"].max().normalize() + pd.Timedelta(days=36)

    forecast = expected_product_purchases(milk, as_of=as_of)

    # aged on the day before as_of: the last purchase 35 days old, the others a week more each
    expected = sum(math.exp(-(35 + 7 * k) / RECENT_DECAY_DAYS) for k in range(10))
    assert forecast.loc[0, "recent_purchases"] == pytest.approx(expected, rel=1e-6)
    assert forecast.loc[0, "purchase_days"] == 10


def test_the_purchase_cycles_rolled_forward_by_new_days_are_those_of_all_the_days_exactly():
    # pairs of one day (bought once, twice the same day) among pairs of several days
    once = purchases(2, BREAD, 1, 1, start=START + pd.Timedelta(days=50))
    old = pd.concat([purchases(1, MILK, 7, 20), purchases(1, FLOUR, 30, 3), purchases(2, MILK, 3, 40), once,
                     once.assign(basket_id="again", product_id=FLOUR), once.assign(product_id=FLOUR)])
    new = pd.concat([purchases(1, MILK, 7, 3, start=START + pd.Timedelta(days=200)),
                     purchases(3, BREAD, 1, 2, start=START + pd.Timedelta(days=201)),
                     purchases(2, BREAD, 1, 1, start=START + pd.Timedelta(days=202))])
    keys = ["customer_id", "product_id"]
    kept_day, new_day = pd.Timestamp("2017-09-01"), pd.Timestamp("2017-10-15")

    rolled = roll_cycle_sums(cycle_sums(ibis.memtable(old), keys, kept_day), ibis.memtable(new), keys, new_day)
    whole = cycle_sums(ibis.memtable(pd.concat([old, new])), keys, new_day)

    def ordered(table: ibis.Table) -> pd.DataFrame:
        return table.to_pandas().sort_values(keys, ignore_index=True)

    pd.testing.assert_frame_equal(ordered(rolled), ordered(whole), check_exact=True)
    assert ordered(whole)["decayed_days"].notnull().all()
    # the pairs of one day summed apart (decision 0143): the same rows and types, to the last digit
    for lines, day in ((old, kept_day), (pd.concat([old, new]), new_day)):
        apart = cycle_sums(ibis.memtable(lines), keys, day, single_days_apart=True)
        assert apart.schema() == cycle_sums(ibis.memtable(lines), keys, day).schema()
        pd.testing.assert_frame_equal(ordered(apart), ordered(cycle_sums(ibis.memtable(lines), keys, day)),
                                      check_exact=True)
    kept = ordered(cycle_sums(ibis.memtable(old), keys, kept_day))
    assert (kept["n_days"] == 1).sum() == 2 and (kept["n_days"] > 1).sum() == 3


def test_a_product_just_bought_on_a_60_day_cycle_is_unlikely_within_14_days():
    lines = pd.concat([purchases(1, MILK, 7, 30), purchases(1, FLOUR, 60, 4, start=START + pd.Timedelta(days=23))])

    forecast = expected_product_purchases(lines).set_index("product_id")

    assert forecast.loc[FLOUR, "probability"] < 0.05
    assert forecast.loc[FLOUR, "expected_date"] == pd.Timestamp("2017-11-19")  # 60 days after the last time, 2017-09-20


def test_a_product_bought_once_takes_its_cycle_from_the_other_households():
    regulars = pd.concat([purchases(customer, MILK, 7, 12) for customer in (1, 2, 3)])
    newcomer = pd.concat([purchases(4, BREAD, 7, 12), purchases(4, MILK, 7, 1, start=START + pd.Timedelta(days=77))])

    forecast = expected_product_purchases(pd.concat([regulars, newcomer]), as_of="2017-05-18")
    newcomer_milk = forecast[(forecast["customer_id"] == 4) & (forecast["product_id"] == MILK)].iloc[0]

    assert newcomer_milk["typical_cycle_days"] == pytest.approx(7.0)
    assert newcomer_milk["expected_date"] == pd.Timestamp("2017-05-24")


def test_min_probability_keeps_only_the_likely_purchases():
    lines = pd.concat([purchases(1, MILK, 7, 30), purchases(1, FLOUR, 60, 4, start=START + pd.Timedelta(days=23))])

    likely = expected_product_purchases(lines, min_probability=0.5)

    assert likely["product_id"].tolist() == [MILK]


def test_a_customer_shopping_every_3_days_is_expected_back_3_days_after_the_last_visit():
    lines = purchases(7, BREAD, every_days=3, times=20)

    visit = expected_next_visit(lines).iloc[0]

    assert visit["expected_next_visit"] == lines["transaction_ts"].max().normalize() + pd.Timedelta(days=3)
    assert visit["typical_gap_days"] == pytest.approx(3.0)
    assert visit["probability_visit"] > 0.99


def test_a_product_is_never_expected_before_the_next_visit():
    # Milk is "due" every 2 days, but the customer only comes in every 7 days (personal frequency).
    lines = purchases(1, MILK, every_days=7, times=10)
    lines_two_day_cycle_elsewhere = purchases(2, MILK, every_days=2, times=40)

    forecast = expected_product_purchases(pd.concat([lines, lines_two_day_cycle_elsewhere]))
    visit = expected_next_visit(lines)

    first = forecast[forecast["customer_id"] == 1].iloc[0]
    assert first["expected_date"] >= visit.loc[0, "expected_next_visit"]


def test_category_probability_is_the_chance_of_buying_at_least_one_of_its_products():
    product_purchases = pd.DataFrame(
        {
            "customer_id": [1, 1],
            "product_id": [MILK, 1002],
            "probability": [0.5, 0.5],
            "expected_date": pd.to_datetime(["2017-06-10", "2017-06-05"]),
        }
    )
    products = pd.DataFrame({"product_id": [MILK, 1002], "product_category": ["FLUID MILK", "FLUID MILK"]})

    categories = expected_category_purchases(product_purchases, products).to_pandas()

    assert categories.loc[0, "probability"] == pytest.approx(0.75)
    assert categories.loc[0, "expected_date"] == pd.Timestamp("2017-06-05")


def test_holdout_error_is_zero_for_a_perfectly_regular_household():
    lines = purchases(1, MILK, every_days=7, times=20)

    errors = next_purchase_holdout(lines, cutoff="2017-05-01")  # 3 days after a purchase

    assert errors["next_visit_mae_days"] == 0.0
    assert errors["next_purchase_mae_days"] == 0.0
    assert errors["regular_observed_rate_14d"] == 1.0


def test_the_forecast_reads_an_ibis_table_as_from_the_lake(slice_customers):
    from clientele.forecasting.nbr_evaluation import load_complete_journey

    lines = load_complete_journey()
    real_slice = lines[lines["customer_id"].isin(slice_customers[:10])]

    from_pandas = expected_next_visit(real_slice)
    from_ibis = expected_next_visit(ibis.memtable(real_slice))

    pd.testing.assert_frame_equal(from_pandas, from_ibis)
    assert from_pandas["expected_next_visit"].min() >= pd.Timestamp("2018-01-01")


def test_the_14_day_probabilities_match_how_often_customers_bought_in_the_holdout():
    from clientele.forecasting.nbr_evaluation import load_complete_journey

    errors = next_purchase_holdout(load_complete_journey(), cutoff="2017-10-01")

    assert errors["mean_probability_14d"] == pytest.approx(errors["observed_rate_14d"], abs=0.01)
    assert errors["brier_14d"] < errors["uncalibrated_brier_14d"]


def test_probabilities_recalibrated_on_a_share_of_the_customers_still_match_the_holdout(monkeypatch):
    from clientele.forecasting import next_purchase
    from clientele.forecasting.nbr_evaluation import load_complete_journey

    monkeypatch.setattr(next_purchase, "CALIBRATION_CUSTOMERS", 800)  # every 4th household of 2,469
    errors = next_purchase_holdout(load_complete_journey(), cutoff="2017-10-01")

    assert errors["mean_probability_14d"] == pytest.approx(errors["observed_rate_14d"], abs=0.01)
    assert errors["brier_14d"] < errors["uncalibrated_brier_14d"]
