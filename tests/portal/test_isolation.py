"""A member never sees another's data (issue 25, security): every route of the API and of the pages,
with the other member's ids put in the URL, answers only for the signed-in member (404 for anything
not theirs, as for what does not exist), and nothing answers without a live session."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import get_resolver

from clientele.barcodes import card_barcode
from clientele.loyalty.models import PointsEntry
from clientele.portal.api import api

JSON = "application/json"
BOBS_TRACES = ("bob@example.org", "+13125550111", card_barcode(43), '"member_number": 43', "Bob")
OPEN = {"/api/portal/sign-in", "/api/portal/sign-in/verify"}


@pytest.fixture
def bobs_things(bob_api, ada_api) -> dict:
    """Bob's review, complaint and ledger entry ids; Ada's own review, to tell 404 from 'no such id'
    (the complaint causes and service levels are the service desk's migration's)."""
    review = bob_api.post("/api/portal/reviews", {"product_id": 1001, "rating": 4, "text": "Bob's bread"},
                          content_type=JSON).json()
    complaint = bob_api.post("/api/portal/complaints", {
        "cause": "service", "what_happened": "Bob waited", "how_it_happened": "queue", "why_unhappy": "slow",
        "served_by": "till 2", "wanted_resolution": "an apology"}, content_type=JSON).json()
    mine = ada_api.post("/api/portal/reviews", {"product_id": 1002, "rating": 5, "text": "Ada's milk"},
                        content_type=JSON).json()
    return {"review_id": review["id"], "complaint_id": complaint["id"], "own_review": mine["id"],
            "entry": PointsEntry.objects.filter(account__member__customer_id=43).latest("id").pk}


def api_routes() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [(method.upper(), path) for path, methods in schema["paths"].items() for method in methods]


def with_ids(path: str, ids: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda found: str(ids.get(found.group(1), "coffee-clip")), path)


def test_every_api_route_but_signing_in_refuses_a_call_without_a_live_session(members):
    anonymous, forged = Client(), Client(headers={"Authorization": "Bearer not-a-token"})
    for method, path in api_routes():
        if path.rstrip("/") in OPEN:
            continue
        for client in (anonymous, forged):
            answer = client.generic(method, with_ids(path, {"review_id": 1, "complaint_id": 1}), "{}", content_type=JSON)
            assert answer.status_code == 401, (method, path)


def test_every_api_route_with_the_other_members_ids_answers_for_the_signed_in_member_only(ada_api, bobs_things):
    reading = [(m, p) for m, p in api_routes() if m == "GET"]
    assert {p for _, p in reading} >= {"/api/portal/reviews/{review_id}", "/api/portal/complaints/{complaint_id}",
                                       "/api/portal/account", "/api/portal/account/entries"}
    for method, path in reading:
        answer = ada_api.get(with_ids(path, bobs_things), {"before": bobs_things["entry"]})
        if "{" in path:
            assert answer.status_code == 404, path  # Bob's review, Bob's complaint
        else:
            text = answer.content.decode()
            assert answer.status_code in (200, 404), (path, text)
            assert not any(trace in text for trace in BOBS_TRACES), path
    assert ada_api.get(f"/api/portal/reviews/{bobs_things['own_review']}").status_code == 200
    assert ada_api.get("/api/portal/account/entries", {"before": bobs_things["entry"]}).json() == []


def test_writing_calls_act_on_the_signed_in_member_whatever_ids_the_payload_carries(ada_api, bobs_things):
    ada_api.put("/api/portal/consents", {"purpose": "marketing", "channel": "sms", "granted": True,
                                         "member_number": 43}, content_type=JSON)
    ada_api.post("/api/portal/privacy/erasure", {"reason": "x", "customer_id": 43}, content_type=JSON)

    from clientele.privacy.models import ConsentEvent, ErasureRequest

    assert set(ConsentEvent.objects.filter(recorded_by__startswith="portal").values_list("member__customer_id",
                                                                                        flat=True)) == {42}
    assert list(ErasureRequest.objects.values_list("customer_id", flat=True)) == [42]


def page_routes() -> list[str]:
    patterns = get_resolver().url_patterns
    portal = next(p for p in patterns if getattr(p, "namespace", None) == "portal")
    return ["/portal/" + str(p.pattern) for p in portal.url_patterns]


def test_every_page_with_the_other_members_ids_shows_the_signed_in_members_data_only(members, mailbox, bobs_things):
    from portal_helpers import Mailbox  # noqa: F401  (the mailbox fixture receives Ada's code)

    client = Client()
    client.post("/portal/sign-in/", {"identifier": "ada@example.org"})
    client.post("/portal/sign-in/code/", {"code": mailbox.last_code("ada@example.org")})
    routes = page_routes()
    assert "/portal/reviews/<int:review_id>/" in routes and "/portal/complaints/<int:complaint_id>/" in routes
    for route in routes:
        url = re.sub(r"<\w+:(\w+)>", lambda found: str(bobs_things.get(found.group(1), "coffee-clip")), route)
        answer = client.get(url, follow=True)
        text = answer.content.decode()
        if "review_id" in route or "complaint_id" in route:
            assert answer.status_code == 404, route
        assert not any(trace in text for trace in BOBS_TRACES + ("Bob's bread", "Bob waited")), route
    assert "Ada&#x27;s milk" in client.get(f"/portal/reviews/{bobs_things['own_review']}/").content.decode()


def test_no_page_shows_anything_but_the_sign_in_without_a_session(members):
    anonymous = Client()
    for route in page_routes():
        url = re.sub(r"<\w+:\w+>", "1", route)
        answer = anonymous.get(url)
        if route.startswith("/portal/sign-in/"):
            continue  # the sign-in form (the code's form sends back to it without a code asked)
        assert answer.status_code in (302, 405), route
        if answer.status_code == 302:
            assert answer["Location"] in ("/portal/sign-in/", "/portal/account/", "/portal/sign-in/code/"), route
