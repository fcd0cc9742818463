"""The marketers' offers API through HTTP: documented, refusing bad offers with stable codes."""

from __future__ import annotations

import pytest
from offer_builders import CEREAL_NATIONAL
from django.contrib.auth.models import User
from django.test import Client

from clientele.backoffice.services import add_user
from clientele.offers.models import Offer

OFFER = {"code": "cereal-50c", "name": "0.50 off national cereal", "target": "products",
         "product_ids": [CEREAL_NATIONAL], "benefit": "amount_off", "amount": "0.50", "funder": 69,
         "valid_from": "2026-12-01T00:00:00Z", "valid_until": "2026-12-15T00:00:00Z", "budget_money": "500.00"}


@pytest.fixture
def marketer(db) -> Client:
    """A back-office user of the marketer role (offers 0014 gives the role the offers)."""
    user = add_user("mia", "Secret-pass-42", "marketer")
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict, method: str = "post"):
    return getattr(client, method)(f"/api/offers{path}", body, content_type="application/json")


def test_a_marketer_creates_a_manufacturer_funded_offer_and_changes_it_as_a_new_version(marketer, catalogue, kellogg):
    created = post(marketer, "/offers", OFFER)
    assert created.status_code == 201, created.content
    assert created.json()["funder"] == 69 and created.json()["version"] == 1
    changed = post(marketer, "/offers/cereal-50c", OFFER | {"amount": "0.60"}, "put")
    assert changed.json()["version"] == 2
    versions = marketer.get("/api/offers/offers/cereal-50c/versions").json()
    assert [(v["version"], v["changed_by"]) for v in versions] == [(2, "mia"), (1, "mia")]


@pytest.mark.parametrize("change, status, code, field", [
    ({"benefit": "percent_off", "amount": None, "percent": "150"}, 422, "percent_out_of_range", "percent"),
    ({"valid_until": "2026-11-01T00:00:00Z"}, 422, "ends_before_start", "valid_until"),
    ({"product_ids": [CEREAL_NATIONAL, 999999]}, 422, "unknown_product", "product_ids"),
    ({"funder": 12345}, 404, "unknown_manufacturer", "funder"),
    ({"valid_from": "2026-12-01T00:00:00"}, 422, "invalid_request", "valid_from"),
])
def test_bad_offers_are_refused_with_a_problem_and_nothing_written(marketer, catalogue, kellogg, change, status,
                                                                    code, field):
    refused = post(marketer, "/offers", OFFER | change)
    assert refused.status_code == status
    assert (refused.json()["code"], refused.json()["field"]) == (code, field)
    assert not Offer.objects.exists()


def test_a_second_account_of_the_same_name_is_refused_naming_the_field(marketer, kellogg):
    # Found by the fuzz: the name is unique in the database, and PostgreSQL's refusal answered 500.
    refused = post(marketer, "/manufacturers", {"name": "Cereal Co", "manufacturer_id": 70})

    assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (409, "duplicate_manufacturer",
                                                                                     "name")


def test_a_second_offer_of_the_same_code_is_a_conflict_and_the_first_stays(marketer, catalogue, kellogg):
    assert post(marketer, "/offers", OFFER).status_code == 201

    refused = post(marketer, "/offers", OFFER | {"name": "Another name"})

    assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (409, "duplicate_offer", "code")
    assert list(Offer.objects.values_list("name", flat=True)) == [OFFER["name"]]


def test_only_a_marketer_reaches_the_offers_api(db, catalogue):
    assert Client().get("/api/offers/offers").status_code == 401
    clerk = Client()
    clerk.force_login(User.objects.create_user("clerk", password="x-long-password"))
    assert clerk.get("/api/offers/offers").status_code == 401


def test_a_call_without_a_session_or_a_write_without_its_csrf_token_is_refused_as_a_problem(db):
    unsigned = Client().get("/api/offers/offers")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(User.objects.create_superuser("mia", password="x-long-password"))
    forged = browser.post("/api/offers/manufacturers", {"name": "Cereal Co", "manufacturer_id": 69},
                          content_type="application/json")

    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "not_signed_in")
    assert (forged.status_code, forged.json()["code"], forged.json()["field"]) == (403, "csrf_failed", "X-CSRFToken")


def test_the_offers_api_is_documented(marketer):
    schema = marketer.get("/api/offers/openapi.json").json()
    assert {"/api/offers/offers", "/api/offers/offers/{code}/versions",
            "/api/offers/manufacturers/{number}/statement"} <= set(schema["paths"])


def test_the_back_office_creates_an_offer_as_one_version(catalogue, kellogg, admin_client):
    form = {"code": "soap", "name": "Soap 10%", "active": "on", "target": "category", "category": "SOAP",
            "benefit": "percent_off", "percent": "10", "funder": kellogg.pk, "valid_from_0": "2026-12-01",
            "valid_from_1": "00:00:00", "valid_until_0": "2026-12-15", "valid_until_1": "00:00:00",
            "eligibility": "everyone", "precedence": "100", "products": str(CEREAL_NATIONAL)}
    response = admin_client.post("/admin/offers/offer/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    offer = Offer.objects.get(code="soap")
    assert offer.history.count() == 1 and offer.spend.budget_money is None
    assert list(offer.products.values_list("product_id", flat=True)) == [CEREAL_NATIONAL]
