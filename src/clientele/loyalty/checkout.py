"""Posting a basket and returning its lines: one transaction each, at most once per receipt."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import Sum

from clientele.loyalty import errors, ledger, libpq
from clientele.loyalty.bonuses import award_basket_bonuses
from clientele.loyalty.identity import (PresentedKey, loaded, member_to_credit, member_to_credit_sql,
                                        till_key, till_key_sql, unsaved)
from clientele.loyalty.models import ApiKey, Basket, BasketLine, EarningRule, PointsEntry, Programme
from clientele.loyalty.rules import Earning, EarningContext, LineToEarn, active_rules, earn_on_basket

CENT = Decimal("0.01")
_SORTED_JSON = json.JSONEncoder(sort_keys=True)
#: A till's offline queue is hours or days old, never years: older history comes by bulk import.
MAX_BASKET_AGE = timedelta(days=400)
Kind = PointsEntry.Kind


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
        return hashlib.sha256(_SORTED_JSON.encode(content).encode()).hexdigest()


class ProductFacts(NamedTuple):
    """What the earning rules look at in a basket's product (read in plain SQL, no model instance)."""

    product_id: int
    department: str
    category: str
    brand_type: str


class LineToRecord(NamedTuple):
    """A basket line as it is written: the till's line, what it sold for and the points it earned."""

    line_no: int
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    sales_value: Decimal
    points: int


@lru_cache(maxsize=1024)
def store_zone(timezone_name: str) -> ZoneInfo:
    return ZoneInfo(timezone_name)


def post_basket(basket: BasketIn, key: ApiKey | PresentedKey) -> dict:
    """Record a checkout and credit its points. Returns the till's answer: points earned with the
    rule behind each, bonuses, the new balance, tier and a receipt message. Posting the same
    receipt again (an offline queue replayed, a retry after a timeout) returns the first answer
    and credits nothing. `key` is the till's key, or the one it presented, checked here before
    anything else (errors.KeyRefused)."""
    fingerprint = basket.fingerprint()
    try:
        with transaction.atomic():
            return _record_basket(basket, key, fingerprint)
    except errors.DuplicateBasket:
        # Recorded by an earlier or concurrent call (now committed): answer as the first time.
        return _replay(basket, fingerprint)
    except IntegrityError:
        # The receipt's uniqueness is DuplicateBasket: this is a foreign key, checked at the commit.
        raise errors.ReferenceRemoved("the member, card, store or a product of this basket was removed while it "
                                      "was recorded: nothing was recorded") from None


class FirstRead(NamedTuple):
    """What a checkout reads before it decides anything (see `_first_read`)."""

    key: ApiKey
    programme: Programme
    rules_stamp: str | None
    products: dict[int, ProductFacts]
    member_row: tuple


#: A checkout's first read, in one query: the till's key with its store's time zone (no row: the
#: key is refused), the programme's settings, on PostgreSQL the earning rules' version (any
#: change to any rule, by any path, changes it: `_RULES_STAMP`), the member to credit with their
#: points account locked until the end of the transaction, and the basket's products with what
#: the earning rules look at: one row per product found.
_FIRST_READ = """
WITH till_key AS ({till_key}), member AS ({member})
SELECT till_key.*, p.return_window_days, p.expiry_months, p.clock_skew_seconds, {rules_stamp}, member.*,
       product.product_id, product.department, product.category, product.brand_type
FROM loyalty_programme p
LEFT JOIN till_key ON 1 = 1
LEFT JOIN member ON 1 = 1
LEFT JOIN catalog_product product ON product.product_id {products}
WHERE p.id = 1
"""
#: The earning rules' version (PostgreSQL: a trigger on the rules table sets it, migration
#: loyalty 0008): a new number with every change to any rule, by any path.
_RULES_STAMP = "(SELECT version::text FROM loyalty_rulesversion WHERE id = 1)"
#: Where each part sits in a row of `_FIRST_READ`.
_KEY, _PROGRAMME, _RULES_STAMP_AT, _MEMBER, _PRODUCT = slice(0, 5), slice(5, 8), 8, slice(9, 22), slice(23, 27)
#: The rules in force, kept in the worker by (rules version, day): see `_rules_in_force`.
_rules_kept: dict[tuple[str, date], list[EarningRule]] = {}


