"""Schemathesis against the till API's OpenAPI schema: whatever a till sends, never a server error."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from api_fuzz import connection_kept_open
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from clientele.barcodes import card_barcode
from clientele.catalog.models import Product, Store
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import EarningRule, Reward
from clientele.members.models import Card, Member
from clientele.site.wsgi import application

# The application gunicorn serves: the hot calls (identify, baskets) in front of Django, the rest by Django.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
# Parameters the schema does not declare are ignored, as HTTP APIs do: a request that adds one is
# not invalid data to refuse (schemathesis took `?=null` beside a valid card for a schema violation).
schema.config.generation.update(allow_extra_parameters=False)


@pytest.fixture
def till_key(db) -> str:
    """A store with products, a rule, a reward and a member, and a till key of that store."""
    store = Store.objects.create(store_id=0)
    Product.objects.bulk_create([Product(product_id=n, department="GROCERY") for n in range(3)])
    EarningRule.objects.create(name="base", kind="base", points_per_unit=Decimal("1"))
    Reward.objects.create(code="0", name="Mug", points_price=1, stock=1)
    member = Member.objects.create(customer_id=1, join_date="2024-01-01", phone="0000")
    Card.objects.create(barcode=card_barcode(1), member=member)
    with connection_kept_open():
        yield issue_api_key(store, "fuzzing till")[1]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_given_any_request_the_schema_allows_or_not_then_the_api_answers_without_a_server_error(case, till_key):
    # A schema-valid basket can still be refused for business reasons (unknown product: 422), so the
    # "valid data is accepted" check does not apply; every other check, server errors first, does.
    case.call_and_validate(headers={"X-API-Key": till_key}, excluded_checks=[positive_data_acceptance])
