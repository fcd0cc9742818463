"""The member's list and offers in the portal: the current personal shopping list with its barcode
(the till scans it as it scans a card), the offers to activate before shopping, and what the
member's offers saved them so far (offers app)."""

from __future__ import annotations

from clientele.barcodes import ean13_svg
from clientele.loyalty.ledger import now_utc
from clientele.members.models import Member
from clientele.offers import activation
from clientele.offers.list_models import ShoppingList


def current_list(member: Member, drawn: bool = True) -> dict | None:
    """The member's current shopping list valid today: its number, (`drawn`) barcode, dates and
    items with their offers; None without one."""
    today = now_utc().date()
    found = (ShoppingList.objects.filter(member=member, status=ShoppingList.Status.CURRENT, valid_from__lte=today,
                                         valid_until__gte=today).first())
    if found is None:
        return None
    items = found.items.select_related("product", "offer").order_by("position")
    return {"number": found.number, **({"svg": ean13_svg(found.number, scalable=True)} if drawn else {}),
            "valid_from": found.valid_from, "valid_until": found.valid_until,
            "items": [{"product_id": item.product_id, "product": _product_name(item.product),
                       "offer": item.offer.code if item.offer_id else None, "offer_description": item.offer_description,
                       "value": item.offer_value} for item in items]}


def _product_name(product) -> str:
    """The product as a shopper reads it: its subcategory (or category), its package size."""
    name = (product.subcategory or product.category or f"product {product.product_id}").capitalize()
    return f"{name} {product.package_size}".strip()


def offers_to_activate(member: Member) -> list[activation.ActivableOffer]:
    """The offers the member may activate before shopping, each saying whether they did."""
    return activation.activable_offers(member, now_utc())


def activate(member: Member, code: str) -> bool:
    """Activate the offer `code` for the member: True now, False when already activated."""
    return activation.activate_offer(member, code, now_utc())


def saved(member: Member) -> dict:
    """Money off and bonus points the member's offers gave so far, and the baskets they applied on."""
    return activation.savings(member)