def _first_read(basket: BasketIn, key: ApiKey | PresentedKey) -> FirstRead:
    """The till's key (errors.KeyRefused when there is none), the programme, the earning rules'
    version (None on SQLite), the basket's products by product number and the row of the
    member to credit (`identity.member_to_credit_sql`; NULLs when there is none), in one
    plain-SQL query that every checkout runs first, in its transaction."""
    key_sql, key_params = till_key_sql(key)
    member_sql, member_params = member_to_credit_sql(basket.card, basket.member_number)
    product_ids = list({line.product_id for line in basket.lines})
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each `connection.x` costs a thread-local look-up
    if db.vendor == "postgresql":  # one statement whatever the number of products
        # The array as its text (`_array_text`): psycopg's list dumper cost more Python than the
        # rest of the parameters together.
        products, product_params = "= ANY(%s::bigint[])", [_array_text(product_ids)]
    else:  # no products (a basket without lines, refused later): a condition no product meets
        products = f"IN ({', '.join(['%s'] * len(product_ids))})" if product_ids else "IS NULL"
        product_params = product_ids
    sql = _FIRST_READ.format(till_key=key_sql, member=member_sql, products=products,
                             rules_stamp=_RULES_STAMP if db.vendor == "postgresql" else "NULL")
    params = [*key_params, *member_params, *product_params]
    found_rows = libpq.rows(db, sql, params)
    if not found_rows:  # the first checkout ever: the programme is created with its defaults
        Programme.current()
        found_rows = libpq.rows(db, sql, params)
    first = found_rows[0]
    if first[_KEY][0] is None:
        raise errors.KeyRefused()
    return_window_days, expiry_months, clock_skew_seconds = first[_PROGRAMME]
    programme = loaded(Programme, id=1, return_window_days=return_window_days, expiry_months=expiry_months,
                       clock_skew_seconds=clock_skew_seconds)
    found = {row[_PRODUCT][0]: ProductFacts(*row[_PRODUCT]) for row in found_rows if row[_PRODUCT][0] is not None}
    return FirstRead(till_key(first[_KEY]), programme, first[_RULES_STAMP_AT], found, first[_MEMBER])


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


def _check_basket(basket: BasketIn, programme: Programme) -> None:
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


def _replay(basket: BasketIn, fingerprint: str) -> dict:
    first = Basket.objects.filter(store_id=basket.store_id, till_id=basket.till_id,
                                  receipt_number=basket.receipt_number).first()
    if first.request_hash != fingerprint:
        raise errors.ReceiptReused(f"receipt {basket.receipt} was already posted with other content")
    return first.result | {"replayed": True}


def _record_basket(basket: BasketIn, key: ApiKey | PresentedKey, fingerprint: str) -> dict:
    # No look-up for an earlier copy of the receipt: the unique constraint on the insert decides,
    # which also holds for a concurrent duplicate (it waits for the first and then fails).
    read = _first_read(basket, key)
    key, programme, products = read.key, read.programme, read.products
    if basket.store_id != key.store_id:
        raise errors.StoreNotAllowed(f"this key belongs to store {key.store_id}, not store {basket.store_id}")
    _check_basket(basket, programme)
    for index, line in enumerate(basket.lines):
        if line.product_id not in products:
            raise errors.UnknownProduct(f"no product {line.product_id}", field=f"lines[{index}].product_id")
    member = card = account = None
    if basket.card or basket.member_number is not None:
        member, card, account, referred = member_to_credit(read.member_row, card=basket.card,
                                                           member_number=basket.member_number)
        account = account or ledger.lock_member_account(member)
    local_time = basket.transacted_at.astimezone(store_zone(key.store.timezone))
    sales = {line.line_no: (line.quantity * line.unit_price - line.discount).quantize(CENT) for line in basket.lines}
    result = {"receipt": basket.receipt, "total": str(sum(sales.values(), Decimal(0))), "points_earned": 0,
              "explanation": [], "bonuses": [], "member_number": None, "balance": None, "tier": None,
              "message": "Thank you for shopping with us.", "replayed": False}
    earning = Earning(line_points={})
    available_from = expires_on = shown = None
    if account is not None:
        earning = _earn(basket, key, account, member, products, sales, local_time, read.rules_stamp)
        available_from = basket.transacted_at + timedelta(days=programme.return_window_days)
        expires_on = ledger.add_months(local_time.date(), programme.expiry_months)
        bonuses = award_basket_bonuses(member, account, local_time, key.actor, referred=referred)
        earned_now = earning.total if available_from <= ledger.now_utc() else 0
        # The balance (with the bonuses just granted, available at once) is summed where the
        # basket is written, in the same round trip: `credit_basket` puts it in the answer.
        shown = PointsShown(added=ledger.Balance(earned_now, earning.total - earned_now),
                            message=f"{member.display_name.replace('%', '%%')}: "
                                    f"{earning.total + sum(b['points'] for b in bonuses)} points today, "
                                    "%s to spend, %s pending.")
        result |= {
            "points_earned": earning.total, "explanation": earning.explanation, "bonuses": bonuses,
            "member_number": member.customer_id, "tier": account.tier.name if account.tier else None,
        }
    record = unsaved(Basket, id=None, store_id=key.store_id, till_id=basket.till_id,
                     receipt_number=basket.receipt_number, transacted_at=basket.transacted_at,
                     member_id=member.pk if member else None, card_id=card.pk if card else None,
                     channel=basket.channel, total=Decimal(result["total"]), points_earned=earning.total,
                     request_hash=fingerprint, result=result, actor=key.actor, created_at=ledger.now_utc(),
                     lake_import_id="", synced_at=None)
    lines = [LineToRecord(line.line_no, line.product_id, line.quantity, line.unit_price, line.discount,
                          sales[line.line_no], earning.line_points.get(line.line_no, 0))
             for line in basket.lines]
    # The last statement of the checkout's transaction: committed in its round trip.
    credit_basket(account, record, lines, earning, available_from, expires_on, shown, commit=True)
    return result


