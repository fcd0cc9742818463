"""Every write and rule of the offers: saving offers, reading them for evaluation, consuming budgets,
recording and reversing redemptions. One transaction per business event.

Budgets: an offer's budget is split into slices (decision 0091); `consume_budget` takes from one
slice by a conditional UPDATE (the slice's money left is checked in its WHERE, so two tills cannot
both take the last of it), and the slices' check constraints refuse any write that would go below
zero, whatever the code path.
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
    OFFER_HISTORY,
    MemberOfferUse,
    Offer,
    OfferActivation,
    OfferBudget,
    OfferBudgetSlice,
    OfferRedemption,
    ShoppingList,
    slice_count,
)


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
    """Copy the offer's budget to its `OfferBudget` and split what is left of it into slices (one
    slice holding what was given so far), refused when below what it already gave. The slices are
    locked meanwhile: no till takes from them until the offer's save commits."""
    budget, _ = OfferBudget.objects.select_for_update().get_or_create(offer=offer)
    parts = list(OfferBudgetSlice.objects.select_for_update().filter(budget=budget).order_by("slice"))
    given_money = sum((part.given_money for part in parts), Decimal("0"))
    given_count = sum(part.given_count for part in parts)
    if offer.budget_money is not None and offer.budget_money < given_money:
        raise InvalidOffer(f"budget_money: the offer already gave {given_money}, more than "
                           f"{offer.budget_money}", field="budget_money", code="budget_below_given")
    if offer.budget_count is not None and offer.budget_count < given_count:
        raise InvalidOffer(f"budget_count: the offer was already redeemed {given_count} times, more "
                           f"than {offer.budget_count}", field="budget_count", code="budget_below_given")
    slices = slice_count(offer.budget_money, offer.budget_count)
    if parts and (budget.budget_money, budget.budget_count, budget.slices) == (
            offer.budget_money, offer.budget_count, slices):
        return
    budget.budget_money, budget.budget_count, budget.slices = offer.budget_money, offer.budget_count, slices
    budget.save(update_fields=["budget_money", "budget_count", "slices"])
    OfferBudgetSlice.objects.filter(budget=budget).delete()
    money = _split(None if offer.budget_money is None else (offer.budget_money - given_money) * 100, slices)
    counts = _split(None if offer.budget_count is None else offer.budget_count - given_count, slices)
    OfferBudgetSlice.objects.bulk_create([
        OfferBudgetSlice(budget=budget, slice=n, money_left=None if money[n] is None else Decimal(money[n]) / 100,
                         count_left=counts[n], given_money=given_money if n == 0 else Decimal("0"),
                         given_count=given_count if n == 0 else 0)
        for n in range(slices)])


def _split(total, parts: int) -> list:
    """`total` (whole cents or redemptions; None: no limit) in `parts` nearly equal whole parts."""
    if total is None:
        return [None] * parts
    whole, rest = divmod(int(total), parts)
    return [whole + (1 if n < rest else 0) for n in range(parts)]


def offer_terms(at: datetime, codes: Iterable[str] | None = None) -> list[OfferTerms]:
    """The active offers valid at `at` (or those of `codes`), as the evaluation reads them, with the
    budget each has left now; ordered by precedence."""
    offers = Offer.objects.filter(active=True, valid_from__lte=at, valid_until__gt=at).select_related("spend")
    if codes is not None:
        offers = offers.filter(code__in=list(codes))
    offers = list(offers.prefetch_related("products", "audience", "spend__parts"))
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


def consume_budget(offer_id: int, money: Decimal, count: int = 1, prefer: int = 0) -> None:
    """Take `money` and `count` redemptions from the offer's budget, or BudgetExhausted when what
    is left (after every other till's takings) cannot cover them; negative values give back.

    Taken from one slice: the `prefer`-th (the basket's number), else the next one with enough
    left, each by a conditional UPDATE; only when no slice alone has enough are all the offer's
    slices locked (in order) and the taking spread over them. The slices' check constraints refuse
    any write that would go below zero, whatever the code path."""
    try:
        with transaction.atomic():
            if money < 0 or count < 0:
                _give_back(offer_id, -money, -count)
                return
            slices = OfferBudget.objects.filter(pk=offer_id).values_list("slices", flat=True).first()
            if slices is None:
                raise BudgetExhausted(f"offer {offer_id} has no budget")
            fits = (Q(money_left__isnull=True) | Q(money_left__gte=money)) & (
                Q(count_left__isnull=True) | Q(count_left__gte=count))
            try:
                with transaction.atomic():  # a savepoint: the tries' row locks are let go when none fits
                    for n in range(slices):
                        if OfferBudgetSlice.objects.filter(fits, budget_id=offer_id, slice=(prefer + n) % slices).update(
                                money_left=F("money_left") - money, count_left=F("count_left") - count,
                                given_money=F("given_money") + money, given_count=F("given_count") + count):
                            return
                    raise _NoSliceFits
            except _NoSliceFits:
                _take_across_slices(offer_id, money, count)
    except IntegrityError:  # the constraints' last word
        raise BudgetExhausted(f"offer {offer_id} has no budget left for {money} and {count} redemption(s)") from None


class _NoSliceFits(Exception):
    """No slice alone has enough left (PostgreSQL keeps a row an UPDATE re-checked after another
    till's write locked, even when it no longer matches: the savepoint's end lets it go)."""


def _locked_slices(offer_id: int):
    """The offer's slices one by one in order, each locked when reached, after its budget row: one
    taker across slices at a time, and a till's one-slice taking holds no other lock, so no two wait
    for each other in a circle."""
    OfferBudget.objects.select_for_update().filter(pk=offer_id).first()
    for pk in OfferBudgetSlice.objects.filter(budget_id=offer_id).order_by("slice").values_list("pk", flat=True):
        yield OfferBudgetSlice.objects.select_for_update().get(pk=pk)


def _take_across_slices(offer_id: int, money: Decimal, count: int) -> None:
    """Take from the slices in order, each what it has, when none alone has enough (near the end
    of a budget); BudgetExhausted (and nothing taken) when all together have too little."""
    for part in _locked_slices(offer_id):
        take_money = money if part.money_left is None else min(money, part.money_left)
        take_count = count if part.count_left is None else min(count, part.count_left)
        if take_money or take_count:
            OfferBudgetSlice.objects.filter(pk=part.pk).update(
                money_left=F("money_left") - take_money, count_left=F("count_left") - take_count,
                given_money=F("given_money") + take_money, given_count=F("given_count") + take_count)
            money, count = money - take_money, count - take_count
        if not money and not count:
            return
    raise BudgetExhausted(f"offer {offer_id} has no budget left for {money} and {count} redemption(s)")


def _give_back(offer_id: int, money: Decimal, count: int) -> None:
    """Return `money` and `count` to the slices that gave them (in order, each at most what it gave)."""
    for part in _locked_slices(offer_id):
        back_money, back_count = min(money, part.given_money), min(count, part.given_count)
        if back_money or back_count:
            OfferBudgetSlice.objects.filter(pk=part.pk).update(
                money_left=F("money_left") + back_money, count_left=F("count_left") + back_count,
                given_money=F("given_money") - back_money, given_count=F("given_count") - back_count)
            money, count = money - back_money, count - back_count
        if not money and not count:
            return
    raise BudgetExhausted(f"offer {offer_id} never gave {money} and {count} redemption(s) to give back")


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
            consume_budget(applied.offer_id, applied.discount, prefer=basket.pk)
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
