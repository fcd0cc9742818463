"""Builders for the offers scenarios: products of two brands, a member, a manufacturer, offers."""

from __future__ import annotations

from datetime import date

import pytest

from clientele.catalog.models import Product, Store
from clientele.members.models import Member
from offer_builders import CEREAL_NATIONAL, CEREAL_STORE, MILK, SOAP

from clientele.offers.models import ManufacturerAccount


@pytest.fixture
def catalogue(db) -> dict[int, Product]:
    rows = [
        Product(product_id=CEREAL_NATIONAL, manufacturer_id=69, department="GROCERY", category="COLD CEREAL",
                brand_type="National"),
        Product(product_id=CEREAL_STORE, manufacturer_id=1, department="GROCERY", category="COLD CEREAL",
                brand_type="Private"),
        Product(product_id=MILK, manufacturer_id=1, department="GROCERY", category="FLUID MILK", brand_type="Private"),
        Product(product_id=SOAP, manufacturer_id=69, department="DRUG GM", category="SOAP", brand_type="National"),
    ]
    Product.objects.bulk_create(rows)
    Store.objects.create(store_id=1, name="Main street")
    return {p.product_id: p for p in rows}


@pytest.fixture
def ada(db) -> Member:
    return Member.objects.create(customer_id=42, first_name="Ada", last_name="Lovelace", join_date=date(2024, 1, 5))


@pytest.fixture
def kellogg(db) -> ManufacturerAccount:
    return ManufacturerAccount.objects.create(name="Cereal Co", manufacturer_id=69)
