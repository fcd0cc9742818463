"""`clientele customer ID` and `clientele customers at-risk` on a refreshed lake."""

from __future__ import annotations

import json
from datetime import date

import pytest

from clientele.analytics.customer_card import UnknownCustomer, customer_view, customers_at_risk
from clientele.analytics.results import customer_profiles
from clientele.barcodes import card_barcode
from clientele.cli import main
from clientele.refresh import refresh


@pytest.fixture
def refreshed_shop(home, lake_builder_factory, shop_baskets, duckdb_con):
    builder = lake_builder_factory(home / "lake")
    for basket in shop_baskets.itertuples():
        builder.basket(basket.customer_id, basket.basket_date, round(basket.spend, 2), product_id=basket.customer_id % 7 + 1)
    lake = builder.build()
    refresh(lake=lake, refresh_date=date(2018, 1, 1), con=duckdb_con)
    return lake


def test_customers_at_risk_come_most_valuable_first(refreshed_shop, duckdb_con):
    profiles = [p for p in customer_profiles(duckdb_con, refreshed_shop) if p["at_risk"]]
    expected = sorted(profiles, key=lambda p: (-round(p["churn_risk"] * p["monetary"], 2), p["customer_id"]))
    listed = customers_at_risk(duckdb_con, limit=5, lake=refreshed_shop)
    assert len(profiles) > 5  # the list is cut, not everyone
    assert [row["customer_id"] for row in listed] == [p["customer_id"] for p in expected[:5]]
    assert all(row["churn_risk"] >= 0.5 for row in listed)
    stakes = [row["value_at_stake"] for row in listed]
    assert stakes == sorted(stakes, reverse=True) and stakes[0] > 0


def test_one_customer_shows_segments_value_with_interval_risk_next_visit_and_purchases(refreshed_shop, duckdb_con):
    best = max(customer_profiles(duckdb_con, refreshed_shop), key=lambda p: p["predicted_clv"])
    view = customer_view(duckdb_con, best["customer_id"], refreshed_shop)
    profile = view["profile"]
    assert profile["value_tier"] == "platinum" and profile["clv_lower"] < profile["predicted_clv"] < profile["clv_upper"]
    assert 0 <= profile["churn_risk"] <= 1 and profile["expected_next_visit"] > date(2017, 12, 31)
    assert view["pyramid"]["window_end"] == date(2017, 12, 31)
    probabilities = [row["probability"] for row in view["next_purchases"]]
    assert probabilities == sorted(probabilities, reverse=True)
    with pytest.raises(UnknownCustomer, match="customer 99999 is not in the last refresh"):
        customer_view(duckdb_con, 99999, refreshed_shop)


@pytest.mark.django_db
def test_the_customer_command_adds_the_members_points_and_tier(refreshed_shop, duckdb_con, tmp_path, capsys):
    from clientele.loyalty.migration import import_balances

    customer = customer_profiles(duckdb_con, refreshed_shop)[0]["customer_id"]
    balances = tmp_path / "balances.csv"
    balances.write_text(f"member_number,card,opening_points,first_name\n{customer},{card_barcode(customer)},250,Ada\n")
    assert import_balances(balances)["rows_loaded"] == 1
    with pytest.raises(SystemExit) as ended:
        main(["customer", str(customer), "--json"])
    assert ended.value.code == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["profile"]["customer_id"] == customer
    assert shown["loyalty"]["available"] + shown["loyalty"]["pending"] == 250 and shown["loyalty"]["name"] == "Ada"
    with pytest.raises(SystemExit) as ended:
        main(["customer", "99999"])
    assert ended.value.code == 2 and "customer 99999 is not in the last refresh" in capsys.readouterr().err
