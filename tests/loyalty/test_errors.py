"""Every refusal has its own stable code, a 4xx status and the field at fault; never a 500."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from till_payloads import BREAD, TillClient, basket, post

from clientele.barcodes import card_barcode
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import Basket, Reward
from clientele.members.models import Card, Member


def line(**changes) -> list[dict]:
    return [{"line_no": 1, "product_id": BREAD, "quantity": "1", "unit_price": "2.00"} | changes]


def in_minutes(minutes: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def blocked_card(member) -> str:
    barcode = card_barcode(42, 1)
    Card.objects.create(barcode=barcode, member=member, status=Card.Status.BLOCKED)
    return barcode


BASKET_REFUSALS = {
    "unknown_card": (404, "card", lambda card, blocked: basket(card=card_barcode(999))),
    "blocked_card": (409, "card", lambda card, blocked: basket(card=blocked)),
    "unknown_product": (422, "lines[0].product_id", lambda card, blocked: basket(card=card, lines=line(product_id=77))),
    "negative_quantity": (422, "lines[0].quantity", lambda card, blocked: basket(card=card, lines=line(quantity="-1"))),
    "basket_from_future": (422, "transacted_at", lambda card, blocked: basket(card=card, at=in_minutes(60))),
    "basket_too_old": (422, "transacted_at", lambda card, blocked: basket(card=card, at=in_minutes(-60 * 24 * 500))),
    "store_not_allowed": (403, "store_id", lambda card, blocked: basket(card=card, store_id=2)),
    "invalid_amount": (422, "lines[0].discount", lambda card, blocked: basket(card=card, lines=line(discount="5.00"))),
    "invalid_request": (422, "lines.0.unit_price", lambda card, blocked: basket(card=card, lines=line(unit_price="x"))),
}


@pytest.mark.parametrize("code", BASKET_REFUSALS)
def test_given_a_bad_basket_when_posted_then_it_is_refused_with_its_code_and_field(
        code, till, programme_ready, other_store, card, blocked_card):
    status, field, build = BASKET_REFUSALS[code]

    response = post(till, "/baskets", build(card, blocked_card))

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert response.json()["message"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"store_id": True}, "store_id"),  # read as store 1, this till's own store, before
    ({"member_number": True}, "member_number"),
    ({"lines": line(line_no=True)}, "lines.0.line_no"),
    ({"lines": line(product_id=False)}, "lines.0.product_id"),
])
def test_given_true_or_false_where_a_number_is_asked_when_posted_then_refused_not_read_as_1_or_0(
        till, programme_ready, card, changes, field):
    response = post(till, "/baskets", basket(card=card) | changes)

    assert (response.status_code, response.json()["code"]) == (422, "invalid_request"), response.content
    assert field in response.json()["field"]
    assert Basket.objects.count() == 0


def test_given_a_time_sent_as_a_number_when_posted_then_it_is_refused_not_read_as_seconds_since_1970(
        till, programme_ready, card):
    # A till whose clock sends a number (1765000000) would have its basket dated silently.
    payload = basket(card=card) | {"transacted_at": int(datetime.now(timezone.utc).timestamp()) - 60}

    response = post(till, "/baskets", payload)

    assert response.status_code == 422, response.content
    assert (response.json()["code"], response.json()["field"]) == ("invalid_request", "transacted_at")


@pytest.mark.parametrize("header", [None, "clt_nope_nope"])
def test_given_no_valid_key_when_a_till_calls_then_invalid_api_key(programme_ready, header):
    client = TillClient(headers={"X-API-Key": header} if header else {})

    response = post(client, "/baskets", basket())

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_given_a_revoked_key_when_used_then_invalid_api_key(programme_ready, store):
    key, raw = issue_api_key(store, "stolen till")
    key.revoked_at = datetime.now(timezone.utc)
    key.save()

    response = post(TillClient(headers={"X-API-Key": raw}), "/baskets", basket())

    assert response.status_code == 401


@pytest.mark.parametrize(("query", "status", "code"), [
    ({}, 422, "missing_identifier"),
    ({"card": card_barcode(7)}, 404, "unknown_card"),
    ({"member_number": 7}, 404, "unknown_member"),
    ({"phone": "+10000000000"}, 404, "unknown_member"),
    ({"phone": "+13125550100"}, 409, "ambiguous_phone"),
])
def test_given_an_identifier_that_finds_no_single_member_when_identifying_then_its_code(till, member, query, status, code):
    Member.objects.create(customer_id=43, phone="+13125550100", join_date=member.join_date)

    response = till.get("/api/members/identify", query)

    assert (response.status_code, response.json()["code"]) == (status, code)


def test_given_an_unknown_basket_when_returning_then_unknown_basket(till, programme_ready):
    response = post(till, "/returns", {"store_id": 1, "return_id": "R1", "original_store_id": 1,
                                       "original_till_id": "T1", "original_receipt_number": "404",
                                       "lines": [{"line_no": 1, "quantity": "1"}]})

    assert (response.status_code, response.json()["code"]) == (404, "unknown_basket")


def test_given_a_basket_when_more_is_returned_than_bought_then_return_exceeds_purchase(till, programme_ready, card):
    post(till, "/baskets", basket(card=card))

    response = post(till, "/returns", {"store_id": 1, "return_id": "R1", "original_store_id": 1,
                                       "original_till_id": "T1", "original_receipt_number": "1001",
                                       "lines": [{"line_no": 1, "quantity": "3"}]})

    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        422, "return_exceeds_purchase", "lines[1].quantity")


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({"reward_code": "NOPE"}, 404, "unknown_reward"),
    ({"reward_code": "SOLD-OUT"}, 409, "reward_unavailable"),
    ({"reward_code": "MUG"}, 409, "insufficient_points"),
    ({"amount": "0.001"}, 422, "invalid_request"),
    ({"amount": "0.00"}, 422, "invalid_amount"),
    ({}, 422, "invalid_amount"),
])
def test_given_a_redemption_that_cannot_be_served_then_its_code(till, programme_ready, card, payload, status, code):
    Reward.objects.create(code="MUG", name="Mug", points_price=500)
    Reward.objects.create(code="SOLD-OUT", name="Tote bag", points_price=1, stock=0)

    response = post(till, "/redemptions", {"store_id": 1, "redemption_id": "X1", "card": card} | payload)

    assert (response.status_code, response.json()["code"]) == (status, code), response.content


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({"card": "1234567890123"}, 422, "invalid_card"),
    ({"card": card_barcode(42)}, 409, "card_in_use"),
    ({"referrer_member_number": 999}, 404, "unknown_member"),
    ({"store_id": 2}, 403, "store_not_allowed"),
    ({"store_id": False}, 422, "invalid_request"),  # JSON's false is not store 0 (found by the API fuzz test)
])
def test_given_a_bad_enrolment_then_its_code(till, member, other_store, payload, status, code):
    response = post(till, "/members", {"store_id": 1, "first_name": "Grace"} | payload)

    assert (response.status_code, response.json()["code"]) == (status, code), response.content


def test_given_a_blocked_card_when_replaced_again_then_blocked_card(till, member, blocked_card):
    response = post(till, f"/cards/{blocked_card}/replace", {})

    assert (response.status_code, response.json()["code"]) == (409, "blocked_card")
