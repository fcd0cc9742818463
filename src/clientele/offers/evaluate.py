"""Which offers a basket earns, and what each gives on which line: pure Python, no database.

The till (and the tests) call `apply_offers` with the basket's lines, the offers it may earn (as
`OfferTerms`, read once by `offers.services.offer_terms`) and what is known of the member
(`MemberView`). Offers are taken by precedence (lower first, then code). A non-stackable offer
takes only lines no offer has touched, and after it none other touches them; stackable offers
apply, one after the other, to what is left of a line's price. A discount never exceeds what is
left of the line, nor what is left of the offer's money budget. Budgets and per-member limits are
only read here: `offers.services.record_redemptions` consumes them, refused by the database when
another till took the rest meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from clientele.offers import segments

CENT = Decimal("0.01")
ZERO = Decimal("0")


def cents(value: Decimal) -> Decimal:
    """`value` rounded half up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    """A basket line as the till sends it: `amount` is the line's price before offers."""

    line_no: int
    product_id: int
    quantity: Decimal
    amount: Decimal
    department: str = ""
    category: str = ""
    manufacturer_id: int | None = None
    brand_type: str = ""


@dataclass(frozen=True)
class OfferTerms:
    """An offer as evaluated: the saved `Offer`'s rules and its budget left at the time of reading."""

    offer_id: int
    code: str
    version: int
    target: str
    benefit: str
    valid_from: datetime
    valid_until: datetime
    funder_id: int | None = None
    product_ids: frozenset[int] = frozenset()
    department: str = ""
    category: str = ""
    manufacturer_id: int | None = None
    brand_type: str = ""
    min_spend: Decimal | None = None
    amount: Decimal | None = None
    percent: Decimal | None = None
    buy_quantity: int | None = None
    get_quantity: int | None = None
    bonus_points: int | None = None
    multiplier: Decimal | None = None
    eligibility: str = "everyone"
    segment: segments.Expression = ()
    audience: frozenset[int] = frozenset()
    per_member_limit: int | None = None
    money_left: Decimal | None = None
    count_left: int | None = None
    stackable: bool = False
    precedence: int = 100
    requires_activation: bool = False

    def targets(self, line: Line) -> bool:
        """True when the offer's target covers the line's product."""
        if self.target == "products":
            return line.product_id in self.product_ids
        if self.brand_type and line.brand_type != self.brand_type:
            return False
        if self.target == "brand":
            return line.manufacturer_id == self.manufacturer_id
        if self.target == "category":
            return line.category == self.category
        if self.target == "department":
            return line.department == self.department
        return True  # the whole basket


@dataclass(frozen=True)
class MemberView:
    """What the evaluation knows of the member: their number (None for an anonymous basket), their
    nightly profile (field -> value), how often they used each offer, and the offers of their
    current shopping list with each one's sizing factor (their value-sized benefit), and the offers
    they activated in the portal (`activated`, offer ids)."""

    customer_id: int | None = None
    profile: Mapping[str, object] = field(default_factory=dict)
    uses: Mapping[int, int] = field(default_factory=dict)
    list_factors: Mapping[int, Decimal] = field(default_factory=dict)
    activated: frozenset[int] = frozenset()


class LineDiscount(NamedTuple):
    """What the offers gave one line: money off, the points multiplier on it, the offers' codes (a
    tuple: one is made per line of every basket, and a frozen dataclass's `__init__` costs several
    times a tuple's)."""

    line_no: int
    discount: Decimal
    points_multiplier: Decimal
    offer_codes: tuple[str, ...]


class AppliedOffer(NamedTuple):
    """One offer applied to the basket: its money off in all, bonus points, and the lines it touched
    (a tuple, as `LineDiscount`)."""

    offer_id: int
    code: str
    version: int
    funder_id: int | None
    discount: Decimal
    bonus_points: int
    points_multiplier: Decimal | None
    line_nos: tuple[int, ...]
    from_list: bool


@dataclass(frozen=True)
class OfferResult:
    """Per-line discounts (every line, in the basket's order) and the offers applied, by precedence."""

    lines: tuple[LineDiscount, ...]
    applied: tuple[AppliedOffer, ...]

    @property
    def total_discount(self) -> Decimal:
        """Money off the whole basket (currency units)."""
        return sum((line.discount for line in self.lines), ZERO)


