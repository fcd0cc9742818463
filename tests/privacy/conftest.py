"""Fixtures of the privacy scenarios (builders in privacy_builders.py)."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from privacy_builders import CHECKOUT_AT, PERSONAL, PLANTED, PRODUCT, World


@pytest.fixture
def world(home: Path, cj_slice_lake: Path, db, slice_customers) -> World:
    from clientele.barcodes import card_barcode
    from clientele.catalog.models import Product, Store
    from clientele.loyalty.checkout import BasketIn, LineIn, post_basket
    from clientele.loyalty.identity import issue_api_key
    from clientele.loyalty.models import EarningRule
    from clientele.members.models import Card, Member
    from clientele.privacy.consent import record_consent

    lake = home / "lake"
    shutil.copytree(cj_slice_lake, lake)
    store = Store.objects.create(store_id=367)
    Product.objects.create(product_id=PRODUCT, manufacturer_id=1, department="FROZEN", category="ICE CREAM")
    for customer in slice_customers:
        member = Member.objects.create(customer_id=customer, join_date=date(2017, 1, 1), home_store=store,
                                       **(PERSONAL if customer == PLANTED else {}))
        Card.objects.create(barcode=card_barcode(customer), member=member)
    planted = Member.objects.get(customer_id=PLANTED)
    for channel in ("email", "sms", "post"):
        record_consent(planted, "marketing", channel, True, occurred_at=CHECKOUT_AT, source="web", text_version="v1")
    EarningRule.objects.create(name="1 point per dollar", kind="base", points_per_unit=Decimal("1"))
    key, _ = issue_api_key(store, "till 1")
    for receipt in range(3):
        post_basket(BasketIn(store_id=367, till_id="1", receipt_number=f"10{receipt}", transacted_at=CHECKOUT_AT,
                             card=card_barcode(PLANTED), lines=[LineIn(1, PRODUCT, Decimal("2"), Decimal("12.50"))]),
                    key)
    return World(home, lake, planted.pk, key)


