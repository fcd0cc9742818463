"""Builders for the offers scenarios: products of two brands, a member, a manufacturer, offers."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from clientele.catalog.models import Product, Store
from clientele.members.models import Member
from clientele.members.services import write_customer_profiles
from offer_builders import AS_OF, CEREAL_NATIONAL, CEREAL_STORE, MILK, SOAP

from clientele.offers.models import ManufacturerAccount
from clientele.refresh import customer_profiles, refresh


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


@pytest.fixture(scope="session")
def refreshed_lake(cj_slice_lake, tmp_path_factory):
    """The slice refreshed as of 2017-12-17: forecasts, cells, profiles and list candidates."""
    lake = tmp_path_factory.mktemp("lists") / "lake"
    shutil.copytree(cj_slice_lake, lake)
    refresh(lake=lake, as_of=AS_OF, refresh_date=date(2017, 12, 18))
    return lake


@pytest.fixture(scope="session")
def slice_reference(refreshed_lake) -> tuple[list[Product], list[int]]:
    """The products the slice's households bought (as the catalogue has them) and the households."""
    from clientele.engine import connect

    con = connect("duckdb")
    lines = con.read_parquet(str(refreshed_lake / "basket_lines" / "**" / "*.parquet"), hive_partitioning=True)
    products = con.read_parquet(str(refreshed_lake / "products" / "*.parquet"))
    bought = products.semi_join(lines.select("product_id").distinct(), "product_id").to_pyarrow().to_pylist()
    catalogue = [Product(product_id=p["product_id"], manufacturer_id=p["manufacturer_id"],
                         department=p["department"] or "", category=p["category"] or "",
                         brand_type=p["brand_type"] or "National") for p in bought]
    households = sorted(lines.select("customer_id").distinct().to_pyarrow().column(0).to_pylist())
    return catalogue, households


@pytest.fixture
def served(refreshed_lake, slice_reference, db):
    """The slice's households as members with their profiles, and the products they bought, as
    after `make run` (which loads the whole Complete Journey)."""
    catalogue, households = slice_reference
    Product.objects.bulk_create(catalogue)
    Store.objects.get_or_create(store_id=1, defaults={"name": "Main street"})
    Member.objects.bulk_create([Member(customer_id=c, first_name=f"Household {c}", join_date=date(2017, 1, 1))
                                for c in households])
    write_customer_profiles(customer_profiles(lake=refreshed_lake), refreshed_on=date(2017, 12, 18))
    return refreshed_lake
