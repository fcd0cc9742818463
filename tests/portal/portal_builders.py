"""Builders for the member portal's scenarios, shared by the tests and by the served site of the
browser tests: a programme (the default one), a store and products, members with cards and a real
history of baskets posted through the till's checkout, an offer to activate, a shopping list."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from clientele.barcodes import card_barcode, list_barcode
from clientele.catalog.models import Product, Store
from clientele.loyalty.checkout import BasketIn, LineIn, post_basket
from clientele.loyalty.default_programme import install_default_programme
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.tiers import review_tiers
from clientele.members.models import Card, Member
from clientele.offers import services as offer_services
from clientele.offers.models import Offer, ShoppingList, ShoppingListItem

BREAD, MILK, COFFEE = 1001, 1002, 1003
ADA, BOB, CAROL = 42, 43, 44
CODE = re.compile(r"code is (\d{6})")


def now() -> datetime:
    return datetime.now(timezone.utc)


def programme() -> str:
    """The default programme, a store, three products; returns a till key's raw value for store 1."""
    install_default_programme()
    store = Store.objects.create(store_id=1, name="Main street", timezone="America/Chicago")
    Product.objects.bulk_create([
        Product(product_id=BREAD, department="GROCERY", category="BREAD", subcategory="white bread"),
        Product(product_id=MILK, department="GROCERY", category="FLUID MILK", subcategory="milk", brand_type="Private"),
        Product(product_id=COFFEE, department="GROCERY", category="COFFEE", subcategory="ground coffee")])
    return issue_api_key(store, "till 1")[1]


def member(customer_id: int, first_name: str, email: str = "", phone: str = "", **fields) -> Member:
    """A member with an active card (the card number made from the member number)."""
    created = Member.objects.create(customer_id=customer_id, first_name=first_name, last_name="Tester", email=email,
                                    phone=phone, join_date=now().date() - timedelta(days=400), **fields)
    Card.objects.create(barcode=card_barcode(customer_id), member=created)
    return created


def shop(customer_id: int, receipt: str, days_ago: int, amount: str, raw_key: str, product: int = BREAD) -> dict:
    """A basket of the member at the till `days_ago` days ago, through the real checkout."""
    from clientele.loyalty.identity import authenticate

    return post_basket(BasketIn(store_id=1, till_id="T1", receipt_number=receipt,
                                transacted_at=now() - timedelta(days=days_ago, minutes=5),
                                card=card_barcode(customer_id), lines=[LineIn(1, product, Decimal("1"), Decimal(amount))]),
                       authenticate(raw_key))


def history(raw_key: str) -> None:
    """Ada's and Bob's baskets: Ada's three 60 days ago (available), one 2 days ago (pending), then
    the tier review puts each member in the tier their 12 months earn."""
    for number, days in enumerate((90, 75, 60)):
        shop(ADA, f"a{number}", days, "120.40", raw_key)
    shop(ADA, "a-recent", 2, "55.25", raw_key, product=COFFEE)
    shop(BOB, "b0", 50, "33.00", raw_key)
    review_tiers(now().date())


def offer_to_activate(code: str = "coffee-clip") -> Offer:
    """1.50 off ground coffee for the members who activate it."""
    return offer_services.save_offer(Offer(
        code=code, name="Coffee: 1.50 off", target="products", benefit="amount_off", amount=Decimal("1.50"),
        valid_from=now() - timedelta(days=1), valid_until=now() + timedelta(days=14), requires_activation=True),
        product_ids=[COFFEE])


def shopping_list(customer_id: int, serial: int) -> ShoppingList:
    today = now().date()
    made = ShoppingList.objects.create(number=list_barcode(serial), member=Member.objects.get(customer_id=customer_id),
                                       generated_at=now(), as_of=today, valid_from=today - timedelta(days=1),
                                       valid_until=today + timedelta(days=13))
    ShoppingListItem.objects.create(shopping_list=made, position=1, product_id=MILK)
    return made
