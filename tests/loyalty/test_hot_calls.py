"""The till's hot calls (identify, post a basket) answered in front of Django keep the documented contract."""

from __future__ import annotations

import http.client
import io
import json
import os
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.db import connections, transaction
from django.test import Client
from till_payloads import BREAD, TillClient, basket, minutes_ago

from clientele.barcodes import card_barcode
from clientele.loyalty import api
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import Basket, PointsEntry
from clientele.members.models import Card, Member
from clientele.site.wsgi import application

BASKET_REQUESTS = {
    "a member's basket": lambda card: basket(card=card),
    "an anonymous basket": lambda card: basket(),
    "an unknown card": lambda card: basket(card=card_barcode(999)),
    "an unknown product": lambda card: basket(card=card, lines=[{"line_no": 1, "product_id": 77, "quantity": "1",
                                                                 "unit_price": "1.00"}]),
    "a repeated line number": lambda card: basket(card=card, lines=[
        {"line_no": 1, "product_id": BREAD, "quantity": "1", "unit_price": "1.00"}] * 2),
    "another store": lambda card: basket(card=card, store_id=2),
    "a price that is not a number": lambda card: basket(card=card, lines=[
        {"line_no": 1, "product_id": BREAD, "quantity": "1", "unit_price": "x"}]),
    "too many decimals": lambda card: basket(card=card, lines=[
        {"line_no": 1, "product_id": BREAD, "quantity": "1", "unit_price": "1.001"}]),
    "no time zone": lambda card: basket(card=card, at=minutes_ago()[:19]),
    "no lines": lambda card: basket(card=card, lines=[]),
    "a missing receipt number": lambda card: {k: v for k, v in basket(card=card).items() if k != "receipt_number"},
    "a list, not an object": lambda card: [basket(card=card)],
    "an empty body": lambda card: "",
    "a body that is not JSON": lambda card: "{not json",
}

IDENTIFY_REQUESTS = {
    "a card": lambda card: {"card": card},
    "a phone": lambda card: {"phone": "+13125550100"},
    "a member number": lambda card: {"member_number": "42"},
    "nothing": lambda card: {},
    "an unknown card": lambda card: {"card": card_barcode(7)},
    "a blocked card": lambda card: {"card": card_barcode(42, 1)},
    "a barcode with letters": lambda card: {"card": "12ab"},
    "an empty card": lambda card: {"card": ""},
    "a member number that is not a number": lambda card: {"member_number": "x"},
    "a member number of zero": lambda card: {"member_number": "0"},
    "an unknown parameter": lambda card: {"card": card, "colour": "red"},
}


def answered_by(client: Client, send) -> tuple[int, dict]:
    """What the till gets, with every write undone afterwards (so both paths start from the same state)."""
    with transaction.atomic():
        response = send(client)
        transaction.set_rollback(True)
    return response.status_code, response.json()


@pytest.fixture
def blocked_card(member) -> str:
    Card.objects.create(barcode=card_barcode(42, 1), member=member, status=Card.Status.BLOCKED)
    return card_barcode(42, 1)


@pytest.fixture
def clients(store, other_store) -> tuple[Client, TillClient]:
    """Django's test client (the django-ninja routes) and the till's client (the hot calls), same key."""
    _, raw = issue_api_key(store, "till 1")
    return Client(headers={"X-API-Key": raw}), TillClient(headers={"X-API-Key": raw})


@pytest.mark.parametrize("request_name", BASKET_REQUESTS)
def test_given_any_basket_when_posted_then_the_hot_call_answers_as_the_documented_route(
        clients, programme_ready, card, request_name):
    payload = BASKET_REQUESTS[request_name](card)
    content = payload if isinstance(payload, str) else json.dumps(payload)

    def send(client):
        return client.post("/api/baskets", content, content_type="application/json")

    by_django, by_hot_call = (answered_by(client, send) for client in clients)

    assert by_hot_call == by_django
    assert by_hot_call[0] in (200, 400, 403, 404, 409, 422)


@pytest.mark.parametrize("request_name", BASKET_REQUESTS)
def test_given_a_revoked_key_when_any_basket_is_posted_then_invalid_api_key_and_nothing_recorded(
        store, programme_ready, card, request_name):
    key, raw = issue_api_key(store, "stolen till")
    key.revoked_at = key.created_at
    key.save()
    payload = BASKET_REQUESTS[request_name](card)
    content = payload if isinstance(payload, str) else json.dumps(payload)

    responses = [client.post("/api/baskets", content, content_type="application/json")
                 for client in (Client(headers={"X-API-Key": raw}), TillClient(headers={"X-API-Key": raw}))]

    assert [(r.status_code, r.json()) for r in responses] == [(401, api.INVALID_API_KEY)] * 2
    assert not Basket.objects.exists() and not PointsEntry.objects.filter(kind="points_earned").exists()


