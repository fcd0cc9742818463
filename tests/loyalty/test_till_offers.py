"""Offers at the till (issue 19, part 4): the member's list and the general offers applied to a basket
posted through the served application (the hot call, and Django's route), budgets and uses taken
once, given back by a return; list barcodes refused with a stable code."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from till_payloads import BREAD, MILK, SHAMPOO, TillClient, basket, post

from clientele.barcodes import list_barcode
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import PointsEntry
from clientele.members.models import Member
from clientele.offers import services as offer_services
from clientele.offers import till as offers_till
from clientele.offers.models import (
    MemberOfferUse,
    Offer,
    OfferBudget,
    OfferBudgetSlice,
    OfferRedemption,
    ShoppingList,
    ShoppingListItem,
)

TODAY = datetime.now(timezone.utc)


def save_offer(code: str, **fields) -> Offer:
    products = fields.pop("product_ids", None)
    values = {"name": code, "target": "products", "benefit": "amount_off", "amount": Decimal("0.50"),
              "valid_from": TODAY - timedelta(days=3), "valid_until": TODAY + timedelta(days=10)} | fields
    return offer_services.save_offer(Offer(code=code, **values), product_ids=products)


def make_list(member: Member, serial: int, offers: list[tuple[Offer, int]], factor: str = "2",
              status: str = "current", days: tuple[int, int] = (-2, 10)) -> ShoppingList:
    today = TODAY.date()
    shopping_list = ShoppingList.objects.create(
        number=list_barcode(serial), member=member, status=status, generated_at=TODAY, as_of=today,
        valid_from=today + timedelta(days=days[0]), valid_until=today + timedelta(days=days[1]),
        pyramid_level="major", sizing_factor=Decimal(factor))
    for position, (offer, product_id) in enumerate(offers, start=1):
        ShoppingListItem.objects.create(shopping_list=shopping_list, position=position, product_id=product_id,
                                        offer=offer, offer_value=Decimal("1.00"))
    return shopping_list


@pytest.fixture(autouse=True)
def fresh_terms():
    offers_till.forget_terms()
    yield
    offers_till.forget_terms()


@pytest.fixture
def offers(programme_ready):
    """A personal bread offer (0.50 off a loaf, x2 on Ada's list), a general milk offer (10% off,
    count budget 3), and Ada's current list carrying the bread offer."""
    bread = save_offer("bread-50c", product_ids=[BREAD], eligibility="personal", budget_count=100,
                       per_member_limit=5)
    milk = save_offer("milk-10pc", product_ids=[MILK], benefit="percent_off", amount=None, percent=Decimal("10"),
                      budget_count=3)
    shopping_list = make_list(programme_ready, 7, [(bread, BREAD)])
    return {"bread": bread, "milk": milk, "list": shopping_list}


@pytest.fixture(params=["hot call", "django"])
def tills(request, store):
    """A till of store 1 through the served application's hot call, or through Django's route."""
    _, raw = issue_api_key(store, "till 1")
    if request.param == "django":
        settings.CLIENTELE_HOT_CALLS = False
        yield Client(headers={"X-API-Key": raw})
        settings.CLIENTELE_HOT_CALLS = True
    else:
        yield TillClient(headers={"X-API-Key": raw})


def test_given_a_member_with_a_list_when_the_card_is_scanned_then_list_and_general_offers_apply_and_points_follow_the_paid_amount(
        offers, tills, card):
    answer = post(tills, "/baskets", basket(card=card)).json()

    # bread 2 x 2.50 with 0.50 x 2 (Ada's factor) off each unit: 2.00 off; milk 3.00 with 10% off: 0.30
    assert {line["line_no"]: (line["discount"], line["offers"]) for line in answer["lines"]} == {
        1: ("2.00", ["bread-50c"]), 2: ("0.30", ["milk-10pc"])}
    assert {offer["code"]: (offer["discount"], offer["from_list"]) for offer in answer["offers"]} == {
        "bread-50c": ("2.00", True), "milk-10pc": ("0.30", False)}
    assert answer["discount_total"] == "2.30"
    assert answer["total"] == "5.70"  # 8.00 before the offers
    assert answer["points_earned"] == 5  # 1 point per whole dollar paid: 3.00 + 2.70 (the rule rounds per line)
    assert answer["list_number"] == offers["list"].number
    redemptions = {r.offer.code: (r.discount, r.shopping_list_id) for r in OfferRedemption.objects.all()}
    assert redemptions == {"bread-50c": (Decimal("2.00"), offers["list"].pk), "milk-10pc": (Decimal("0.30"), None)}
    assert OfferBudget.objects.get(offer=offers["milk"]).given_count == 1
    assert MemberOfferUse.objects.get(offer=offers["bread"]).uses == 1


