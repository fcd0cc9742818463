"""Schemathesis against the back-office API's OpenAPI schema, with an analyst's token: whatever an
integration sends, never a server error and never an answer outside the documented schema."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from api_fuzz import connection_kept_open
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from clientele.backoffice.services import add_user, issue_token
from clientele.catalog.models import Store
from clientele.members.models import Member
from clientele.site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/backoffice/openapi.json", application)
schema.config.generation.update(allow_extra_parameters=False)


@pytest.fixture
def analyst(db, home) -> dict[str, str]:
    """The headers of an analyst's integration, over a member of a store."""
    Store.objects.create(store_id=1)
    Member.objects.create(customer_id=42, first_name="Ada", last_name="Lovelace", email="ada@example.com",
                          join_date=date(2024, 1, 5), home_store_id=1)
    _, token = issue_token(add_user("ann", "Secret-pass-42", "analyst"), "integration")
    with connection_kept_open():
        yield {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_given_any_request_the_schema_allows_or_not_then_the_back_office_api_answers_without_a_server_error(
        case, analyst):
    case.call_and_validate(headers=analyst, excluded_checks=[positive_data_acceptance])