@pytest.mark.parametrize("request_name", IDENTIFY_REQUESTS)
def test_given_a_revoked_key_when_any_member_is_identified_then_invalid_api_key(
        store, programme_ready, card, blocked_card, request_name):
    key, raw = issue_api_key(store, "stolen till")
    key.revoked_at = key.created_at
    key.save()
    query = IDENTIFY_REQUESTS[request_name](card)

    responses = [client.get("/api/members/identify", query)
                 for client in (Client(headers={"X-API-Key": raw}), TillClient(headers={"X-API-Key": raw}))]

    assert [(r.status_code, r.json()) for r in responses] == [(401, api.INVALID_API_KEY)] * 2


@pytest.mark.parametrize("request_name", IDENTIFY_REQUESTS)
def test_given_any_identifier_when_identifying_then_the_hot_call_answers_as_the_documented_route(
        clients, programme_ready, card, blocked_card, request_name):
    query = IDENTIFY_REQUESTS[request_name](card)

    by_django, by_hot_call = (answered_by(client, lambda c: c.get("/api/members/identify", query)) for client in clients)

    assert by_hot_call == by_django
    assert by_hot_call[0] in (200, 404, 409, 422)


@pytest.mark.parametrize("header", [None, "", "clt_nope_nope"])
def test_given_no_valid_key_when_a_hot_call_is_made_then_invalid_api_key_even_for_a_bad_body(programme_ready, header):
    headers = {} if header is None else {"X-API-Key": header}

    responses = [TillClient(headers=headers).post("/api/baskets", "{not json", content_type="application/json"),
                 TillClient(headers=headers).get("/api/members/identify", {"card": "x"})]

    assert [(r.status_code, r.json()["code"]) for r in responses] == [(401, "invalid_api_key")] * 2


def test_given_a_host_the_site_does_not_serve_when_it_comes_for_a_hot_call_then_django_refuses_it(
        clients, programme_ready, card, settings):
    settings.ALLOWED_HOSTS = ["testserver"]

    responses = [client.post("/api/baskets", json.dumps(basket(card=card)), content_type="application/json",
                             HTTP_HOST="intruder.example") for client in clients]

    assert [response.status_code for response in responses] == [400, 400]
    assert not Basket.objects.exists()


