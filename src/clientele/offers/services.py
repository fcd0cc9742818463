"""Every write and rule of the offers: saving offers, reading them for evaluation, consuming budgets,
recording and reversing redemptions. One transaction per business event.

Budgets: `consume_budget` is one conditional UPDATE (the budget left is checked in its WHERE, so two
tills cannot both take the last of it), and the `OfferBudget` check constraints refuse any write
that would go beyond it, whatever the code path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from clientele.catalog.models import Product
from clientele.members.models import Member
from clientele.offers import segments
from clientele.offers.errors import BudgetExhausted, InvalidOffer, MemberLimitReached, UnknownMember, UnknownProduct
from clientele.offers.evaluate import MemberView, OfferResult, OfferTerms
from clientele.offers.models import (
    OFFER_HISTORY, MemberOfferUse, Offer, OfferActivation, OfferBudget, OfferRedemption, ShoppingList)

def invalid_offer(error: ValidationError) -> InvalidOffer:
    """The first of a validation's errors as an `InvalidOffer` with its stable code and field."""
    if hasattr(error, "error_dict"):
        field, errors = next(iter(error.error_dict.items()))
        first = errors[0]
        return InvalidOffer(f"{field}: {' '.join(first.messages)}", field=field, code=first.code or "invalid_offer")
    return InvalidOffer(" ".join(error.messages), code=error.error_list[0].code or "invalid_offer")


def save_offer(offer: Offer, *, product_ids: Iterable[int] | None = None,
               audience: Iterable[int] | None = None, changed_by=None) -> Offer:
    """Validate and store the offer (a new version when anything changed) with its products and its
    audience (customer numbers), and its budget's limits; returns the stored offer.

    Refuses (InvalidOffer, code per rule) an offer whose rules contradict or whose budget is below
    what it already gave, UnknownProduct for a product the catalogue does not have, UnknownMember
    for an audience member who does not exist. `changed_by` (a user) is kept with the version."""
    products = _known_products(product_ids) if product_ids is not None else None
    members = _known_members(audience) if audience is not None else None
    with transaction.atomic():
        stored = Offer.objects.select_for_update().filter(pk=offer.pk).first() if offer.pk else None
        try:
            offer.full_clean(validate_constraints=False)  # clean() says the same with a code
        except ValidationError as error:
            raise invalid_offer(error) from None
        changed = stored is None or _differs(offer, stored, products, members)
        offer.skip_history_when_saving = True
        try:
            if changed:
                offer.version = stored.version + 1 if stored is not None else 1
            offer.save()
            if products is not None:
                offer.products.set(products)
            if members is not None:
                offer.audience.set(members)
        finally:
            del offer.skip_history_when_saving
        if changed:
            offer._history_user = changed_by
            OFFER_HISTORY.create_historical_record(offer, "+" if stored is None else "~")
        _keep_budget_limits(offer)
    return offer


def _known_products(product_ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(product_ids))
    found = set(Product.objects.filter(product_id__in=wanted).values_list("product_id", flat=True))
    missing = [product for product in wanted if product not in found]
    if missing:
        raise UnknownProduct(f"no product {', '.join(map(str, missing[:5]))} in the catalogue")
    return wanted


def _known_members(customer_ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(customer_ids))
    found = dict(Member.objects.filter(customer_id__in=wanted).values_list("customer_id", "pk"))
    missing = [customer for customer in wanted if customer not in found]
    if missing:
        raise UnknownMember(f"no member {', '.join(map(str, missing[:5]))}", field="audience")
    return [found[customer] for customer in wanted]


def _differs(offer: Offer, stored: Offer, products: list[int] | None, members: list[int] | None) -> bool:
    fields = [f.attname for f in Offer._meta.concrete_fields if f.attname not in ("id", "version")]
    if any(getattr(offer, name) != getattr(stored, name) for name in fields):
        return True
    if products is not None and products != sorted(stored.products.values_list("pk", flat=True)):
        return True
    return members is not None and members != sorted(stored.audience.values_list("pk", flat=True))