def test_given_a_list_barcode_alone_at_another_store_then_its_member_is_credited_with_its_offers(
        offers, other_store, card):
    _, raw = issue_api_key(other_store, "till 9")
    till = TillClient(headers={"X-API-Key": raw})
    as_list_field = post(till, "/baskets", basket(receipt="a", store_id=2) | {"list_number": offers["list"].number})
    as_card = post(till, "/baskets", basket(receipt="b", store_id=2, card=offers["list"].number))

    for response in (as_list_field, as_card):
        assert response.status_code == 200, response.json()
        assert response.json()["member_number"] == 42
        assert [offer["code"] for offer in response.json()["offers"]] == ["bread-50c", "milk-10pc"]


def test_given_a_posted_basket_when_replayed_then_nothing_is_applied_twice(offers, till, card):
    payload = basket(card=card)
    first = post(till, "/baskets", payload).json()
    again = post(till, "/baskets", payload).json()

    assert again["replayed"] is True
    assert again["offers"] == first["offers"] and again["lines"] == first["lines"]
    assert OfferRedemption.objects.count() == 2
    assert OfferBudget.objects.get(offer=offers["milk"]).given_count == 1
    assert PointsEntry.objects.filter(kind="points_earned").count() == 1


def test_given_a_basket_with_offers_when_a_line_is_returned_then_budget_and_use_come_back_once(offers, till, card):
    post(till, "/baskets", basket(card=card))
    payload = {"store_id": 1, "return_id": "R1", "original_store_id": 1, "original_till_id": "T1",
               "original_receipt_number": "1001", "lines": [{"line_no": 2, "quantity": "1"}]}
    first = post(till, "/returns", payload)
    post(till, "/returns", payload)  # replayed

    assert first.status_code == 200, first.json()
    assert first.json()["refund"] == "2.70"  # what was paid for the milk, after its offer
    assert OfferBudget.objects.get(offer=offers["milk"]).given_count == 0
    assert OfferBudget.objects.get(offer=offers["bread"]).given_money == 0
    assert MemberOfferUse.objects.get(offer=offers["bread"]).uses == 0
    assert OfferRedemption.objects.filter(kind="reversed").count() == 2
    statement_total = sum(r.discount for r in OfferRedemption.objects.all())
    assert statement_total == 0


@pytest.mark.parametrize("case", ["unknown", "replaced", "ended", "another member's"])
def test_given_a_bad_list_barcode_then_the_till_gets_a_stable_code_and_nothing_is_written(
        offers, tills, card, case):
    other = Member.objects.create(customer_id=43, first_name="Bob", join_date=date(2024, 1, 1))
    number = {"unknown": lambda: list_barcode(999),
              "replaced": lambda: make_list(other, 8, [], status="superseded").number,
              "ended": lambda: make_list(other, 9, [], days=(-20, -6)).number,
              "another member's": lambda: make_list(other, 10, []).number}[case]()
    response = post(tills, "/baskets", basket(card=card) | {"list_number": number})

    expected = {"unknown": (404, "unknown_list"), "replaced": (409, "expired_list"), "ended": (409, "expired_list"),
                "another member's": (409, "list_of_another_member")}[case]
    assert (response.status_code, response.json()["code"]) == expected
    assert response.json()["field"] == "list_number"
    assert OfferRedemption.objects.count() == 0 and OfferBudget.objects.get(offer=offers["milk"]).given_count == 0


def test_given_an_offer_out_of_budget_then_baskets_go_through_without_it(offers, till, card):
    for receipt in "123":
        post(till, "/baskets", basket(receipt=receipt, card=card))
    fourth = post(till, "/baskets", basket(receipt="4", card=card))

    assert fourth.status_code == 200
    assert [offer["code"] for offer in fourth.json()["offers"]] == ["bread-50c"]
    assert OfferBudget.objects.get(offer=offers["milk"]).given_count == 3


