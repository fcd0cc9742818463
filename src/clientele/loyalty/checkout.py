"""Posting a basket: one transaction, at most once per receipt, read top to bottom in `post_basket`.

1. `_read`: everything a checkout needs from the database, in its transaction: the till's key,
   the programme, the products, the member to credit with their account locked (one query,
   `_FIRST_READ`), then the earning rules in force and, for a daily cap, the day's points.
   When offers exist: the shopping list scanned, every offer's terms and the member's uses and
   current list (`offers.till`).
2. `decide`: plain Python, no SQL: the basket checked, the offers applied, its points earned on
   the discounted amount, the answer made.
3. `award_basket_bonuses`: the bonuses the basket triggers (birthday month, a referral),
   credited through the ledger.
4. A store writes the decided basket, its lines, its credit and its offers' redemptions
   (`basket_store`): the last thing the transaction does; on PostgreSQL the write carries the
   COMMIT, and nothing can follow it. When another till took an offer's budget (or the member's
   limit) meanwhile, nothing is written and the checkout is decided again with fresh offers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.db.models import Sum

from clientele.loyalty import errors, ledger, libpq
from clientele.loyalty.basket_store import (BasketToWrite, LineToRecord, OneStatementStore, OrmStore, PointsShown,
                                            array_text, default_store)
from clientele.loyalty.bonuses import award_basket_bonuses
from clientele.loyalty.errors import LoyaltyError
from clientele.loyalty.identity import (MEMBER_COLUMNS, PresentedKey, loaded, member_to_credit, member_to_credit_sql,
                                        till_key, till_key_sql, unsaved)
from clientele.loyalty.models import ApiKey, Basket, EarningRule, LoyaltyAccount, Programme
from clientele.loyalty.rules import Earning, EarningContext, LineToEarn, active_rules, earn_on_basket
from clientele.offers import till as offers_till
from clientele.offers.errors import BudgetExhausted, MemberLimitReached, OfferError
from clientele.offers.evaluate import Line as OfferLine

CENT = Decimal("0.01")
_SORTED_JSON = json.JSONEncoder(sort_keys=True)
#: A till's offline queue is hours or days old, never years: older history comes by bulk import.
MAX_BASKET_AGE = timedelta(days=400)


class LineIn(NamedTuple):
    """A line as the till sends it (a tuple: ten are built per checkout, and a frozen dataclass's
    `__init__` costs five times a tuple's)."""

    line_no: int
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal("0")


@dataclass(frozen=True)
class BasketIn:
    """A checkout as the till sends it; store + till + receipt number is its idempotency key."""

    store_id: int
    till_id: str
    receipt_number: str
    transacted_at: datetime
    lines: list[LineIn]
    card: str | None = None
    member_number: int | None = None
    channel: str = "store"
    #: a shopping list's barcode scanned (its member is credited; with a card, the card's member must own it)
    list_number: str | None = None

    @property
    def receipt(self) -> str:
        return f"{self.store_id}/{self.till_id}/{self.receipt_number}"

    def fingerprint(self) -> str:
        """SHA-256 of the request's content as JSON (`sort_keys`, the amounts and the time as their
        `str`, each line an object): tells a genuine replay from a reused receipt number. Stored
        with the basket, so its bytes never change (a test holds it to the digests earlier
        versions stored); the amounts and the time are made strings before encoding, so the
        encoder calls no Python function back."""
        content = {"store_id": self.store_id, "till_id": self.till_id, "receipt_number": self.receipt_number,
                   "transacted_at": str(self.transacted_at), "card": self.card, "member_number": self.member_number,
                   "channel": self.channel,
                   "lines": [{"line_no": line.line_no, "product_id": line.product_id, "quantity": str(line.quantity),
                              "unit_price": str(line.unit_price), "discount": str(line.discount)}
                             for line in self.lines]}
        if self.list_number is not None:  # absent otherwise: the digests stored before lists stay the same
            content["list_number"] = self.list_number
        return hashlib.sha256(_SORTED_JSON.encode(content).encode()).hexdigest()


class ProductFacts(NamedTuple):
    """What the earning rules look at in a basket's product (read in plain SQL, no model instance)."""

    product_id: int
    department: str
    category: str
    brand_type: str
    manufacturer_id: int | None = None


@lru_cache(maxsize=1024)
def store_zone(timezone_name: str) -> ZoneInfo:
    return ZoneInfo(timezone_name)


def post_basket(basket: BasketIn, key: ApiKey | PresentedKey, store: OrmStore | OneStatementStore | None = None) -> dict:
    """Record a checkout and credit its points. Returns the till's answer: points earned with the
    rule behind each, bonuses, the new balance, tier and a receipt message. Posting the same
    receipt again (an offline queue replayed, a retry after a timeout) returns the first answer
    and credits nothing. `key` is the till's key, or the one it presented, checked here before
    anything else (errors.KeyRefused). `store` writes it (`basket_store.default_store()` unless given)."""
    fingerprint = basket.fingerprint()
    for attempt in range(1, offers_till.ATTEMPTS + 1):
        try:
            return _post_once(basket, key, store, fingerprint)
        except (BudgetExhausted, MemberLimitReached):
            # Another till took what was left of an offer's budget (or this member's limit) between
            # the read and the write: nothing was written; decide again with the offers read afresh.
            offers_till.forget_terms()
            if attempt == offers_till.ATTEMPTS:
                raise
        except errors.MemberChangedMeanwhile:
            # A merge closed the card's member while the checkout waited for their account (it read
            # the card before the merge committed): nothing was written; read the card afresh.
            if attempt == offers_till.ATTEMPTS:
                raise
        except DatabaseError as error:
            # PostgreSQL broke a deadlock (a member's removal locking their account, then their card,
            # as this checkout locked them in the other order) by rolling this checkout back whole:
            # run it again, to find what the other transaction left (the card gone: unknown_card).
            if not rolled_back_by_the_server(error) or attempt == offers_till.ATTEMPTS \
                    or connections[DEFAULT_DB_ALIAS].in_atomic_block:
                raise
    raise AssertionError("unreachable")


def rolled_back_by_the_server(error: BaseException) -> bool:
    """Whether `error` (Django's or psycopg's) is PostgreSQL's rollback of the whole transaction
    to break a deadlock or a serialization conflict (SQLSTATE class 40): nothing of it was written,
    and the same work run again is safe."""
    for cause in (error, error.__cause__):
        if str(getattr(cause, "sqlstate", "") or "").startswith("40"):
            return True
    return False


def _post_once(basket: BasketIn, key: ApiKey | PresentedKey, store, fingerprint: str) -> dict:
    try:
        with transaction.atomic():
            read = _read(basket, key)
            decided = decide(basket, read, fingerprint)
            if read.member is not None:
                decided = with_bonuses(decided, read.member.member, award_basket_bonuses(
                    read.member.member, read.member.account, read.local_time, read.key.actor,
                    referred=read.member.referred))
            credit_basket(decided, store or default_store())  # the last statement: nothing follows it
        return decided.record.result
    except errors.DuplicateBasket:
        # Recorded by an earlier or concurrent call (now committed): answer as the first time.
        return _replay(basket, fingerprint)
    except IntegrityError:
        # The receipt's uniqueness is DuplicateBasket: this is a foreign key, checked at the commit.
        raise errors.ReferenceRemoved("the member, card, store or a product of this basket was removed while it "
                                      "was recorded: nothing was recorded") from None


def credit_basket(decided: BasketToWrite, store: OrmStore | OneStatementStore) -> None:
    """Write the decided basket, its lines and its credit with `store`: the checkout's last writes."""
    store.write(decided)


def _replay(basket: BasketIn, fingerprint: str) -> dict:
    first = Basket.objects.filter(store_id=basket.store_id, till_id=basket.till_id,
                                  receipt_number=basket.receipt_number).first()
    if first.request_hash != fingerprint:
        raise errors.ReceiptReused(f"receipt {basket.receipt} was already posted with other content")
    return first.result | {"replayed": True}


class MemberToCredit(NamedTuple):
    """The member a basket credits, the card scanned, their points account (locked until the
    commit) and whether they were referred."""

    member: object  # members.Member
    card: object | None
    account: LoyaltyAccount
    referred: bool


class CheckoutRead(NamedTuple):
    """Everything a checkout reads before it decides (`_read`). `member_refused`: why the member
    cannot be credited (an unknown or blocked card...), raised by `decide` after the basket's own
    checks, so a bad basket is refused for itself first."""

    key: ApiKey
    programme: Programme
    products: dict[int, ProductFacts]
    local_time: datetime
    rules: list[EarningRule]
    member: MemberToCredit | None
    member_refused: LoyaltyError | OfferError | None
    earned_today: int
    offer_terms: list = []  # offers.evaluate.OfferTerms: every active offer
    member_offers: offers_till.MemberOffers | None = None


#: A checkout's first read, in one query: the till's key with its store's time zone (no row: the
#: key is refused), the programme's settings, on PostgreSQL the earning rules' version (any
#: change to any rule, by any path, changes it: `_RULES_STAMP`), the member to credit with their
#: points account locked until the end of the transaction, and the basket's products with what
#: the earning rules look at: one row per product found. Every column by name.
_FIRST_READ = """
WITH till_key AS ({till_key}), member AS ({member})
SELECT till_key.key_id, till_key.key_store_id, till_key.key_name, till_key.key_prefix, till_key.store_timezone,
       p.return_window_days, p.expiry_months, p.clock_skew_seconds, {rules_stamp} AS rules_stamp,
       {member_columns},
       {offers_stamp} AS offers_stamp,
       product.product_id, product.department, product.category, product.brand_type, product.manufacturer_id
FROM loyalty_programme p
LEFT JOIN till_key ON 1 = 1
LEFT JOIN member ON 1 = 1
LEFT JOIN catalog_product product ON product.product_id {products}
WHERE p.id = 1
"""
_MEMBER_COLUMNS_SQL = ", ".join(f"member.{name}" for name in MEMBER_COLUMNS)
#: The earning rules' version (PostgreSQL: a trigger on the rules table sets it, migration
#: loyalty 0008): a new number with every change to any rule, by any path.
_RULES_STAMP = "(SELECT version::text FROM loyalty_rulesversion WHERE id = 1)"
#: The rules in force, kept in the worker by (rules version, day): see `_rules_in_force`.
_rules_kept: dict[tuple[str, date], list[EarningRule]] = {}


def _first_rows(basket: BasketIn, key: ApiKey | PresentedKey) -> list[dict]:
    """The rows of `_FIRST_READ` for this basket and key (the programme created on first use)."""
    key_sql, key_params = till_key_sql(key)
    member_sql, member_params = member_to_credit_sql(basket.card, basket.member_number)
    product_ids = list({line.product_id for line in basket.lines})
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each `connection.x` costs a thread-local look-up
    if db.vendor == "postgresql":  # one statement whatever the number of products
        # The array as its text (`array_text`): psycopg's list dumper cost more Python than the
        # rest of the parameters together.
        products, product_params = "= ANY(%s::bigint[])", [array_text(product_ids)]
    else:  # no products (a basket without lines, refused later): a condition no product meets
        products = f"IN ({', '.join(['%s'] * len(product_ids))})" if product_ids else "IS NULL"
        product_params = product_ids
    on_postgresql = db.vendor == "postgresql"
    sql = _FIRST_READ.format(till_key=key_sql, member=member_sql, products=products, member_columns=_MEMBER_COLUMNS_SQL,
                             rules_stamp=_RULES_STAMP if on_postgresql else "NULL",
                             offers_stamp=offers_till.OFFERS_STAMP_SQL if on_postgresql else "NULL")
    params = [*key_params, *member_params, *product_params]
    found = libpq.records(db, sql, params)
    if not found:  # the first checkout ever: the programme is created with its defaults
        Programme.current()
        found = libpq.records(db, sql, params)
    return found


def _read(basket: BasketIn, key: ApiKey | PresentedKey) -> CheckoutRead:
    """Everything the checkout decides on, read in its transaction: errors.KeyRefused when the key
    is; the member's account opened (on first use) and locked until the commit."""
    scanned = list_refused = None
    if basket.list_number is not None or offers_till.is_list_number(basket.card):
        # A list's barcode scanned (in its own field, or where a card goes): its member is credited.
        card = None if basket.list_number is None else basket.card
        try:
            scanned = offers_till.scanned_list(basket.list_number or basket.card)
        except OfferError as error:  # refused after the key and the basket's own checks, as a card is
            list_refused = error
        member_number = (scanned.customer_id if scanned and not card and basket.member_number is None
                         else basket.member_number)
        basket = replace(basket, card=card, member_number=member_number)
    found = _first_rows(basket, key)
    first = found[0]
    if first["key_id"] is None:
        raise errors.KeyRefused()
    key = till_key(first)
    programme = loaded(Programme, id=1, return_window_days=first["return_window_days"],
                       expiry_months=first["expiry_months"], clock_skew_seconds=first["clock_skew_seconds"])
    products = {row["product_id"]: ProductFacts(row["product_id"], row["department"], row["category"],
                                                row["brand_type"], row["manufacturer_id"])
                for row in found if row["product_id"] is not None}
    at = basket.transacted_at  # without a time zone it is refused by `decide`, before the time matters
    local_time = at.astimezone(store_zone(key.store.timezone)) if at.tzinfo else at
    member = refused = None
    if basket.card or basket.member_number is not None:
        try:
            found_member, card, account, referred = member_to_credit(first, card=basket.card,
                                                                     member_number=basket.member_number)
            member = MemberToCredit(found_member, card, account or ledger.lock_member_account(found_member), referred)
        except LoyaltyError as error:
            refused = error
    if list_refused is not None and refused is None:
        refused = list_refused
    if scanned is not None and refused is None:
        try:
            offers_till.check_list(scanned, local_time.date(), member.member.customer_id if member else None)
        except OfferError as error:
            refused = error
    terms = offers_till.offers_for_till(first["offers_stamp"], ledger.now_utc())
    member_offers = (offers_till.member_offers(member.member, local_time.date(), terms)
                     if member is not None and terms else None)
    rules = _rules_in_force(local_time.date(), first["rules_stamp"]) if member else []
    # The day's earlier points matter only to a daily cap: no query when there is none.
    has_daily_cap = any(rule.kind == EarningRule.Kind.DAILY_CAP for rule in rules)
    earned_today = _earned_on_local_day(member.member, local_time) if has_daily_cap else 0
    return CheckoutRead(key, programme, products, local_time, rules, member, refused, earned_today, terms,
                        member_offers)


def _rules_in_force(on: date, rules_stamp: str | None) -> list[EarningRule]:
    """`rules.active_rules(on)`, read once per worker for as long as the rules' version stays the
    same (a rule saved in the admin changes it, so the next basket reads the rules again); read
    every time when there is no version (SQLite)."""
    if rules_stamp is None:
        return active_rules(on)
    rules = _rules_kept.get((rules_stamp, on))
    if rules is None:
        if len(_rules_kept) > 8:  # old versions and days: never needed again
            _rules_kept.clear()
        rules = _rules_kept[(rules_stamp, on)] = active_rules(on)
    return rules


def _earned_on_local_day(member, local_time: datetime) -> int:
    """Points the member earned on baskets of the same store-local day (for the daily cap)."""
    start = datetime.combine(local_time.date(), time.min, tzinfo=local_time.tzinfo)
    earned = Basket.objects.filter(member=member, transacted_at__gte=start,
                                   transacted_at__lt=start + timedelta(days=1)).aggregate(total=Sum("points_earned"))
    return earned["total"] or 0


def _check_basket(basket: BasketIn, key: ApiKey, programme: Programme, products: dict[int, ProductFacts]) -> None:
    if basket.store_id != key.store_id:
        raise errors.StoreNotAllowed(f"this key belongs to store {key.store_id}, not store {basket.store_id}")
    if basket.transacted_at.tzinfo is None:
        raise errors.BasketFromFuture("give transacted_at with a time zone (UTC)", field="transacted_at")
    skew = timedelta(seconds=programme.clock_skew_seconds)
    now = ledger.now_utc()
    if basket.transacted_at > now + skew:
        raise errors.BasketFromFuture(f"transacted_at {basket.transacted_at.isoformat()} is in the future")
    if basket.transacted_at < now - MAX_BASKET_AGE:
        raise errors.BasketTooOld(f"transacted_at {basket.transacted_at.isoformat()} is more than "
                                  f"{MAX_BASKET_AGE.days} days ago: load history with the transaction import")
    if not basket.lines:
        raise errors.InvalidAmount("a basket has at least one line", field="lines")
    seen = set()
    for index, line in enumerate(basket.lines):
        where = f"lines[{index}]"
        if line.quantity <= 0:
            raise errors.NegativeQuantity(f"{where}.quantity must be positive: returns go to the return call",
                                          field=f"{where}.quantity")
        if line.unit_price < 0 or line.discount < 0:
            raise errors.InvalidAmount(f"{where}: prices and discounts are not negative", field=f"{where}.unit_price")
        if line.discount > line.quantity * line.unit_price:
            raise errors.InvalidAmount(f"{where}.discount exceeds the line's amount", field=f"{where}.discount")
        if line.line_no in seen:
            raise errors.InvalidAmount(f"{where}.line_no {line.line_no} appears twice", field=f"{where}.line_no")
        seen.add(line.line_no)
    for index, line in enumerate(basket.lines):
        if line.product_id not in products:
            raise errors.UnknownProduct(f"no product {line.product_id}", field=f"lines[{index}].product_id")


def decide(basket: BasketIn, read: CheckoutRead, fingerprint: str) -> BasketToWrite:
    """The checkout decided, in plain Python with no SQL: the basket checked (the first fault
    refused with its error), then the member (`read.member_refused`), the points earned by the
    rules in force, and the basket to write with the till's answer in it (`record.result`; the
    member's balance is put in by the store, which sums it where it writes)."""
    key, programme = read.key, read.programme
    _check_basket(basket, key, programme, read.products)
    if read.member_refused is not None:
        raise read.member_refused
    sales = {line.line_no: (line.quantity * line.unit_price - line.discount).quantize(CENT) for line in basket.lines}
    offers = _apply_offers(basket, read, sales) if read.offer_terms else None
    if offers is not None:
        for line in offers.result.lines:  # points are earned on what is paid: the amount after offers
            sales[line.line_no] -= line.discount
    result = {"receipt": basket.receipt, "total": str(sum(sales.values(), Decimal(0))), "points_earned": 0,
              "explanation": [], "bonuses": [], "member_number": None, "balance": None, "tier": None,
              "message": "Thank you for shopping with us.", "replayed": False}
    earning = Earning(line_points={})
    member = read.member
    account = available_from = expires_on = shown = None
    if member is not None:
        account, now = member.account, ledger.now_utc()
        context = EarningContext(key.store_id, read.local_time, account.tier, read.earned_today)
        earning = earn_on_basket([LineToEarn(line.line_no, read.products[line.product_id], sales[line.line_no])
                                  for line in basket.lines], context, read.rules)
        if offers is not None and offers.applied:
            earning = _with_offer_points(earning, offers)
        available_from = basket.transacted_at + timedelta(days=programme.return_window_days)
        expires_on = ledger.add_months(read.local_time.date(), programme.expiry_months)
        earned_now = earning.total if available_from <= now else 0
        shown = PointsShown(ledger.Balance(earned_now, earning.total - earned_now),
                            _receipt_message(member.member, earning.total))
        result |= {"points_earned": earning.total, "explanation": earning.explanation,
                   "member_number": member.member.customer_id, "tier": account.tier.name if account.tier else None}
    if offers is not None and offers.applied:
        result |= offers_till.answer_parts(offers)
    record = unsaved(Basket, id=None, store_id=key.store_id, till_id=basket.till_id,
                     receipt_number=basket.receipt_number, transacted_at=basket.transacted_at,
                     member_id=member.member.pk if member else None, card_id=member.card.pk if member and member.card else None,
                     channel=basket.channel, total=Decimal(result["total"]), points_earned=earning.total,
                     request_hash=fingerprint, result=result, actor=key.actor, created_at=ledger.now_utc(),
                     lake_import_id="", synced_at=None)
    given = {line.line_no: line.discount for line in offers.result.lines} if offers is not None else {}
    lines = [LineToRecord(line.line_no, line.product_id, line.quantity, line.unit_price,
                          line.discount + given.get(line.line_no, 0), sales[line.line_no],
                          earning.line_points.get(line.line_no, 0))
             for line in basket.lines]
    return BasketToWrite(record, lines, earning, account, available_from, expires_on, shown,
                         offers if offers is not None and offers.applied else None)


def _apply_offers(basket: BasketIn, read: CheckoutRead, sales: dict[int, Decimal]) -> offers_till.TillOffers:
    """Every offer on the member's list and every general offer the basket earns, applied to what is
    left of each line after the till's own discount (plain Python: `offers.evaluate`)."""
    lines = []
    for line in basket.lines:
        product = read.products[line.product_id]
        lines.append(OfferLine(line.line_no, line.product_id, line.quantity, sales[line.line_no], product.department,
                               product.category, product.manufacturer_id, product.brand_type))
    return offers_till.apply_to_basket(lines, read.offer_terms, read.member_offers, basket.transacted_at)


def _with_offer_points(earning: Earning, offers: offers_till.TillOffers) -> Earning:
    """The earning with the offers' points: a line's points times its offers' multiplier (rounded
    down), and each offer's bonus points, each explained by the offer's code."""
    line_points = dict(earning.line_points)
    explanation = list(earning.explanation)
    extra_by_code: dict[str, int] = {}
    for line in offers.result.lines:
        if line.points_multiplier != 1 and line_points.get(line.line_no):
            before = line_points[line.line_no]
            line_points[line.line_no] = int(before * line.points_multiplier)
            code = line.offer_codes[-1] if line.offer_codes else "offer"
            extra_by_code[code] = extra_by_code.get(code, 0) + line_points[line.line_no] - before
    for applied in offers.result.applied:
        if applied.bonus_points:
            extra_by_code[applied.code] = extra_by_code.get(applied.code, 0) + applied.bonus_points
    for code, points in extra_by_code.items():
        if points:
            explanation.append({"rule_id": None, "version": None, "rule": f"offer {code}", "points": points})
    total = earning.total + sum(extra_by_code.values())
    return Earning(total=total, line_points=line_points, explanation=explanation)


def _receipt_message(member, points_today: int) -> str:
    """The receipt's message: a template whose two %s are the points available and pending."""
    return f"{member.display_name.replace('%', '%%')}: {points_today} points today, %s to spend, %s pending."


def with_bonuses(decided: BasketToWrite, member, bonuses: list[dict]) -> BasketToWrite:
    """The decided basket with the member's bonuses it triggered in its answer and receipt message."""
    if not bonuses:
        return decided
    decided.record.result["bonuses"] = bonuses
    today = decided.earning.total + sum(bonus["points"] for bonus in bonuses)
    return decided._replace(shown=decided.shown._replace(message=_receipt_message(member, today)))
