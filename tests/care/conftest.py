"""Fixtures for customer care's scenarios: a store, a till key, a product with its earning rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from care_builders import SOFA

from clientele.catalog.models import Product, Store
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import EarningRule


@pytest.fixture
def store(db) -> Store:
    return Store.objects.create(store_id=1, name="Main street", timezone="America/Chicago")


@pytest.fixture
def till_key(store):
    """(the key record, the raw key) of a till of store 1."""
    return issue_api_key(store, "till 1")


@pytest.fixture
def shop(store):
    """A product and a 1-point-per-dollar rule: ready to check out."""
    Product.objects.create(product_id=SOFA, department="HOME", category="SOFA COVERS", brand_type="National")
    EarningRule.objects.create(name="1 point per dollar", kind="base", points_per_unit=Decimal("1"))
    return store
