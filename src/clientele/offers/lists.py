"""Personal shopping lists: generated for the qualifying members, with the offers that apply and
offers chosen for them, sized by their value; found by number or member; shown as JSON and HTML.

`generate_lists` (in `offers.generation`, set-based) is one business event (one transaction): every
qualifying member with profiling consent gets a new current list and their previous one is
superseded. Members who refused profiling get no personal list. See docs/offers.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Max
from django.template.loader import render_to_string

from clientele.analytics.shopping_lists import ListRules
from clientele.barcodes import ean13_svg
from clientele.members.models import Member
from clientele.offers.errors import ExpiredList, ListOfAnotherMember, UnknownList, UnknownMember
from clientele.offers.generation import GenerationResult, describe, generate_lists, unit_value  # noqa: F401
from clientele.offers.models import ShoppingList

def lists_due(today: date, rules: ListRules = ListRules()) -> bool:
    """True when no list was generated in the last `cycle_days` days (the nightly refresh's cycle)."""
    last = ShoppingList.objects.aggregate(last=Max("generated_at"))["last"]
    return last is None or (today - last.date()).days >= rules.cycle_days


def find_list(number: str, customer_id: int | None = None, on: date | None = None) -> ShoppingList:
    """The list with this barcode number; UnknownList, ExpiredList (not valid `on`) or
    ListOfAnotherMember (when the member scanned is not the list's)."""
    shopping_list = ShoppingList.objects.select_related("member").filter(number=number).first()
    if shopping_list is None:
        raise UnknownList(f"no shopping list {number}")
    if on is not None and not (shopping_list.valid_from <= on <= shopping_list.valid_until
                               and shopping_list.status == ShoppingList.Status.CURRENT):
        raise ExpiredList(f"shopping list {number} was valid {shopping_list.valid_from} to {shopping_list.valid_until}")
    if customer_id is not None and shopping_list.member.customer_id != customer_id:
        raise ListOfAnotherMember(f"shopping list {number} is not member {customer_id}'s")
    return shopping_list


def current_list(customer_id: int) -> ShoppingList:
    """The member's current list; UnknownMember or UnknownList when there is none."""
    member = Member.objects.filter(customer_id=customer_id).first()
    if member is None:
        raise UnknownMember(f"no member {customer_id}")
    shopping_list = ShoppingList.objects.filter(member=member, status=ShoppingList.Status.CURRENT).first()
    if shopping_list is None:
        raise UnknownList(f"member {customer_id} has no current shopping list", field="member")
    return shopping_list


def list_document(shopping_list: ShoppingList) -> dict:
    """The list as JSON for an app or an e-mail: number, member, validity, items by department."""
    departments: dict[str, list[dict]] = defaultdict(list)
    for item in shopping_list.items.select_related("offer").order_by("department", "position"):
        departments[item.department or "OTHER"].append({
            "product_id": item.product_id, "category": item.category, "reason": item.reason,
            "expected_date": item.expected_date.isoformat() if item.expected_date else None,
            "offer": item.offer.code if item.offer else None, "offer_description": item.offer_description,
            "offer_value": str(item.offer_value) if item.offer_value is not None else None,
        })
    return {"number": shopping_list.number, "customer_id": shopping_list.member.customer_id,
            "member_name": shopping_list.member.display_name, "valid_from": shopping_list.valid_from.isoformat(),
            "valid_until": shopping_list.valid_until.isoformat(), "offers_value": str(shopping_list.offers_value),
            "departments": [{"department": name, "items": rows} for name, rows in sorted(departments.items())]}


def printable_html(shopping_list: ShoppingList) -> str:
    """The print-ready page: member's name, items by department with each offer's value and expiry,
    the barcode as SVG."""
    return render_to_string("offers/shopping_list.html", {
        "list": list_document(shopping_list), "barcode": ean13_svg(shopping_list.number)})
