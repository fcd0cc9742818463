"""The nightly refresh forecasts every customer, ranks value by predicted lifetime value and serves
the forecasts in the customer profiles."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from clientele.analytics.results import customer_profiles
from clientele.lake.reader import read_table
from clientele.refresh import refresh

AS_OF = date(2017, 12, 31)


@pytest.fixture
def shop_lake(lake_builder, shop_baskets):
    for basket in shop_baskets.itertuples():
        lake_builder.basket(basket.customer_id, basket.basket_date, round(basket.spend, 2), product_id=basket.customer_id % 7 + 1)
    return lake_builder.build()


def result(con, lake, table: str) -> pd.DataFrame:
    return read_table(con, f"results/{table}", lake).execute()


def test_every_customer_gets_forecasts_and_value_tiers_follow_predicted_lifetime_value(shop_lake, duckdb_con):
    refresh(lake=shop_lake, refresh_date=date(2018, 1, 1), con=duckdb_con, as_of=AS_OF)

    forecasts = result(duckdb_con, shop_lake, "forecasts").set_index("customer_id")
    value = result(duckdb_con, shop_lake, "value").set_index("customer_id")
    assert len(forecasts) == 300 and forecasts.drop(columns="refresh_date").notna().all().all()
    assert value["value"].equals(forecasts.loc[value.index, "predicted_clv"])
    platinum = value.index[value["value_tier"] == "platinum"]
    best = forecasts["predicted_clv"].nlargest(len(platinum)).index
    assert sorted(platinum) == sorted(best)


def test_profiles_serve_the_forecasts_next_visits_and_likely_products_after_the_as_of_day(shop_lake, duckdb_con):
    refresh(lake=shop_lake, refresh_date=date(2018, 1, 1), con=duckdb_con, as_of=AS_OF)

    profiles = pd.DataFrame(customer_profiles(duckdb_con, shop_lake)).set_index("customer_id")
    forecasts = result(duckdb_con, shop_lake, "forecasts").set_index("customer_id")
    for column in ("churn_risk", "at_risk", "predicted_clv", "clv_lower", "clv_upper", "probability_alive"):
        assert profiles[column].equals(forecasts.loc[profiles.index, column]), column
    assert (pd.to_datetime(profiles["expected_next_visit"]) > pd.Timestamp(AS_OF)).all()
    at_risk = profiles[profiles["at_risk"]]
    assert len(at_risk) and (at_risk["rfm_segment"] != "Champions").all()
    products = result(duckdb_con, shop_lake, "next_purchases")
    assert len(products) and (products["probability"] >= 0.1).all()
    assert (products["expected_date"] > pd.Timestamp(AS_OF)).all()
    assert (products["expected_date"] <= pd.Timestamp(AS_OF) + timedelta(days=30)).mean() > 0.5
    assert not (shop_lake / "results" / "_work").exists()  # the night's intermediate tables are removed
    categories = result(duckdb_con, shop_lake, "next_categories")
    assert set(categories["category"]) <= {"COLD CEREAL", "VEGETABLES", "DOG FOODS", "DIAPERS & DISPOSABLES",
                                           "CAT FOOD", "BEEF"}
    assert len(categories) >= len(products[["customer_id"]].drop_duplicates())


def test_a_lake_too_small_for_the_models_ranks_value_by_spend(lake_builder, duckdb_con):
    for customer in range(1, 11):
        lake_builder.weekly(customer, AS_OF - timedelta(days=70), weeks=10, spend=10.0 * customer)
    lake = lake_builder.build()

    refresh(lake=lake, refresh_date=date(2018, 1, 1), con=duckdb_con, as_of=AS_OF)

    forecasts = result(duckdb_con, lake, "forecasts")
    value = result(duckdb_con, lake, "value").set_index("customer_id")
    assert forecasts["predicted_clv"].isna().all()
    assert value.loc[10, "value_tier"] == "platinum" and value.loc[10, "value"] == pytest.approx(1000.0)
