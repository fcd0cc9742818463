"""What any API takes is what the database stores: a NUL (which PostgreSQL cannot store) or, in a
single line, a control character is refused with a 422 naming the field, in a body, a query string
or a path, and so is a number larger than the database's integers; never a 500."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from ninja import NinjaAPI

from clientele.backoffice.services import add_user, issue_token
from clientele.site import urls

#: String formats whose parsing refuses any control character.
PARSED_FORMATS = {"date", "date-time", "time", "uuid"}


def unbounded_inputs(schema: dict, components: dict, where: str):
    """The places under `schema` where a value the database cannot store would pass validation: a
    string open to a NUL, an integer without a maximum."""
    if "$ref" in schema:
        yield from unbounded_inputs(components[schema["$ref"].rsplit("/", 1)[1]], components, where)
        return
    if schema.get("type") == "integer" and "maximum" not in schema and "exclusiveMaximum" not in schema:
        yield where
    alternatives = schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", [])
    if any(alternative.get("type") == "number" for alternative in alternatives):
        return  # a Decimal, sent as a number or a string of digits: parsed, never stored as text
    if (schema.get("type") == "string" and "enum" not in schema and "const" not in schema
            and schema.get("format") not in PARSED_FORMATS):
        pattern = schema.get("pattern")
        if pattern is None or re.search(pattern, "a\x00b") or re.search(pattern, "\x00"):
            yield where
    if isinstance(schema.get("additionalProperties"), dict):
        yield f"{where} keys"  # a `dict[str, ...]`: its keys are text too
    for alternative in alternatives:
        yield from unbounded_inputs(alternative, components, where)
    for name, child in schema.get("properties", {}).items():
        yield from unbounded_inputs(child, components, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from unbounded_inputs(schema[key], components, f"{where}.{key}")
    for child in schema.get("patternProperties", {}).values():
        yield from unbounded_inputs(child, components, f"{where} values")


def inputs_the_database_may_refuse(api: NinjaAPI) -> list[str]:
    document = api.get_openapi_schema()
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "path"):
                    found += unbounded_inputs(parameter["schema"], components,
                                                   f"{method} {path} {parameter['in']} {parameter['name']}")
            for body in operation.get("requestBody", {}).get("content", {}).values():
                found += unbounded_inputs(body["schema"], components, f"{method} {path} body")
    return found


@pytest.mark.parametrize("api", [value for value in vars(urls).values() if isinstance(value, NinjaAPI)],
                         ids=lambda api: api.title)
def test_every_text_and_number_an_api_takes_is_bounded_as_the_database_stores_it(api):
    # A plain `str` lets a NUL through to the database, a plain `int` a number larger than its
    # integers: type them with clientele.api_inputs (line, prose, Code, Number, Count; decision 0104).
    assert inputs_the_database_may_refuse(api) == []


@pytest.fixture
def marketer(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("mia", password="x-long-password"))
    return client


OFFER = {"code": "soap", "target": "basket", "benefit": "bonus_points", "bonus_points": 10,
         "valid_from": "2026-12-01T00:00:00Z", "valid_until": "2026-12-15T00:00:00Z"}
WEEK = {"opens_at": "2026-12-01T00:00:00Z", "closes_at": "2026-12-08T00:00:00Z"}


@pytest.mark.parametrize("method, path, body, field", [
    ("post", "/api/offers/offers", OFFER | {"name": "Soap\x00"}, "name"),
    ("get", "/api/offers/offers/soap%00", None, "code"),
    ("post", "/api/offers/manufacturers", {"name": "Cereal\x1fCo", "manufacturer_id": 1}, "name"),
    ("patch", "/api/campaigns/campaigns/1", {"audience": "at_risk\x00"}, "audience"),
    ("post", "/api/campaigns/campaigns/from-playbook", {"playbook": "x", "owner": "mia\nsue"}, "owner"),
    ("post", "/api/service/complaints/1/status", {"status": "acknowledged", "note": "late\x00"}, "note"),
    ("get", "/api/service/complaints?queue=desk%00", None, "queue"),
    ("post", "/api/service/surveys", WEEK | {"code": "s", "title": "Service", "attributes": {"qual\x00ity": 1}},
     "attributes"),
    ("post", "/api/service/answers/tok%00en", {"overall": 5, "ratings": {}}, "token"),
])
def test_a_nul_or_a_control_character_in_a_line_is_refused_with_its_field(marketer, method, path, body, field):
    answer = getattr(marketer, method)(path, body, content_type="application/json") if body else marketer.get(path)

    assert answer.status_code == 422, answer.content
    assert answer.json()["field"].startswith(field)


def test_a_search_with_a_nul_is_refused_with_its_parameter(db, client):
    _, token = issue_token(add_user("ann", "Secret-pass-42", "analyst"), "integration")

    answer = client.get("/api/backoffice/members", {"q": "Love\x00lace"}, headers={"Authorization": f"Bearer {token}"})

    assert (answer.status_code, answer.json()["field"]) == (422, "q")


def test_a_number_larger_than_the_databases_integers_is_refused_with_its_field(marketer):
    # Found by the fuzz: SQLite cannot bind it, and answered 500.
    answer = marketer.post("/api/offers/manufacturers", {"name": "Cereal Co", "manufacturer_id": 2**64},
                           content_type="application/json")

    assert (answer.status_code, answer.json()["field"]) == (422, "manufacturer_id")


def test_prose_keeps_its_line_breaks(marketer):
    answer = marketer.post("/api/service/complaints/999/status", {"status": "acknowledged", "note": "Called.\nLeft."},
                           content_type="application/json")

    assert (answer.status_code, answer.json()["code"]) == (404, "unknown_complaint")


@pytest.mark.parametrize("method, path, body, field", [
    ("post", "/api/offers/offers", OFFER | {"name": "Soap", "valid_from": 1764547200}, "valid_from"),
    ("post", "/api/offers/offers", OFFER | {"name": "Soap", "valid_until": "1765756800"}, "valid_until"),
    ("get", "/api/offers/manufacturers/1/statement?start=0&end=2026-12-31T00:00:00Z", None, "start"),
])
def test_a_moment_sent_as_a_number_is_refused_not_read_as_seconds_since_1970(marketer, method, path, body, field):
    answer = getattr(marketer, method)(path, body, content_type="application/json") if body else marketer.get(path)

    assert answer.status_code == 422, answer.content
    assert answer.json()["field"].startswith(field)
