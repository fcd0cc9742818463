"""Builders shared by customer care's tests: members with nightly profiles, baskets at the till."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from clientele.barcodes import card_barcode
from clientele.loyalty.checkout import BasketIn, LineIn, post_basket
from clientele.members.models import Card, CustomerProfile, Member

SOFA = 5001


def enrol(number: int, tier: str | None = None, phone: str = "") -> Member:
    """A member with a card; with `tier`, a nightly profile in that value tier."""
    member = Member.objects.create(customer_id=number, first_name=f"Member{number}", last_name="Doe", phone=phone,
                                   join_date=date(2024, 1, 5))
    Card.objects.create(barcode=card_barcode(number), member=member)
    if tier:
        CustomerProfile.objects.create(member=member, refreshed_on=date(2026, 12, 5), value_tier=tier)
    return member


def checkout(key, number: int, receipt: str, total: str, at: datetime | None = None) -> dict:
    """A basket of sofa covers worth `total` by member `number`, posted at the till."""
    return post_basket(BasketIn(store_id=1, till_id="1", receipt_number=receipt,
                                transacted_at=at or datetime.now(timezone.utc), card=card_barcode(number),
                                lines=[LineIn(1, SOFA, Decimal("1"), Decimal(total))]), key)
