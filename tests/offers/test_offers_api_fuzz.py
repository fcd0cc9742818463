"""Schemathesis against the offers API's OpenAPI schema, from a marketer's browser: whatever it
sends, never a server error and never an answer outside the documented schema."""

from __future__ import annotations

import pytest
from api_fuzz import session_api_schema, signed_in_holding
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

schema = session_api_schema("/api/offers/openapi.json")


@pytest.fixture
def marketer(catalogue, kellogg):
    """A marketer signed in, over the offers' catalogue and a manufacturer's account."""
    with signed_in_holding("offers.change_offer"):
        yield


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_given_any_request_the_schema_allows_or_not_then_the_offers_api_answers_without_a_server_error(case, marketer):
    # A schema-valid offer can still be refused for what it says (an unknown product: 422).
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
