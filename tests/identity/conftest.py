"""Builders of the identity scenarios: a store ready for checkouts, two members who are one customer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from identity_builders import make_member  # noqa: E402  (puts the till's payloads on the path)
from till_payloads import BREAD, MILK, SHAMPOO, TillClient  # noqa: E402

from clientele.catalog.models import Product, Store  # noqa: E402
from clientele.loyalty.identity import issue_api_key  # noqa: E402
from clientele.loyalty.models import EarningRule, Tier  # noqa: E402


@pytest.fixture
def shop(db):
    """Store 1, three products, 1 point per dollar, two tiers (Silver from 10.00 spent)."""
    store = Store.objects.create(store_id=1, name="Main street", timezone="America/Chicago")
    Product.objects.bulk_create([
        Product(product_id=BREAD, department="GROCERY", category="BREAD", brand_type="National"),
        Product(product_id=MILK, department="GROCERY", category="MILK", brand_type="Private"),
        Product(product_id=SHAMPOO, department="DRUG GM", category="HAIR CARE", brand_type="National"),
    ])
    EarningRule.objects.create(name="1 point per dollar", kind="base", points_per_unit=Decimal("1"))
    Tier.objects.create(name="Member", rank=0)
    Tier.objects.create(name="Silver", rank=1, min_spend_12m=Decimal("10.00"), min_visits_12m=2)
    return store


@pytest.fixture
def till(shop) -> TillClient:
    _, raw = issue_api_key(shop, "till 1")
    return TillClient(headers={"X-API-Key": raw})


@pytest.fixture
def twins(shop):
    """Ada enrolled twice: member 42 (one card, SMS consent given at the till) and member 43 (two
    cards, e-mail consent given and SMS refused on the web, a different e-mail)."""
    from datetime import datetime, timezone

    from clientele.privacy.consent import record_consent

    survivor = make_member(42, cards=1, email="ada@example.org", phone="+13125550100")
    absorbed = make_member(43, cards=2, email="ada.l@example.org", phone="+13125550100", birth_date=date(1990, 12, 10))
    said = datetime(2025, 3, 1, tzinfo=timezone.utc)
    record_consent(survivor, "marketing", "sms", True, occurred_at=said, source="till", text_version="v1")
    record_consent(absorbed, "marketing", "email", True, occurred_at=said, source="web", text_version="v1")
    record_consent(absorbed, "marketing", "sms", False, occurred_at=said, source="web", text_version="v1")
    return survivor.__class__.objects.get(pk=survivor.pk), absorbed.__class__.objects.get(pk=absorbed.pk)