def test_given_a_sliced_budget_with_one_slice_spent_then_the_checkout_takes_from_another(programme_ready, tills, card):
    """A 200.00 budget in two slices of 100.00, the first spent to its last cent: whichever slice the
    basket's number points to, the milk offer is taken from the one that has enough, never below zero."""
    milk = save_offer("milk-10pc", product_ids=[MILK], benefit="percent_off", amount=None, percent=Decimal("10"),
                      budget_money=Decimal("200.00"))
    offer_services.consume_budget(milk.pk, Decimal("100.00"), prefer=0)

    answer = post(tills, "/baskets", basket(card=card)).json()

    assert [(offer["code"], offer["discount"]) for offer in answer["offers"]] == [("milk-10pc", "0.30")]
    parts = {part.slice: (part.money_left, part.given_money) for part in OfferBudgetSlice.objects.filter(budget_id=milk.pk)}
    assert parts == {0: (Decimal("0.00"), Decimal("100.00")), 1: (Decimal("99.70"), Decimal("0.30"))}


def test_given_terms_read_before_another_till_took_the_budget_then_the_checkout_decides_again(offers, till, card):
    """The worker's terms say the milk offer has budget; another till took the rest since: the write is
    refused whole, and the checkout is decided again with the budgets read afresh."""
    offers_till.offers_for_till("stale", TODAY)  # what a worker keeps on PostgreSQL
    offer_services.consume_budget(offers["milk"].pk, Decimal("0"), 3)

    response = post(till, "/baskets", basket(card=card))

    assert response.status_code == 200
    assert [offer["code"] for offer in response.json()["offers"]] == ["bread-50c"]
    assert OfferBudget.objects.get(offer=offers["milk"]).given_count == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL's tills keep the offers' terms")
def test_given_budgets_taken_at_every_attempt_then_the_till_gets_offer_budget_exhausted(
        offers, till, card, monkeypatch):
    offer_services.consume_budget(offers["milk"].pk, Decimal("0"), 3)
    stale = offers_till._load_terms(TODAY)
    stale = [t if t.code != "milk-10pc" else t.__class__(**{**t.__dict__, "count_left": 3}) for t in stale]
    monkeypatch.setattr(offers_till, "offers_for_till", lambda stamp, at: stale)

    response = post(till, "/baskets", basket(card=card))

    assert (response.status_code, response.json()["code"]) == (409, "offer_budget_exhausted")
    assert OfferRedemption.objects.count() == 0


def test_given_a_member_with_a_list_when_identified_then_the_tills_shows_the_lists_offers(offers, till, card):
    answer = till.get("/api/members/identify", {"card": card}).json()

    assert [(offer["code"], offer["product_id"], offer["list_number"]) for offer in answer["offers"]] == [
        ("bread-50c", BREAD, offers["list"].number)]


def test_given_many_tills_at_once_when_they_drain_one_budget_then_it_is_never_overspent(
        concurrent_db, programme_ready, store, card):
    from test_concurrency import run_together

    milk = save_offer("milk-10pc", product_ids=[MILK], benefit="percent_off", amount=None, percent=Decimal("10"),
                      budget_count=3, budget_money=Decimal("0.80"))
    _, raw = issue_api_key(store, "tills")
    offers_till.offers_for_till("kept", TODAY)  # every worker starts from terms read before the rush

    responses = run_together([
        (lambda receipt=receipt: post(TillClient(headers={"X-API-Key": raw}), "/baskets",
                                      basket(receipt=f"r{receipt}", till_id=f"T{receipt}", card=card)))
        for receipt in range(8)])

    assert [r.status_code for r in responses] == [200] * 8, [r.json() for r in responses]
    got_it = [r for r in responses if r.json()["offers"]]
    budget = OfferBudget.objects.get(offer=milk)
    # 0.30 each: the money budget (0.80) allows two whole and one cut to 0.20, then nothing
    assert (budget.given_money, budget.given_count) == (Decimal("0.80"), 3)
    assert sum(Decimal(r.json()["discount_total"]) for r in got_it) == budget.given_money
    assert OfferRedemption.objects.count() == len(got_it) == budget.given_count


