"""Builders for the loyalty scenarios: a store, a few products, a member with a card, a till key."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from clientele.barcodes import card_barcode
from clientele.catalog.models import Product, Store
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import EarningRule
from clientele.members.models import Card, Member

from till_payloads import BREAD, MILK, SHAMPOO, TillClient


@pytest.fixture
def concurrent_db(transactional_db):
    """A database that concurrent clients (threads with their own connections) can share."""


@pytest.fixture
def store(db) -> Store:
    return Store.objects.create(store_id=1, name="Main street", timezone="America/Chicago")


@pytest.fixture
def other_store(db) -> Store:
    return Store.objects.create(store_id=2, name="Riverside", timezone="America/New_York")


@pytest.fixture
def products(db) -> dict[int, Product]:
    rows = [
        Product(product_id=BREAD, department="GROCERY", category="BREAD", brand_type="National"),
        Product(product_id=MILK, department="GROCERY", category="MILK", brand_type="Private"),
        Product(product_id=SHAMPOO, department="DRUG GM", category="HAIR CARE", brand_type="National"),
    ]
    Product.objects.bulk_create(rows)
    return {p.product_id: p for p in rows}


@pytest.fixture
def base_rule(db) -> EarningRule:
    return EarningRule.objects.create(name="1 point per dollar", kind="base", points_per_unit=Decimal("1"))


@pytest.fixture
def member(db) -> Member:
    ada = Member.objects.create(customer_id=42, first_name="Ada", last_name="Lovelace", phone="+13125550100",
                                join_date=datetime(2024, 1, 5).date())
    Card.objects.create(barcode=card_barcode(42), member=ada)
    return ada


@pytest.fixture
def card(member) -> str:
    return card_barcode(42)


@pytest.fixture
def till(store) -> TillClient:
    """An HTTP client of a till of store 1, holding the store's API key."""
    _, raw = issue_api_key(store, "till 1")
    return TillClient(headers={"X-API-Key": raw})


@pytest.fixture
def programme_ready(store, products, base_rule, member):
    """A store, products, a 1-point-per-dollar rule and a member: ready to check out."""
    return member
