"""The defects a hostile probe found at the till (issue 16), each answered as a till relies on."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connections
from django.test import Client
from till_payloads import TillClient, basket, post

from clientele.barcodes import card_barcode
from clientele.loyalty import api
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import Basket, BasketReturn, PointsEntry, Programme, Redemption, ReturnLine
from clientele.members.models import Card, Member

from test_concurrency import run_together
from test_returns_and_redemptions import give_points, return_of


def test_given_a_basket_timed_at_a_tills_clock_zero_then_422_on_both_paths_and_nothing_recorded(
        store, programme_ready, card):
    _, raw = issue_api_key(store, "till 1")
    body = json.dumps(basket(card=card) | {"transacted_at": "0001-01-01T00:01:00Z"})  # found by schemathesis: a 500
    responses = [client.post("/api/baskets", body, content_type="application/json")
                 for client in (Client(headers={"X-API-Key": raw}), TillClient(headers={"X-API-Key": raw}))]

    assert [r.status_code for r in responses] == [422, 422], responses[1].content
    assert not Basket.objects.exists()


def test_given_till_and_receipt_ids_with_slashes_when_both_baskets_are_posted_then_both_are_credited(
        till, programme_ready, card):
    first = post(till, "/baskets", basket(card=card, till_id="P/X", receipt="1"))
    second = post(till, "/baskets", basket(card=card, till_id="P", receipt="X/1"))

    assert [first.status_code, second.status_code] == [200, 200], second.content
    assert [first.json()["replayed"], second.json()["replayed"]] == [False, False]
    assert PointsEntry.objects.filter(kind="points_earned").count() == 2


def test_given_a_till_id_of_64_characters_when_a_basket_is_posted_then_it_is_recorded(till, programme_ready, card):
    response = post(till, "/baskets", basket(card=card, till_id="T" * 64))

    assert response.status_code == 200, response.content
    assert Basket.objects.get().till_id == "T" * 64


def _longest(schema: dict) -> int | None:
    """The longest string a field's JSON schema accepts: its maxLength, or the bound of a pattern
    such as ^[...]{1,64}$ (None when it has neither)."""
    for option in schema.get("anyOf", [schema]):
        if "maxLength" in option:
            return option["maxLength"]
        bound = re.search(r"\{\d+,(\d+)\}\$$", option.get("pattern", ""))
        if bound:
            return int(bound.group(1))
    return None


#: Where the till API stores each text it accepts: (request schema, field) -> (model, column),
#: and the idempotency keys built from them (their longest form against their column).
STORED = {
    (api.BasketIn, "till_id"): (Basket, "till_id"),
    (api.BasketIn, "receipt_number"): (Basket, "receipt_number"),
    (api.BasketIn, "card"): (Card, "barcode"),
    (api.EnrolmentIn, "first_name"): (Member, "first_name"),
    (api.EnrolmentIn, "last_name"): (Member, "last_name"),
    (api.EnrolmentIn, "email"): (Member, "email"),
    (api.EnrolmentIn, "phone"): (Member, "phone"),
    (api.EnrolmentIn, "card"): (Card, "barcode"),
    (api.CardReplacementIn, "new_card"): (Card, "barcode"),
}


@pytest.mark.parametrize(("schema", "name"), STORED)
def test_given_the_longest_text_the_api_accepts_then_its_column_holds_it(schema, name):
    model, column = STORED[(schema, name)]
    accepted = _longest(schema.model_json_schema()["properties"][name])

    assert accepted is not None, f"{schema.__name__}.{name} accepts text of any length"
    assert accepted <= model._meta.get_field(column).max_length


def test_given_the_longest_ids_the_api_accepts_then_every_key_made_of_them_fits_its_column():
    from clientele.loyalty.models import TillRequest

    longest_id = "x" * _longest(api.ReturnIn.model_json_schema()["properties"]["return_id"])
    largest_store = 2**63 - 1
    keys = {  # as returns, redemptions, enrolments and card replacements make them
        (BasketReturn, "return_key"): f"return:{largest_store}:{longest_id}",
        (Redemption, "redemption_key"): f"redeem:{largest_store}:{longest_id}",
        (PointsEntry, "idempotency_key"): f"bonus:review_written:{longest_id}",
        (TillRequest, "key"): f"{largest_store}:{longest_id}",
    }
    for (model, column), key in keys.items():
        assert len(key) <= model._meta.get_field(column).max_length, (model.__name__, column)


def test_given_a_deeply_nested_body_when_posted_on_any_call_then_every_path_answers_the_same_400(
        store, programme_ready, card):
    _, raw = issue_api_key(store, "till 1")
    nested = "[" * 100_000 + "]" * 100_000
    responses = [client.post(f"/api{path}", nested, content_type="application/json")
                 for client in (Client(headers={"X-API-Key": raw}), TillClient(headers={"X-API-Key": raw}))
                 for path in ("/baskets", "/returns", "/redemptions", "/members")]

    assert [(r.status_code, r.json()) for r in responses] == [(400, api.UNREADABLE_BODY)] * 8


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_given_a_basket_not_sent_as_json_when_posted_then_415_with_the_problem_on_both_paths(
        store, programme_ready, card, content_type):
    _, raw = issue_api_key(store, "till 1")
    body = json.dumps(basket(card=card))
    responses = [client.generic("POST", "/api/baskets", body, content_type=content_type)
                 for client in (Client(headers={"X-API-Key": raw}), TillClient(headers={"X-API-Key": raw}))]

    assert [(r.status_code, r.json()) for r in responses] == [(415, api.NOT_JSON)] * 2
    assert not Basket.objects.exists()


def test_given_a_redemption_id_reused_for_another_member_or_amount_then_it_is_refused_and_nothing_is_taken(
        till, programme_ready, card):
    other = Member.objects.create(customer_id=43, first_name="Bob", join_date=programme_ready.join_date)
    Card.objects.create(barcode=card_barcode(43), member=other)
    give_points(programme_ready, 500)
    give_points(other, 500)
    first = post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1", "card": card, "amount": "1.00"})

    for reused in ({"card": card_barcode(43), "amount": "1.00"}, {"card": card, "amount": "2.00"}):
        response = post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1"} | reused)
        assert (response.status_code, response.json()["code"], response.json()["field"]) == (
            409, "request_reused", "redemption_id")
    again = post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1", "card": card, "amount": "1.00"})

    assert again.json() == first.json() | {"replayed": True}
    assert till.get("/api/members/identify", {"card": card_barcode(43)}).json()["balance"]["available"] == 500
    assert Redemption.objects.count() == 1


def test_given_a_return_id_reused_for_another_line_then_it_is_refused_and_nothing_is_reversed(
        till, programme_ready, card):
    post(till, "/baskets", basket(card=card))
    first = post(till, "/returns", return_of({1: "1"}))

    reused = post(till, "/returns", return_of({2: "1"}))
    again = post(till, "/returns", return_of({1: "1"}))

    assert (reused.status_code, reused.json()["code"], reused.json()["field"]) == (409, "request_reused", "return_id")
    assert again.json() == first.json() | {"replayed": True}
    assert PointsEntry.objects.filter(kind="points_reversed").count() == 1


def test_given_an_enrolment_sent_again_then_the_first_answers_and_another_request_under_its_id_is_refused(
        till, store):
    enrolment = {"store_id": 1, "first_name": "Grace", "enrolment_id": "E1"}
    first = post(till, "/members", enrolment)
    again = post(till, "/members", enrolment)
    reused = post(till, "/members", enrolment | {"first_name": "Alan"})

    assert again.json() == first.json() | {"replayed": True}
    assert (reused.status_code, reused.json()["code"]) == (409, "request_reused")
    assert Member.objects.count() == 1


def test_given_a_pre_printed_card_enrolled_twice_then_the_replay_answers_the_first_and_another_person_is_refused(
        till, store):
    enrolment = {"store_id": 1, "first_name": "Grace", "card": card_barcode(900_000_001, 5)}
    first = post(till, "/members", enrolment)
    again = post(till, "/members", enrolment)
    other = post(till, "/members", enrolment | {"first_name": "Alan"})

    assert again.json() == first.json() | {"replayed": True}
    assert (other.status_code, other.json()["code"]) == (409, "card_in_use")


def test_given_a_card_replacement_sent_again_then_the_first_answers_and_another_new_card_is_refused(till, member, card):
    first = post(till, f"/cards/{card}/replace", {})
    again = post(till, f"/cards/{card}/replace", {})
    reused = post(till, f"/cards/{card}/replace", {"new_card": card_barcode(900_000_001, 5)})

    assert (first.status_code, again.json()) == (200, first.json() | {"replayed": True})
    assert (reused.status_code, reused.json()["code"]) == (409, "request_reused")
    assert Card.objects.filter(member=member).count() == 2


def test_given_a_review_reused_for_another_member_then_it_is_refused(till, programme_ready, card):
    from clientele.loyalty.models import EarningRule

    EarningRule.objects.create(name="Review", kind="action_bonus", action="review_written", bonus_points=50)
    other = Member.objects.create(customer_id=43, first_name="Bob", join_date=programme_ready.join_date)
    Card.objects.create(barcode=card_barcode(43), member=other)
    first = post(till, "/bonuses/review-written", {"store_id": 1, "card": card, "review_id": "RV1"})

    reused = post(till, "/bonuses/review-written", {"store_id": 1, "card": card_barcode(43), "review_id": "RV1"})

    assert first.status_code == 200, first.content
    assert (reused.status_code, reused.json()["code"]) == (409, "reference_reused")


def test_given_reduce_refund_when_spent_points_come_back_then_answer_stored_return_and_ledger_agree(
        programme_ready, card, till):
    Programme.objects.update_or_create(pk=1, defaults={"return_window_days": 0, "negative_balance_policy": "reduce_refund"})
    post(till, "/baskets", basket(card=card))  # 8 points, available at once
    post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1", "card": card, "amount": "0.05"})  # 5 spent

    body = post(till, "/returns", return_of({1: "2", 2: "1"})).json()

    reversed_in_ledger = -sum(PointsEntry.objects.filter(kind="points_reversed").values_list("amount", flat=True))
    stored = BasketReturn.objects.get()
    assert (body["points_reversed"], stored.points_reversed, reversed_in_ledger) == (3, 3, 3)
    assert sum(ReturnLine.objects.values_list("points_reversed", flat=True)) == 3
    assert (body["refund_reduction"], body["refund_due"]) == ("0.05", "7.95")


def test_given_sixteen_tills_enrolling_at_once_then_every_enrolment_gets_its_own_number(concurrent_db, store):
    _, raw = issue_api_key(store, "till 1")

    def enrol(n: int):
        return lambda: post(TillClient(headers={"X-API-Key": raw}), "/members", {"store_id": 1, "first_name": f"M{n}"})

    responses = run_together([enrol(n) for n in range(16)])

    assert [r.status_code for r in responses] == [201] * 16, [r.content for r in responses if r.status_code != 201]
    assert len({r.json()["member_number"] for r in responses}) == 16


@contextmanager
def _out_of_reach():
    """The database moved out of reach (PostgreSQL: a port that refuses; SQLite: a file that cannot
    be opened), put back afterwards."""
    db = connections["default"]
    kept = dict(db.settings_dict)
    db.close()
    if db.vendor == "postgresql":
        db.settings_dict["PORT"] = "1"
    else:
        db.settings_dict["NAME"] = "/nonexistent/folder/clientele.sqlite3"
    try:
        yield
    finally:
        db.close()
        db.settings_dict.clear()
        db.settings_dict.update(kept)


@pytest.mark.parametrize("path", ["/baskets", "/returns", "/redemptions", "/members"])
def test_given_the_database_out_of_reach_when_a_till_calls_then_503_retry_after_and_the_problem(
        concurrent_db, programme_ready, path, store, card):
    _, raw = issue_api_key(store, "till 1")
    payloads = {"/baskets": basket(card=card), "/returns": return_of({1: "1"}),
                "/redemptions": {"store_id": 1, "redemption_id": "P1", "card": card, "amount": "1.00"},
                "/members": {"store_id": 1, "first_name": "Grace"}}
    clients = (Client(headers={"X-API-Key": raw}), TillClient(headers={"X-API-Key": raw}))

    with _out_of_reach():
        responses = [post(client, path, payloads[path]) for client in clients]

    assert [(r.status_code, r.headers.get("Retry-After"), r.json()) for r in responses] == [
        (503, "5", api.UNAVAILABLE)] * 2


def test_given_the_connection_lost_in_the_middle_of_a_checkout_then_503_and_the_replay_records_it_once(
        concurrent_db, programme_ready, store, card, monkeypatch):
    if connections["default"].vendor != "postgresql":
        pytest.skip("a server connection to lose is PostgreSQL's; SQLite's out-of-reach case is tested above")
    from clientele.loyalty import checkout

    real = checkout.credit_basket

    def connection_lost(*args, **kwargs):
        # The server ends this checkout's connection (as a restart does) just before its write.
        with psycopg.connect(_url(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [connections["default"].connection.info.backend_pid])
        return real(*args, **kwargs)

    _, raw = issue_api_key(store, "till 1")
    payload = basket(card=card)
    monkeypatch.setattr(checkout, "credit_basket", connection_lost)
    lost = post(TillClient(headers={"X-API-Key": raw}), "/baskets", payload)
    monkeypatch.undo()
    queued = post(TillClient(headers={"X-API-Key": raw}), "/baskets", payload)  # the till sends it again

    assert (lost.status_code, lost.headers.get("Retry-After"), lost.json()) == (503, "5", api.UNAVAILABLE)
    assert (queued.status_code, queued.json()["replayed"], queued.json()["points_earned"]) == (200, False, 8)
    assert PointsEntry.objects.filter(kind="points_earned").count() == 1


def _url() -> str:
    settings = connections["default"].settings_dict
    return f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