def available(terms: OfferTerms, member: MemberView, at: datetime) -> bool:
    """True when the offer may apply to this member's basket at `at`: valid, eligible, with budget
    count left and the member under their limit."""
    if not terms.valid_from <= at < terms.valid_until:
        return False
    if terms.requires_activation and terms.offer_id not in member.activated:
        return False  # an offer to clip applies only to the members who clipped it
    if terms.count_left is not None and terms.count_left <= 0:
        return False
    if terms.money_left is not None and terms.money_left <= 0 and terms.benefit not in ("bonus_points",
                                                                                        "points_multiplier"):
        return False
    if terms.offer_id in member.list_factors:
        return member.customer_id is not None and _under_limit(terms, member)
    if terms.eligibility == "everyone":
        return terms.per_member_limit is None or _under_limit(terms, member)
    if member.customer_id is None or not _under_limit(terms, member):
        return False
    if terms.eligibility == "segment":
        return segments.matches(terms.segment, member.profile)
    if terms.eligibility == "members":
        return member.customer_id in terms.audience
    return False  # personal offers apply only from the member's own list


def _under_limit(terms: OfferTerms, member: MemberView) -> bool:
    if terms.per_member_limit is None:
        return True
    return member.customer_id is not None and member.uses.get(terms.offer_id, 0) < terms.per_member_limit


def sized(terms: OfferTerms, factor: Decimal) -> OfferTerms:
    """The offer with its amount off, percent off or bonus points multiplied by the member's sizing
    factor (a percent never above 100; a fixed price, buy X get Y and multipliers are not sized)."""
    if factor == 1:
        return terms
    changes: dict[str, object] = {}
    if terms.benefit == "amount_off":
        changes["amount"] = cents(terms.amount * factor)
    elif terms.benefit == "percent_off":
        changes["percent"] = min(Decimal("100"), terms.percent * factor)
    elif terms.benefit == "bonus_points":
        changes["bonus_points"] = int(terms.bonus_points * factor)
    return OfferTerms(**{**terms.__dict__, **changes})


#: `sized` terms kept by (the terms' identity, factor): a till's terms are read once per worker, and
#: its lists' offers are sized at every checkout by a few factors; the terms themselves are kept in
#: the value, so an identity is never reused while its entry lives.
_sized_kept: dict[tuple[int, Decimal], tuple[OfferTerms, OfferTerms]] = {}


def _sized_once(terms: OfferTerms, factor: Decimal) -> OfferTerms:
    """`sized(terms, factor)`, made once per terms and factor."""
    kept = _sized_kept.get((id(terms), factor))
    if kept is not None and kept[0] is terms:
        return kept[1]
    if len(_sized_kept) >= 4096:  # terms read afresh since: the old entries are never needed again
        _sized_kept.clear()
    result = sized(terms, factor)
    _sized_kept[(id(terms), factor)] = (terms, result)
    return result


def apply_offers(lines: Sequence[Line], offers: Iterable[OfferTerms], member: MemberView, at: datetime) -> OfferResult:
    """Every line's discount and points multiplier, and every offer applied, for the basket at `at`."""
    left = {line.line_no: line.amount for line in lines if line.quantity > 0 and line.amount > 0}
    taken: dict[int, bool] = {}  # line -> touched by a non-stackable offer
    multipliers: dict[int, Decimal] = {}
    codes: dict[int, list[str]] = {line.line_no: [] for line in lines}
    applied: list[AppliedOffer] = []
    by_product: dict[int, list[Line]] = {}  # a products offer looks only at its products' lines
    for line in lines:
        by_product.setdefault(line.product_id, []).append(line)
    for terms in sorted(offers, key=lambda t: (t.precedence, t.code)):
        if not available(terms, member, at):
            continue
        factor = member.list_factors.get(terms.offer_id)
        terms = _sized_once(terms, factor) if factor is not None and factor != 1 else terms
        matching = [line for line in _candidates(terms, lines, by_product) if line.line_no in left
                    and terms.targets(line) and not taken.get(line.line_no)
                    and (terms.stackable or line.line_no not in taken)]
        gives = _benefit(terms, matching, left)
        if gives is None:
            continue
        discounts, bonus = gives
        touched = tuple(line.line_no for line in matching if discounts.get(line.line_no) or terms.benefit in (
            "bonus_points", "points_multiplier") or terms.target == "basket")
        for line_no in touched:
            left[line_no] -= discounts.get(line_no, ZERO)
            taken[line_no] = taken.get(line_no, False) or not terms.stackable
            codes[line_no].append(terms.code)
            if terms.benefit == "points_multiplier":
                multipliers[line_no] = multipliers.get(line_no, Decimal("1")) * terms.multiplier
        applied.append(AppliedOffer(
            terms.offer_id, terms.code, terms.version, terms.funder_id, sum(discounts.values(), ZERO), bonus,
            terms.multiplier if terms.benefit == "points_multiplier" else None, touched, factor is not None))
    given = {line.line_no: line.amount - left[line.line_no] for line in lines if line.line_no in left}
    return OfferResult(
        tuple(LineDiscount(line.line_no, given.get(line.line_no, ZERO), multipliers.get(line.line_no, Decimal("1")),
                           tuple(codes[line.line_no])) for line in lines),
        tuple(applied),
    )


