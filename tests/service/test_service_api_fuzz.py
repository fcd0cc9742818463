"""Schemathesis against the service desk API's OpenAPI schema, from the browser of a desk worker
holding every role the calls ask (complaints, surveys, win-back): whatever it sends, never a server
error and never an answer outside the documented schema."""

from __future__ import annotations

import pytest
from api_fuzz import session_api_schema, signed_in
from desk_builders import person
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

schema = session_api_schema("/api/service/openapi.json")


@pytest.fixture
def desk_worker(ada, store, soap):
    """A service agent who may also run surveys and win-back calls, signed in, over a member, a
    store and a product."""
    with signed_in(person("sam", "service agent", "add_complaint", "add_survey", "change_winbackentry")):
        yield


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_given_any_request_the_schema_allows_or_not_then_the_service_api_answers_without_a_server_error(
        case, desk_worker):
    # A schema-valid complaint can still be refused for what it says (an unknown cause: 422).
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
