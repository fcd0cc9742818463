"""Schemathesis against the campaigns API's OpenAPI schema, from a marketer's browser: whatever it
sends, never a server error and never an answer outside the documented schema."""

from __future__ import annotations

import pytest
from api_fuzz import session_api_schema, signed_in_holding
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

schema = session_api_schema("/api/campaigns/openapi.json")


@pytest.fixture
def marketer(lake, members):
    """A marketer signed in, over a refreshed lake and its members."""
    with signed_in_holding("campaigns.change_campaign"):
        yield


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_given_any_request_the_schema_allows_or_not_then_the_campaigns_api_answers_without_a_server_error(
        case, marketer):
    # A schema-valid campaign can still be refused for what it says (an unknown segment: 422).
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
