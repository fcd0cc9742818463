"""Identify tells the cashier what helps to serve the member: tier and perks, the categories they buy
most and one line on their last purchase with what goes with it, from the nightly till context; the
hot call in front of Django and the documented route answer the same."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from django.test import Client, override_settings
from till_payloads import TillClient

from clientele.analytics.results import till_contexts
from clientele.engine import connect
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import LoyaltyAccount, Tier
from clientele.members.models import Card, Member, TillContext
from clientele.members.services import write_till_context
from clientele.refresh import refresh

NIGHT = {"customer_id": 42, "top_category_1": "BEEF", "top_category_2": "DOG FOODS", "top_category_3": None,
         "last_bought": "DOG FOODS", "last_bought_on": date(2026, 11, 30), "goes_with": "CAT FOOD"}


@pytest.fixture
def clients(store) -> tuple[Client, TillClient]:
    """Django's test client (the documented route) and the till's client (the hot call), same key."""
    _, raw = issue_api_key(store, "till 1")
    return Client(headers={"X-API-Key": raw}), TillClient(headers={"X-API-Key": raw})


@pytest.fixture
def gold_member(member):
    gold = Tier.objects.create(name="Gold", rank=2, perks=["free wrapping", "express lane"])
    LoyaltyAccount.objects.create(member=member, tier=gold)
    return member


def test_given_the_nights_context_when_identified_then_the_cashier_sees_tier_perks_top_categories_and_one_line(
        clients, gold_member, card):
    assert write_till_context([NIGHT, NIGHT | {"customer_id": 999}], refreshed_on=date(2026, 12, 1)) == 1

    answers = [client.get("/api/members/identify", {"card": card}) for client in clients]

    assert answers[0].status_code == answers[1].status_code == 200
    assert answers[0].json() == answers[1].json()
    told = answers[1].json()
    assert told["tier"] == "Gold" and told["perks"] == ["free wrapping", "express lane"]
    assert told["top_categories"] == ["BEEF", "DOG FOODS"]
    assert told["context"] == "last bought: DOG FOODS (2026-11-30); goes with it: CAT FOOD"


def test_given_no_context_for_the_member_when_identified_by_phone_then_no_line_and_no_categories(
        clients, gold_member):
    write_till_context([NIGHT | {"customer_id": 7}])  # another customer: none of this member's

    answers = [client.get("/api/members/identify", {"phone": "+13125550100"}).json() for client in clients]

    assert answers[0] == answers[1]
    assert answers[1]["top_categories"] == [] and answers[1]["context"] is None
    assert answers[1]["tier"] == "Gold"


def test_given_a_last_purchase_with_nothing_going_with_it_then_the_line_names_only_the_purchase(clients, member):
    write_till_context([NIGHT | {"goes_with": None, "top_category_2": None}])

    answers = [client.get("/api/members/identify", {"member_number": "42"}).json() for client in clients]

    assert answers[0] == answers[1]
    assert answers[1]["context"] == "last bought: DOG FOODS (2026-11-30)"
    assert answers[1]["top_categories"] == ["BEEF"]


def test_given_the_till_context_switched_off_then_identify_answers_as_before_it(clients, member, card):
    write_till_context([NIGHT])

    with override_settings(CLIENTELE_TILL_CONTEXT=False):
        answers = [client.get("/api/members/identify", {"card": card}).json() for client in clients]

    assert answers[0] == answers[1]
    assert answers[1]["top_categories"] == [] and answers[1]["context"] is None
    assert answers[1]["member_number"] == 42


def test_a_new_night_replaces_the_context_of_the_night_before(member):
    write_till_context([NIGHT], refreshed_on=date(2026, 12, 1))
    write_till_context([NIGHT | {"last_bought": "BEEF", "goes_with": None}], refreshed_on=date(2026, 12, 2))

    row = TillContext.objects.get(member=member)
    assert (row.refreshed_on, row.last_bought, row.goes_with, row.top_categories) == (
        date(2026, 12, 2), "BEEF", "", "BEEF|DOG FOODS")


def test_the_nightly_refresh_of_real_baskets_reaches_the_till(cj_slice_lake, tmp_path, clients, store):
    lake = tmp_path / "lake"
    shutil.copytree(cj_slice_lake, lake)
    con = connect("duckdb")
    refresh(lake=lake, refresh_date=date(2018, 1, 2), con=con)
    nights = till_contexts(con, lake)
    household = next(row for row in nights if row["goes_with"])
    shopper = Member.objects.create(customer_id=household["customer_id"], join_date=date(2017, 1, 1))
    Card.objects.create(barcode="2900000000017", member=shopper)

    assert write_till_context(nights) == 1
    answers = [client.get("/api/members/identify", {"card": "2900000000017"}).json() for client in clients]

    assert answers[0] == answers[1]
    assert answers[1]["top_categories"][0] == household["top_category_1"]
    assert answers[1]["context"].startswith(f"last bought: {household['last_bought']} (")
    assert answers[1]["context"].endswith(f"goes with it: {household['goes_with']}")