def _keep_budget_limits(offer: Offer) -> None:
    """Copy the offer's budget to its `OfferBudget` row, refused when below what it already gave."""
    budget, _ = OfferBudget.objects.select_for_update().get_or_create(offer=offer)
    if offer.budget_money is not None and offer.budget_money < budget.given_money:
        raise InvalidOffer(f"budget_money: the offer already gave {budget.given_money}, more than "
                           f"{offer.budget_money}", field="budget_money", code="budget_below_given")
    if offer.budget_count is not None and offer.budget_count < budget.given_count:
        raise InvalidOffer(f"budget_count: the offer was already redeemed {budget.given_count} times, more "
                           f"than {offer.budget_count}", field="budget_count", code="budget_below_given")
    budget.budget_money, budget.budget_count = offer.budget_money, offer.budget_count
    budget.save(update_fields=["budget_money", "budget_count"])


def offer_terms(at: datetime, codes: Iterable[str] | None = None) -> list[OfferTerms]:
    """The active offers valid at `at` (or those of `codes`), as the evaluation reads them, with the
    budget each has left now; ordered by precedence."""
    offers = Offer.objects.filter(active=True, valid_from__lte=at, valid_until__gt=at).select_related("spend")
    if codes is not None:
        offers = offers.filter(code__in=list(codes))
    offers = list(offers.prefetch_related("products", "audience"))
    return [_terms(offer) for offer in offers]


def _terms(offer: Offer) -> OfferTerms:
    spend = getattr(offer, "spend", None)
    return OfferTerms(
        offer_id=offer.pk, code=offer.code, version=offer.version, target=offer.target, benefit=offer.benefit,
        valid_from=offer.valid_from, valid_until=offer.valid_until, funder_id=offer.funder_id,
        product_ids=frozenset(p.product_id for p in offer.products.all()), department=offer.department,
        category=offer.category, manufacturer_id=offer.manufacturer_id, brand_type=offer.brand_type,
        min_spend=offer.min_spend, amount=offer.amount, percent=offer.percent, buy_quantity=offer.buy_quantity,
        get_quantity=offer.get_quantity, bonus_points=offer.bonus_points, multiplier=offer.multiplier,
        eligibility=offer.eligibility,
        segment=segments.parse(offer.segment) if offer.eligibility == Offer.Eligibility.SEGMENT else (),
        audience=frozenset(m.customer_id for m in offer.audience.all()), per_member_limit=offer.per_member_limit,
        money_left=spend.money_left if spend else offer.budget_money,
        count_left=spend.count_left if spend else offer.budget_count,
        stackable=offer.stackable, precedence=offer.precedence, requires_activation=offer.requires_activation,
    )


def member_view(member: Member | None, on: date | None = None, with_list: bool = True) -> MemberView:
    """What the evaluation knows of the member: profile, uses of each offer, and (`with_list`) the
    offers of their list current `on` (default today, UTC) with the list's sizing factor; an
    anonymous view for None."""
    if member is None:
        return MemberView()
    profile = {}
    if hasattr(member, "profile"):
        profile = {field: getattr(member.profile, field) for field in segments.PROFILE_FIELDS.values()}
    uses = dict(MemberOfferUse.objects.filter(member=member).values_list("offer_id", "uses"))
    activated = frozenset(OfferActivation.objects.filter(member=member).values_list("offer_id", flat=True))
    on = on or datetime.now(timezone.utc).date()
    current = ShoppingList.objects.filter(member=member, status=ShoppingList.Status.CURRENT, valid_from__lte=on,
                                          valid_until__gte=on).first() if with_list else None
    factors = {}
    if current is not None:
        offer_ids = current.items.exclude(offer=None).values_list("offer_id", flat=True)
        factors = {offer_id: current.sizing_factor for offer_id in offer_ids}
    return MemberView(member.customer_id, profile, uses, factors, activated)


def consume_budget(offer_id: int, money: Decimal, count: int = 1) -> None:
    """Take `money` and `count` redemptions from the offer's budget, or BudgetExhausted when what
    is left (after every other till's takings) cannot cover them. Negative values give back."""
    fits = (Q(budget_money__isnull=True) | Q(given_money__lte=F("budget_money") - money)) & (
        Q(budget_count__isnull=True) | Q(given_count__lte=F("budget_count") - count))
    try:
        with transaction.atomic():
            updated = OfferBudget.objects.filter(fits, pk=offer_id).update(
                given_money=F("given_money") + money, given_count=F("given_count") + count)
    except IntegrityError:  # the constraints' last word (a negative total on a give-back)
        updated = 0
    if not updated:
        raise BudgetExhausted(f"offer {offer_id} has no budget left for {money} and {count} redemption(s)")