def test_given_many_members_tills_at_once_on_the_last_cents_of_a_sliced_budget_then_no_slice_is_overspent(
        concurrent_db, programme_ready, store):
    """Eight members' tills (no account lock between them) on a budget of three slices left with 0.50,
    0.40 and 0.30: each till takes from its basket's slice or another, re-checked on the row another
    till just wrote; every cent given is a redemption answered to a till, and no slice goes below zero."""
    from test_concurrency import run_together

    from clientele.barcodes import card_barcode
    from clientele.members.models import Card

    for customer in range(43, 50):
        member = Member.objects.create(customer_id=customer, first_name="M", last_name=str(customer),
                                       join_date=TODAY.date())
        Card.objects.create(barcode=card_barcode(customer), member=member)
    milk = save_offer("milk-10pc", product_ids=[MILK], benefit="percent_off", amount=None, percent=Decimal("10"),
                      budget_money=Decimal("300.00"))
    for part, left in zip(OfferBudgetSlice.objects.filter(budget_id=milk.pk).order_by("slice"),
                          [Decimal("0.50"), Decimal("0.40"), Decimal("0.30")], strict=True):
        offer_services.consume_budget(milk.pk, part.money_left - left, prefer=part.slice)
    _, raw = issue_api_key(store, "tills")

    responses = run_together([
        (lambda customer=customer: post(TillClient(headers={"X-API-Key": raw}), "/baskets",
                                        basket(receipt=f"r{customer}", till_id=f"T{customer}",
                                               card=card_barcode(customer))))
        for customer in range(42, 50)])

    assert all(r.status_code == 200 or (r.status_code, r.json()["code"]) == (409, "offer_budget_exhausted")
               for r in responses), [r.json() for r in responses]
    answered = [Decimal(r.json()["discount_total"]) for r in responses if r.status_code == 200 and r.json()["offers"]]
    parts = list(OfferBudgetSlice.objects.filter(budget_id=milk.pk))
    assert all(part.money_left >= 0 for part in parts)
    assert sum(answered) == Decimal("1.20") - sum(part.money_left for part in parts) > 0
    assert OfferRedemption.objects.count() == len(answered) == sum(part.given_count for part in parts) - 3


def test_given_an_offer_once_per_member_then_the_members_second_basket_goes_without_it(offers, till, card):
    offers["bread"].per_member_limit = 1
    offer_services.save_offer(offers["bread"])

    first = post(till, "/baskets", basket(receipt="1", card=card)).json()
    second = post(till, "/baskets", basket(receipt="2", card=card)).json()

    assert "bread-50c" in [offer["code"] for offer in first["offers"]]
    assert "bread-50c" not in [offer["code"] for offer in second["offers"]]
    assert MemberOfferUse.objects.get(offer=offers["bread"]).uses == 1
    assert not MemberOfferUse.objects.filter(offer=offers["milk"]).exists()  # no limit: no use counted


def test_given_an_unknown_list_and_a_revoked_key_then_the_key_is_refused_first(offers, card):
    response = post(TillClient(headers={"X-API-Key": "revoked"}), "/baskets",
                    basket(card=card) | {"list_number": list_barcode(999)})
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


def test_given_an_offer_to_activate_when_the_member_clipped_it_in_the_portal_then_the_till_applies_it_and_not_before(
        programme_ready, tills, card):
    from clientele.offers.activation import activate_offer

    save_offer("milk-clip", product_ids=[MILK], benefit="amount_off", amount=Decimal("1.00"), requires_activation=True)
    before = post(tills, "/baskets", basket(receipt="before", card=card)).json()
    activate_offer(programme_ready, "milk-clip", TODAY)
    after = post(tills, "/baskets", basket(receipt="after", card=card)).json()
    anonymous = post(tills, "/baskets", basket(receipt="anonymous")).json()

    assert before["offers"] == [] and anonymous["offers"] == []
    assert [(offer["code"], offer["discount"]) for offer in after["offers"]] == [("milk-clip", "1.00")]
    assert after["discount_total"] == "1.00"
    assert OfferRedemption.objects.get().basket.receipt_number == "after"


@pytest.mark.parametrize("kind", ["member with offers", "member without offers", "anonymous", "replayed"])
def test_given_any_basket_when_the_hot_call_answers_then_its_json_is_the_schemas_own(offers, till, card, kind):
    from clientele.loyalty.api import BasketOut

    payload = {"member with offers": basket(card=card), "member without offers": basket(card=card, lines=[
        {"line_no": 1, "product_id": SHAMPOO, "quantity": "1", "unit_price": "4.00"}]),
        "anonymous": basket(), "replayed": basket(card=card)}[kind]
    if kind == "replayed":
        post(till, "/baskets", payload)
    response = post(till, "/baskets", payload)
    assert response.status_code == 200, response.json()

    # The answer encoded as it was made (decision 0120) is what validating it with the schema and
    # encoding that gives: no field missing, none more, each in the schema's form, in its order.
    assert response.content == BasketOut.model_validate_json(response.content).model_dump_json().encode()
    assert bool(response.json()["offers"]) == (kind != "member without offers")  # the milk offer is everyone's
