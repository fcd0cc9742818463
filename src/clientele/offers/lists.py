"""Personal shopping lists: generated for the qualifying members, with the offers that apply and
offers chosen for them, sized by their value; found by number or member; shown as JSON and HTML.

`generate_lists` is one business event (one transaction): every qualifying member with profiling
consent gets a new current list and their previous one is superseded. Members who refused
profiling get no personal list. See docs/offers.md.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string

from clientele.analytics.shopping_lists import ListInputs, ListRules
from clientele.barcodes import ean13_svg, list_barcode
from clientele.catalog.models import Product
from clientele.members.models import Member
from clientele.offers import services
from clientele.offers.errors import ExpiredList, ListOfAnotherMember, UnknownList, UnknownMember
from clientele.offers.evaluate import ZERO, Line, MemberView, OfferTerms, available, cents, sized
from clientele.offers.models import ShoppingList, ShoppingListItem, ValueSizing

def lists_due(today: date, rules: ListRules = ListRules()) -> bool:
    """True when no list was generated in the last `cycle_days` days (the nightly refresh's cycle)."""
    last = ShoppingList.objects.aggregate(last=Max("generated_at"))["last"]
    return last is None or (today - last.date()).days >= rules.cycle_days


@dataclass(frozen=True)
class GenerationResult:
    """How many lists and items were written, how many members qualified but refused profiling."""

    lists: int
    items: int
    offers: int
    without_consent: int


def describe(terms: OfferTerms) -> str:
    """The offer in a few words, as printed on the list."""
    return {
        "amount_off": lambda: f"{terms.amount} off each",
        "percent_off": lambda: f"{terms.percent.normalize():f}% off",
        "fixed_price": lambda: f"{terms.amount} each",
        "buy_x_get_y": lambda: f"buy {terms.buy_quantity} get {terms.get_quantity} free",
        "bonus_points": lambda: f"{terms.bonus_points} bonus points",
        "points_multiplier": lambda: f"x{terms.multiplier.normalize():f} points",
    }[terms.benefit]()


def unit_value(terms: OfferTerms, price: float | None) -> Decimal:
    """The money the (sized) offer gives on one purchase of a product at `price` (0 for points)."""
    unit = Decimal(str(round(price, 2))) if price else ZERO
    if terms.benefit == "amount_off":
        return min(terms.amount, unit) if unit else terms.amount
    if terms.benefit == "percent_off":
        return cents(unit * terms.percent / 100)
    if terms.benefit == "fixed_price":
        return max(ZERO, unit - terms.amount)
    if terms.benefit == "buy_x_get_y":
        return cents(unit * terms.get_quantity)
    return ZERO


def _line(product: Product) -> Line:
    return Line(0, product.product_id, Decimal("1"), Decimal("1"), product.department, product.category,
                product.manufacturer_id, product.brand_type)


def _best_offer(product: Product, offers: list[OfferTerms], member: MemberView, at: datetime,
                factor: Decimal, price: float | None) -> tuple[OfferTerms, Decimal] | None:
    """The offer worth most to the member on this product (public ones they may have, and personal
    ones), sized by their factor, with its value for one purchase."""
    best = None
    for terms in offers:
        if terms.target == "basket" or not terms.targets(_line(product)):
            continue
        if terms.eligibility != "personal" and not available(terms, member, at):
            continue
        chosen = sized(terms, factor)
        value = unit_value(chosen, price)
        if best is None or value > best[1]:
            best = (chosen, value)
    return best


def generate_lists(inputs: ListInputs, now: datetime, rules: ListRules = ListRules()) -> GenerationResult:
    """Write a new current list for every member among the candidates who consented to profiling;
    returns what was written. The list runs from the day after the inputs' `as_of` (the last day
    of history) for `cycle_days` days."""
    as_of = inputs.as_of
    valid_from, valid_until = as_of + timedelta(days=1), as_of + timedelta(days=rules.cycle_days)
    by_customer: dict[int, list[dict]] = defaultdict(list)
    for row in inputs.candidates:
        by_customer[row["customer_id"]].append(row)
    cells: dict[int, list[dict]] = defaultdict(list)
    for row in inputs.cells:
        cells[row["customer_id"]].append(row)
    members = {m.customer_id: m for m in Member.objects.filter(customer_id__in=list(by_customer),
                                                               status=Member.Status.ACTIVE).select_related("profile")}
    consenting = {c: m for c, m in members.items() if m.profiling_consent}
    wanted = {row["product_id"] for rows in by_customer.values() for row in rows}
    wanted |= {product for product, _ in inputs.leaders.values()}
    products = Product.objects.in_bulk(list(wanted))
    offers = services.offer_terms(datetime.combine(valid_from, time.min, tzinfo=timezone.utc))
    sizing = {s.pyramid_level: s for s in ValueSizing.objects.all()}
    with transaction.atomic():
        ShoppingList.objects.filter(member__in=consenting.values(), status=ShoppingList.Status.CURRENT).update(
            status=ShoppingList.Status.SUPERSEDED)
        serial = (ShoppingList.objects.aggregate(last=Max("id"))["last"] or 0) + 1
        lists, items = [], []
        for customer_id in sorted(consenting):
            member = consenting[customer_id]
            level = getattr(getattr(member, "profile", None), "pyramid_level", "") or "small"
            rule = sizing.get(level) or ValueSizing(pyramid_level=level)
            shopping_list = ShoppingList(
                number=list_barcode(serial + len(lists)), member=member, generated_at=now, as_of=as_of,
                valid_from=valid_from, valid_until=valid_until, pyramid_level=level, sizing_factor=rule.factor)
            view = services.member_view(member, with_list=False)
            entries = _entries(by_customer[customer_id], cells[customer_id], inputs, products, offers, view,
                               valid_from, valid_until, rule)
            shopping_list.offers_value = sum((entry.offer_value or ZERO for entry in entries), ZERO)
            lists.append(shopping_list)
            items.append(entries)
        ShoppingList.objects.bulk_create(lists)
        for shopping_list, entries in zip(lists, items):
            for entry in entries:
                entry.shopping_list = shopping_list
        flat = [entry for entries in items for entry in entries]
        ShoppingListItem.objects.bulk_create(flat, batch_size=2000)
    return GenerationResult(len(lists), len(flat), sum(1 for e in flat if e.offer_id),
                            len(members) - len(consenting))


def _entries(due: list[dict], cells: list[dict], inputs: ListInputs, products: dict[int, Product],
             offers: list[OfferTerms], view: MemberView, start: date, until: date,
             rule: ValueSizing) -> list[ShoppingListItem]:
    """The member's items: the due products by likelihood with the best offer on each, then the
    store-brand moves for the categories where they are heavy national-brand buyers; offers kept
    while the list's value stays within the member's `max_list_value`."""
    at = datetime.combine(start, time.min, tzinfo=timezone.utc)
    entries, budget = [], rule.max_list_value
    chosen = [(products[row["product_id"]], ShoppingListItem.Reason.DUE, row) for row in
              sorted(due, key=lambda row: row["rank"]) if row["product_id"] in products]
    listed = {product.product_id for product, _, _ in chosen}
    for cell in cells:
        leader = inputs.leaders.get(cell["category"])
        if cell["brand_loyalty"] == "national" and cell["usage"] == "high" and leader and leader[0] not in listed:
            if any(t.eligibility == "personal" and t.brand_type == "Private" and t.targets(_line(products[leader[0]]))
                   for t in offers):
                chosen.append((products[leader[0]], ShoppingListItem.Reason.CROSS_SELL, {}))
                listed.add(leader[0])
    for position, (product, reason, row) in enumerate(chosen, start=1):
        price = inputs.prices.get(product.product_id) or inputs.leaders.get(product.category, (0, None))[1]
        best = _best_offer(product, offers, view, at, rule.factor, price)
        item = ShoppingListItem(position=position, product=product, department=product.department,
                                category=product.category, reason=reason, probability=row.get("probability"),
                                expected_date=row.get("expected_date"))
        if best is not None and best[1] <= budget:
            terms, value = best
            item.offer_id, item.offer_value = terms.offer_id, value
            item.offer_description = f"{describe(terms)} until {min(terms.valid_until.date(), until)}"
            budget -= value
        if reason == ShoppingListItem.Reason.DUE or item.offer_id:
            entries.append(item)
    return entries


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