def _earn(basket: BasketIn, key: ApiKey, account, member, products, sales, local_time: datetime,
          rules_stamp: str | None) -> Earning:
    rules = _rules_in_force(local_time.date(), rules_stamp)
    # The day's earlier points matter only to a daily cap: skip the query when there is none.
    has_daily_cap = any(rule.kind == EarningRule.Kind.DAILY_CAP for rule in rules)
    earned_today = _earned_on_local_day(member, local_time) if has_daily_cap else 0
    lines = [LineToEarn(line.line_no, products[line.product_id], sales[line.line_no]) for line in basket.lines]
    return earn_on_basket(lines, EarningContext(key.store_id, local_time, account.tier, earned_today), rules)


class PointsShown(NamedTuple):
    """What a member's answer shows of their points: the balance when the basket is written plus
    `added` (what the basket earned: available now, pending), and the receipt message, a
    template whose two %s are those available and pending points."""

    added: ledger.Balance
    message: str


def _show_points(result: dict, shown: PointsShown, available: int, pending: int) -> None:
    """Put the member's points after the basket in the answer (`_BASKET_STATEMENT` does the same
    in the stored one)."""
    result["balance"] = ledger.Balance(available, pending).as_dict()
    result["message"] = shown.message % (available, pending)


def credit_basket(account, record: Basket, lines: list[LineToRecord], earning: Earning, available_from: datetime | None,
                  expires_on, shown: PointsShown | None = None, *, commit: bool = False) -> None:
    """Write the basket, its lines and its points (a ledger entry, when it earned any): the last
    writes of a checkout, in the caller's transaction, with the member's points after the basket
    put in its answer (`record.result`) when `shown`. Raises DuplicateBasket when the receipt is
    already recorded (by an earlier call, or a concurrent one once it commits). `commit`: these are the
    last writes of the transaction `post_basket` opened; on PostgreSQL its `COMMIT` is sent with
    them (`libpq.rows`)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        return _write_basket_in_one_statement(db, account, record, lines, available_from, expires_on, shown, commit)
    if shown is not None:
        before = ledger.balance(account.pk)
        _show_points(record.result, shown, before.available + shown.added.available,
                     before.pending + shown.added.pending)
    try:
        record.save(force_insert=True)
    except IntegrityError:
        raise errors.DuplicateBasket(f"receipt {record.store_id}/{record.till_id}/{record.receipt_number} "
                                     "already recorded") from None
    BasketLine.objects.bulk_create([BasketLine(basket=record, **line._asdict()) for line in lines])
    if earning.total:
        ledger.credit(account, Kind.POINTS_EARNED, earning.total, key=ledger.basket_credit_key(record.pk),
                      source=_source(record),
                      actor=record.actor, basket=record, available_from=available_from, expires_on=expires_on,
                      explanation=earning.explanation)


def _source(record: Basket) -> str:
    return f"basket {record.store_id}/{record.till_id}/{record.receipt_number}"


#: The basket, its lines and its ledger credit in one round trip (PostgreSQL), with the member's
#: points after the basket (summed as `ledger.balance` sums them, under the account's lock, plus
#: what the basket adds) put in the stored answer when there is a message to show them in: the
#: basket insert yields nothing when the receipt is already recorded, and then neither do the others.
_AVAILABLE_AT, _PENDING_AT = ledger.balance_sums_sql("%(at)s")
_BASKET_STATEMENT = f"""
WITH points AS (
    SELECT COALESCE({_AVAILABLE_AT}, 0)::bigint + %(available_added)s AS available,
           COALESCE({_PENDING_AT}, 0)::bigint + %(pending_added)s AS pending
    FROM loyalty_pointsentry e WHERE e.account_id = %(account_id)s
), basket AS (
    INSERT INTO loyalty_basket (store_id, till_id, receipt_number, transacted_at, member_id, card_id, channel,
                                total, points_earned, request_hash, result, actor, created_at, lake_import_id,
                                synced_at)
    SELECT %(store_id)s, %(till_id)s, %(receipt_number)s, %(transacted_at)s, %(member_id)s, %(card_id)s,
           %(channel)s, %(total)s, %(points_earned)s, %(request_hash)s,
           CASE WHEN %(message)s::text IS NULL THEN %(result)s::jsonb
                ELSE %(result)s::jsonb || jsonb_build_object(
                    'balance', jsonb_build_object('available', points.available, 'pending', points.pending),
                    'message', format(%(message)s::text, points.available, points.pending)) END,
           %(actor)s, %(created_at)s, '', NULL
    FROM points
    ON CONFLICT ON CONSTRAINT basket_receipt_once DO NOTHING
    RETURNING id
), basket_lines AS (
    INSERT INTO loyalty_basketline (basket_id, line_no, product_id, quantity, unit_price, discount, sales_value,
                                    points, returned_quantity)
    SELECT basket.id, line.line_no, line.product_id, line.quantity, line.unit_price, line.discount,
           line.sales_value, line.points, 0
    FROM basket, unnest(%(line_nos)s::integer[], %(product_ids)s::bigint[], %(quantities)s::numeric[],
                        %(unit_prices)s::numeric[], %(discounts)s::numeric[], %(sales_values)s::numeric[],
                        %(line_points)s::bigint[])
         AS line(line_no, product_id, quantity, unit_price, discount, sales_value, points)
), {ledger.BASKET_CREDIT_SQL}
SELECT basket.id, points.available, points.pending FROM basket, points
"""


def _write_basket_in_one_statement(db, account, record: Basket, lines: list[LineToRecord],
                                   available_from: datetime | None, expires_on, shown: PointsShown | None,
                                   commit: bool) -> None:
    added = shown.added if shown else ledger.Balance(0, 0)
    written = libpq.rows(db, _BASKET_STATEMENT, {
        "store_id": record.store_id, "till_id": record.till_id, "receipt_number": record.receipt_number,
        "transacted_at": record.transacted_at, "member_id": record.member_id, "card_id": record.card_id,
        "channel": record.channel, "total": record.total, "points_earned": record.points_earned,
        "request_hash": record.request_hash, "result": json.dumps(record.result), "actor": record.actor,
        "created_at": record.created_at,
        # The lines as seven arrays, one per column, each sent as its text (`{1,2,3}`): cheaper to
        # make than psycopg's list dumper, and for PostgreSQL to read than a JSON document.
        **dict(zip(_LINE_COLUMNS, map(_array_text, list(zip(*lines)) or [()] * len(_LINE_COLUMNS)))),
        "account_id": account.pk if account else None, "kind": Kind.POINTS_EARNED.value,
        "available_from": available_from, "expires_on": expires_on, "source": _source(record),
        "at": ledger.now_utc(), "available_added": added.available, "pending_added": added.pending,
        "message": shown.message if shown else None,
    }, commit=commit)
    if not written:
        raise errors.DuplicateBasket(f"receipt {record.store_id}/{record.till_id}/{record.receipt_number} "
                                     "already recorded")
    record.pk, available, pending = written[0]
    if shown is not None:
        _show_points(record.result, shown, available, pending)


#: `_BASKET_STATEMENT`'s parameters for the columns of `LineToRecord`, in its order.
_LINE_COLUMNS = ("line_nos", "product_ids", "quantities", "unit_prices", "discounts", "sales_values", "line_points")


def _array_text(values) -> str:
    """PostgreSQL's text of an array of ints or Decimals (`{1,2.50,3}`): nothing in their text
    needs quoting. Sent for `%s::bigint[]` and the like, it costs less Python than a list through
    psycopg's list dumper."""
    return "{" + ",".join(map(str, values)) + "}"


def _earned_on_local_day(member, local_time: datetime) -> int:
    """Points the member earned on baskets of the same store-local day (for the daily cap)."""
    start = datetime.combine(local_time.date(), time.min, tzinfo=local_time.tzinfo)
    earned = Basket.objects.filter(member=member, transacted_at__gte=start,
                                   transacted_at__lt=start + timedelta(days=1)).aggregate(total=Sum("points_earned"))
    return earned["total"] or 0
