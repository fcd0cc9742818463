"""Fixtures for the service desk scenarios: the desk's starting data, a store, a product, a
member, an agent and a supervisor in their roles."""

from __future__ import annotations

import importlib

import pytest
from desk_builders import SOAP, member, person
from django.contrib.auth.models import User

from clientele.catalog.models import Product, Store
from clientele.members.models import Member
from clientele.service.models import ComplaintCause, GoodwillLimit, ServiceLevel

seed = importlib.import_module("clientele.service.migrations.0002_taxonomy_service_levels_and_limits")
vouchers = importlib.import_module("clientele.service.migrations.0004_vouchers_are_offers")


@pytest.fixture(autouse=True)
def desk_data(db):
    """The starting data of migrations service 0002 and 0004 (a transactional test before may have
    flushed it)."""
    for code, name in seed.CAUSES:
        ComplaintCause.objects.get_or_create(code=code, defaults={"name": name})
    for severity, (answer, resolve) in seed.SERVICE_LEVELS.items():
        ServiceLevel.objects.get_or_create(severity=severity, defaults={"first_answer_hours": answer,
                                                                        "resolution_hours": resolve})
    for role, points in seed.GOODWILL_LIMITS.items():
        amount, percent = vouchers.VOUCHER_LIMITS[role]
        GoodwillLimit.objects.get_or_create(role=role, defaults={"max_points": points, "max_voucher_amount": amount,
                                                                 "max_voucher_percent": percent})


@pytest.fixture
def store(db) -> Store:
    return Store.objects.create(store_id=1, name="Main street")


@pytest.fixture
def soap(db) -> Product:
    return Product.objects.create(product_id=SOAP, department="DRUG GM", category="SOAP", brand_type="National")


@pytest.fixture
def ada(db) -> Member:
    return member(42)


@pytest.fixture
def agent(db) -> User:
    return person("sam", "service agent", "add_complaint", "change_winbackentry")


@pytest.fixture
def supervisor(db) -> User:
    return person("sue", "service supervisor", "add_complaint", "change_winbackentry")
