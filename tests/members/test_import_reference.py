"""The Complete Journey's reference data in the operational database (SQLite and PostgreSQL)."""

from __future__ import annotations

import duckdb
import pytest

from clientele.barcodes import card_barcode, is_valid_ean13
from clientele.catalog.models import Product, Store
from clientele.lake.completejourney import data_dir
from clientele.members.models import Card, HouseholdDemographics, Member
from clientele.members.selectors import contacts_for_customers
from clientele.members.services import import_completejourney_reference

pytestmark = pytest.mark.django_db(transaction=False)


def test_every_household_becomes_a_member_with_one_valid_card_and_a_second_import_duplicates_nothing():
    first = import_completejourney_reference()
    second = import_completejourney_reference()
    assert first == second == {
        "stores": 457, "products": 92_331, "members": 2_469, "cards": 2_469, "household demographics": 801,
    }
    member = Member.objects.get(customer_id=1023)
    [card] = member.cards.all()
    assert card.barcode == card_barcode(1023) and is_valid_ean13(card.barcode)
    assert card.status == Card.Status.ACTIVE
    assert member.home_store is not None and member.join_date.year == 2017


def test_members_join_on_their_first_basket_s_store_day_and_stores_keep_new_york_time():
    import_completejourney_reference()
    first_day = dict(duckdb.sql(
        "SELECT household_id, min(timezone('America/New_York', timezone('UTC', transaction_timestamp)))::DATE "
        f"FROM read_parquet('{data_dir() / 'transactions.parquet'}') GROUP BY 1").fetchall())
    assert dict(Member.objects.values_list("customer_id", "join_date")) == first_day
    assert set(Store.objects.values_list("timezone", flat=True)) == {"America/New_York"}


def test_products_keep_their_hierarchy_and_brand_type():
    import_completejourney_reference()
    product = Product.objects.get(product_id=25671)
    assert (product.department, product.category, product.subcategory, product.brand_type) == (
        "GROCERY", "FRZN ICE", "ICE - CRUSHED/CUBED", "National")
    assert Product.objects.filter(brand_type=Product.BrandType.PRIVATE).count() == 13_815
    assert Store.objects.filter(store_id=364).exists()


def test_demographic_bands_become_numbers_where_they_count():
    import_completejourney_reference()
    household = HouseholdDemographics.objects.get(member__customer_id=1)
    assert (household.age_band, household.household_size, household.kids_count) == ("65+", 2, 0)
    assert HouseholdDemographics.objects.filter(kids_count__gte=1).exists()


def test_a_mailing_reaches_only_members_who_consented_on_that_channel():
    import_completejourney_reference()
    Member.objects.filter(customer_id=1).update(email="one@example.org", email_consent=True)
    Member.objects.filter(customer_id=2).update(email="two@example.org", email_consent=False, sms_consent=True)
    assert [c["customer_id"] for c in contacts_for_customers([1, 2, 3])] == [1]
    assert [c["customer_id"] for c in contacts_for_customers([1, 2, 3], channel="sms")] == [2]
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        contacts_for_customers([1], channel="fax")
