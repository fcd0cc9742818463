"""The forecasts the nightly refresh writes for every customer (forecasting/nightly.py)."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from clientele.forecasting.nightly import (
    FORECAST_COLUMNS,
    ForecastOptions,
    customer_forecasts,
    next_categories,
    next_purchases,
    next_visits,
)

AS_OF = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def shop(shop_baskets) -> pd.DataFrame:
    return shop_baskets


@pytest.fixture(scope="module")
def forecasts(shop) -> pd.DataFrame:
    return customer_forecasts(ibis.memtable(shop), AS_OF).set_index("customer_id")


def test_every_customer_gets_purchases_churn_risk_and_a_value_with_its_interval(shop, forecasts):
    assert list(forecasts.reset_index().columns) == list(FORECAST_COLUMNS)
    assert sorted(forecasts.index) == sorted(shop["customer_id"].unique())
    assert forecasts.notna().all().all()
    assert forecasts["probability_alive"].between(0, 1).all() and forecasts["churn_risk"].between(0, 1).all()
    assert (forecasts["clv_lower"] <= forecasts["predicted_clv"]).all()
    assert (forecasts["predicted_clv"] <= forecasts["clv_upper"]).all()
    assert (forecasts["at_risk"] == (forecasts["churn_risk"] >= 0.5)).all()


def test_a_customer_gone_quiet_for_months_is_at_risk_and_a_regular_is_not(shop, forecasts):
    last = shop.groupby("customer_id")["basket_date"].agg(["max", "size"])
    quiet = last[(last["max"] < AS_OF - dt.timedelta(days=150)) & (last["size"] >= 5)].index
    regular = last[(last["max"] > AS_OF - dt.timedelta(days=7)) & (last["size"] >= 20)].index
    assert len(quiet) and len(regular)
    assert forecasts.loc[quiet, "at_risk"].all()
    assert not forecasts.loc[regular, "at_risk"].any()
    assert forecasts.loc[regular, "predicted_clv"].mean() > 5 * forecasts.loc[quiet, "predicted_clv"].mean()


def test_a_stricter_threshold_flags_fewer_customers(shop, forecasts):
    strict = customer_forecasts(ibis.memtable(shop), AS_OF, ForecastOptions(churn_risk_threshold=0.9))
    assert strict["at_risk"].sum() < forecasts["at_risk"].sum()


def test_too_few_customers_to_fit_leave_the_forecasts_missing_not_arbitrary(shop):
    few = shop[shop["customer_id"] <= 5]

    forecasts = customer_forecasts(ibis.memtable(few), AS_OF)

    assert sorted(forecasts["customer_id"]) == sorted(few["customer_id"].unique())
    assert forecasts.drop(columns="customer_id").isna().all().all()


def test_next_purchases_categories_and_visits_look_ahead_from_the_morning_after():
    lines = pd.DataFrame(
        {
            "customer_id": 1,
            "basket_id": [f"B{n}" for n in range(10)],
            "transaction_ts": [pd.Timestamp("2017-10-01 10:00") + pd.Timedelta(days=7 * n) for n in range(10)],
            "product_id": 1001,
        }
    )
    as_of = dt.date(2017, 12, 3)  # the day of the 10th weekly basket

    visit = next_visits(ibis.memtable(lines), as_of).iloc[0]
    products = next_purchases(ibis.memtable(lines), as_of).to_pandas()

    assert visit["expected_next_visit"] == pd.Timestamp("2017-12-10")
    assert products["product_id"].tolist() == [1001]
    assert products.loc[0, "expected_date"] == pd.Timestamp("2017-12-10")
    assert products.loc[0, "probability"] > 0.9
    categories = next_categories(
        ibis.memtable(lines), ibis.memtable(pd.DataFrame({"product_id": [1001], "category": ["FLUID MILK"]})), as_of
    ).to_pandas()
    assert categories["category"].tolist() == ["FLUID MILK"]
    assert categories.loc[0, "probability"] == pytest.approx(products.loc[0, "probability"])


def test_ill_formed_options_are_refused():
    with pytest.raises(ValueError, match="churn_risk_threshold"):
        ForecastOptions(churn_risk_threshold=1.5)