def _candidates(terms: OfferTerms, lines: Sequence[Line], by_product: dict[int, list[Line]]) -> Sequence[Line]:
    """The lines an offer may target, in the basket's order: for a products offer with fewer products
    than the basket has lines, only the lines of its products."""
    if terms.target != "products" or len(terms.product_ids) >= len(lines):
        return lines
    found = [line for product in terms.product_ids for line in by_product.get(product, ())]
    return sorted(found, key=lines.index) if len(found) > 1 else found


def _benefit(terms: OfferTerms, matching: list[Line], left: dict[int, Decimal]) -> tuple[dict[int, Decimal], int] | None:
    """The offer's money off per matching line and its bonus points; None when it gives nothing."""
    if not matching:
        return None
    basket_left = sum((left[line.line_no] for line in matching), ZERO) if terms.target == "basket" else None
    if terms.target == "basket" and terms.min_spend is not None and basket_left < terms.min_spend:
        return None
    if terms.benefit == "bonus_points":
        return {}, terms.bonus_points
    if terms.benefit == "points_multiplier":
        return {}, 0
    if terms.target == "basket" and terms.benefit == "amount_off":
        wanted = _spread(min(terms.amount, basket_left), matching, left)
    elif terms.benefit == "amount_off":
        wanted = {line.line_no: min(left[line.line_no], cents(terms.amount * line.quantity)) for line in matching}
    elif terms.benefit == "percent_off":
        wanted = {line.line_no: cents(left[line.line_no] * terms.percent / 100) for line in matching}
    elif terms.benefit == "fixed_price":
        wanted = {line.line_no: max(ZERO, left[line.line_no] - cents(terms.amount * line.quantity))
                  for line in matching}
    else:
        wanted = _cheapest_free(terms, matching, left)
    discounts = _within_budget(wanted, terms.money_left, matching)
    if not any(discounts.values()):
        return None
    return discounts, 0


def _spread(amount: Decimal, matching: list[Line], left: dict[int, Decimal]) -> dict[int, Decimal]:
    """`amount` shared over the lines in proportion to what is left of each, to the cent (the
    rounding's remainder on the last line)."""
    total = sum((left[line.line_no] for line in matching), ZERO)
    shares, given = {}, ZERO
    for line in matching[:-1]:
        shares[line.line_no] = cents(amount * left[line.line_no] / total)
        given += shares[line.line_no]
    shares[matching[-1].line_no] = amount - given
    return shares


def _cheapest_free(terms: OfferTerms, matching: list[Line], left: dict[int, Decimal]) -> dict[int, Decimal]:
    """Buy X get Y: for every X + Y whole units bought, the Y cheapest units free (at what is left
    of their price)."""
    units = sum(int(line.quantity) for line in matching)
    free = units // (terms.buy_quantity + terms.get_quantity) * terms.get_quantity
    wanted = {line.line_no: ZERO for line in matching}
    for line in sorted(matching, key=lambda line: (left[line.line_no] / line.quantity, line.line_no)):
        whole = min(int(line.quantity), free)
        if whole <= 0:
            break
        wanted[line.line_no] = cents(left[line.line_no] / line.quantity * whole)
        free -= whole
    return wanted


def _within_budget(wanted: dict[int, Decimal], money_left: Decimal | None, matching: list[Line]) -> dict[int, Decimal]:
    """The discounts cut, in the lines' order, to what is left of the offer's money budget."""
    if money_left is None or (money_left >= 0 and sum(wanted.values(), ZERO) <= money_left):
        return wanted
    kept, budget = {}, money_left
    for line in matching:
        kept[line.line_no] = min(wanted.get(line.line_no, ZERO), max(budget, ZERO))
        budget -= kept[line.line_no]
    return kept
