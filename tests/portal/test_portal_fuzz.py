"""Schemathesis against the member API's OpenAPI schema, signed in as a member: whatever an app
sends, never a server error and never an answer outside the documented schema."""

from __future__ import annotations

import pytest
import schemathesis
from api_fuzz import connection_kept_open
from django.test import Client
from hypothesis import HealthCheck, settings
from portal_helpers import api_sign_in
from schemathesis.specs.openapi.checks import positive_data_acceptance

from clientele.site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/portal/openapi.json", application)
schema.config.generation.update(allow_extra_parameters=False)


@pytest.fixture
def token(members, mailbox) -> str:
    """Ada's session token; the WSGI handler keeps the test's connection open."""
    signed_in = api_sign_in(Client(), "ada@example.org", mailbox, "ada@example.org")
    with connection_kept_open():
        yield signed_in


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_given_any_request_the_schema_allows_or_not_then_the_member_api_answers_without_a_server_error(case, token):
    # A schema-valid request can still be refused for what it says (an unknown product: 422).
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=[positive_data_acceptance])