def test_given_a_body_larger_than_the_limit_when_posted_then_both_paths_answer_413_with_the_problem(
        clients, programme_ready, card, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    responses = [client.post("/api/baskets", json.dumps(basket(card=card)), content_type="application/json")
                 for client in clients]

    assert [(response.status_code, response.json()) for response in responses] == [(413, api.too_large())] * 2
    assert not Basket.objects.exists()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(concurrent_db, monkeypatch):
    """The served application on a real HTTP port (one thread), and the paths Django answered."""
    to_django = []
    django_app = application.django_app

    def django_answering(environ, start_response):
        to_django.append(environ["PATH_INFO"])
        return django_app(environ, start_response)

    monkeypatch.setattr(application, "django_app", django_answering)
    server = make_server("127.0.0.1", 0, application, server_class=WSGIServer, handler_class=_QuietHandler)

    def serve() -> None:
        try:
            server.serve_forever()
        finally:
            connections.close_all()  # the serving thread's own connection

    thread = threading.Thread(target=serve)
    thread.start()
    yield server.server_port, to_django
    server.shutdown()
    thread.join()
    server.server_close()


def call(port: int, method: str, path: str, key: str, payload: dict | None = None) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = None if payload is None else json.dumps(payload)
    connection.request(method, path, body=body, headers={"X-API-Key": key, "Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.status, json.loads(response.read()), dict(response.getheaders())
    connection.close()
    return answer


def test_given_a_served_app_when_a_till_checks_out_then_the_hot_calls_answer_and_other_calls_reach_django(
        served, programme_ready, store, card):
    port, to_django = served
    key, raw = issue_api_key(store, "till 9")
    payload = basket(card=card)

    greeted = call(port, "GET", f"/api/members/identify?card={card}", raw)
    posted = call(port, "POST", "/api/baskets", raw, payload)
    replayed = call(port, "POST", "/api/baskets", raw, payload)
    returned = call(port, "POST", "/api/returns", raw, {"store_id": 1, "return_id": "R1", "original_store_id": 1,
                                                         "original_till_id": "T1", "original_receipt_number": "1001",
                                                         "lines": [{"line_no": 1, "quantity": "1"}]})

    assert greeted[:2] == (200, {"member_number": 42, "greeting_name": "Ada", "tier": None, "perks": [],
                                 "balance": {"available": 0, "pending": 0}, "offers": [], "messages": [],
                                 "top_categories": [], "context": None})
    assert greeted[2]["Content-Type"] == "application/json; charset=utf-8"
    assert posted[0] == 200 and posted[1]["points_earned"] == 8 and posted[1]["replayed"] is False
    assert replayed[0] == 200 and replayed[1] == posted[1] | {"replayed": True}
    assert returned[0] == 200 and returned[1]["points_reversed"] == 2  # half the bread: 5 points x 1/2, rounded down
    assert to_django == ["/api/returns"]
    assert Basket.objects.count() == 1
    entry = PointsEntry.objects.get(kind="points_earned")
    assert entry.actor == key.actor  # the ledger records which till caused it
    key.revoked_at = entry.created_at
    key.save()
    assert call(port, "GET", f"/api/members/identify?card={card}", raw)[:2] == (
        401, {"code": "invalid_api_key", "message": "missing, unknown or revoked API key", "field": "X-API-Key"})
    assert Member.objects.count() == 1


def test_given_the_served_app_when_a_developer_reads_the_schema_then_both_hot_calls_are_documented():
    paths = TillClient().get("/api/openapi.json").json()["paths"]

    identify, post_basket = paths["/api/members/identify"]["get"], paths["/api/baskets"]["post"]
    assert {parameter["name"] for parameter in identify["parameters"]} == {"card", "phone", "member_number"}
    assert post_basket["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BasketIn"}
    assert {"200", "401", "422"} <= set(identify["responses"]) & set(post_basket["responses"])


def test_given_a_receiver_of_the_request_signals_when_a_hot_call_is_served_then_it_hears_both(
        served, programme_ready, store, card):
    # Without receivers of their own the hot calls skip the signals' dispatch (only Django's
    # connection clean-up runs); one connected by a project (metrics, audit) still hears every call.
    from django.core.signals import request_finished, request_started

    port, _ = served
    _, raw = issue_api_key(store, "till 9")
    heard = []

    def started(sender, **kwargs):
        heard.append(("started", kwargs["environ"]["PATH_INFO"]))

    def finished(sender, **kwargs):
        heard.append(("finished", sender.__name__))

    assert call(port, "GET", f"/api/members/identify?card={card}", raw)[0] == 200
    request_started.connect(started)
    request_finished.connect(finished)
    try:
        assert call(port, "POST", "/api/baskets", raw, basket(card=card))[0] == 200
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert call(port, "GET", f"/api/members/identify?card={card}", raw)[0] == 200

    assert heard == [("started", "/api/baskets"), ("finished", "HotCalls")]


def test_given_a_server_worker_when_it_has_loaded_the_application_then_a_full_collection_does_not_walk_it():
    # A full garbage collection walking the ~100,000 objects of a loaded Django application
    # stops a worker's threads for tens of milliseconds: the worker freezes them once loaded.
    import subprocess
    import sys

    probe = ("import gc, time; import clientele.site.wsgi; "
             "print(gc.get_freeze_count(), len(gc.get_objects()))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            env=os.environ | {"DJANGO_SETTINGS_MODULE": "clientele.site.settings"})
    frozen, still_collected = loaded.stdout.split()
    assert int(frozen) > 20_000
    assert int(still_collected) < int(frozen) / 10


def _served_headers(environ: dict) -> tuple[str, dict[str, str]]:
    """The status line and headers the served application (`site.wsgi`) answers `environ` with."""
    answered = []
    body = b"".join(application(environ, lambda status, headers, exc_info=None: answered.append((status, headers))))
    status, headers = answered[0]
    return status, {name: value for name, value in headers if name != "Content-Length"} | {"body": body and "yes"}


@pytest.mark.parametrize("call", ["identify", "a basket", "a refused basket"])
def test_given_the_hot_calls_on_or_off_then_the_till_gets_the_same_status_and_headers(
        concurrent_db, programme_ready, card, store, settings, call):
    _, raw = issue_api_key(store, "till 1")
    settings.ALLOWED_HOSTS = ["testserver"]

    def environ(receipt: str) -> dict:
        body = json.dumps(basket(card=card, receipt=receipt) if call == "a basket" else basket(card=card, store_id=9))
        common = {"SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http",
                  "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_X_API_KEY": raw, "wsgi.errors": None}
        if call == "identify":
            return common | {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/members/identify", "QUERY_STRING": f"card={card}",
                             "wsgi.input": io.BytesIO(b"")}
        return common | {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/baskets", "QUERY_STRING": "",
                         "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
                         "wsgi.input": io.BytesIO(body.encode())}

    hot = _served_headers(environ("H1"))
    settings.CLIENTELE_HOT_CALLS = False
    django = _served_headers(environ("D1"))

    assert hot == django
    assert application.answer(environ("D2")) is None  # off: Django answered