def _use_member_limit(offer_id: int, member: Member, limit: int | None, uses: int) -> None:
    """Count `uses` (1 or -1) of the offer by the member, refused above the offer's per-member limit."""
    MemberOfferUse.objects.get_or_create(offer_id=offer_id, member=member)
    allowed = MemberOfferUse.objects.filter(offer_id=offer_id, member=member)
    if limit is not None and uses > 0:
        allowed = allowed.filter(uses__lte=limit - uses)
    if not allowed.update(uses=F("uses") + uses):
        raise MemberLimitReached(f"the member has used offer {offer_id} {limit} time(s) already")


def record_redemptions(basket, result: OfferResult, member: Member | None = None,
                       shopping_list: ShoppingList | None = None) -> list[OfferRedemption]:
    """Record every offer the evaluation applied to `basket` (a loyalty Basket), taking each one's
    budget and member use, in one transaction; a replay of the same basket records nothing again and
    returns what was recorded. BudgetExhausted or MemberLimitReached (and nothing written) when
    another till took what was left: the till evaluates again without that offer."""
    with transaction.atomic():
        done = list(OfferRedemption.objects.filter(basket=basket, kind=OfferRedemption.Kind.REDEEMED))
        if done:
            return done
        limits = dict(Offer.objects.filter(pk__in=[a.offer_id for a in result.applied])
                      .values_list("pk", "per_member_limit"))
        recorded = []
        for applied in sorted(result.applied, key=lambda a: a.offer_id):  # budgets locked in one order: no deadlock
            consume_budget(applied.offer_id, applied.discount)
            if member is not None and limits[applied.offer_id] is not None:  # uses count only under a limit
                _use_member_limit(applied.offer_id, member, limits[applied.offer_id], 1)
            recorded.append(OfferRedemption.objects.create(
                redemption_key=f"basket:{basket.pk}:{applied.offer_id}", offer_id=applied.offer_id,
                offer_version=applied.version, funder_id=applied.funder_id, member=member, basket=basket,
                shopping_list=shopping_list if applied.from_list else None, discount=applied.discount,
                bonus_points=applied.bonus_points, redeemed_at=basket.transacted_at))
        return recorded


def reverse_redemptions(basket, return_key: str, at: datetime) -> list[OfferRedemption]:
    """Give back the budget and member use of every offer redeemed on `basket`, recording a reversal
    for each (once per `return_key`, however often the return is replayed); returns the reversals."""
    with transaction.atomic():
        done = list(OfferRedemption.objects.filter(basket=basket, kind=OfferRedemption.Kind.REVERSED,
                                                   redemption_key__startswith=f"return:{return_key}:"))
        if done:
            return done
        reversed_offers = set(OfferRedemption.objects.filter(basket=basket, kind=OfferRedemption.Kind.REVERSED)
                              .values_list("offer_id", flat=True))
        reversals = []
        for redemption in OfferRedemption.objects.filter(basket=basket, kind=OfferRedemption.Kind.REDEEMED):
            if redemption.offer_id in reversed_offers:
                continue
            consume_budget(redemption.offer_id, -redemption.discount, -1)
            if redemption.member is not None:  # counted only when the offer had a limit (a row exists)
                MemberOfferUse.objects.filter(offer_id=redemption.offer_id, member=redemption.member,
                                              uses__gt=0).update(uses=F("uses") - 1)
            reversals.append(OfferRedemption.objects.create(
                redemption_key=f"return:{return_key}:{redemption.offer_id}", kind=OfferRedemption.Kind.REVERSED,
                offer_id=redemption.offer_id, offer_version=redemption.offer_version, funder_id=redemption.funder_id,
                member=redemption.member, basket=basket, shopping_list=redemption.shopping_list,
                discount=-redemption.discount, bonus_points=-redemption.bonus_points, uses=-1, redeemed_at=at))
        return reversals
