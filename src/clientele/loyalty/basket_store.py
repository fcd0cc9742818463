"""Where a decided checkout is written: one interface, two stores, the same rows.

`checkout` decides what to write (`BasketToWrite`); a store writes it as the last thing the
checkout's transaction does, and nothing may follow (on PostgreSQL the write carries the
transaction's COMMIT, and the connection refuses any query after it until the block ends:
`libpq.rows(..., commit=True)`).

- `OrmStore`: Django's ORM, in the caller's transaction (SQLite; and PostgreSQL when asked).
- `OneStatementStore` (PostgreSQL, the till's default): the basket, its lines and its credit in one
  statement sent with the COMMIT, one round trip (decisions 0006, 0015).
Both raise errors.DuplicateBasket when the receipt is already recorded, both record the offers'
redemptions with the basket (taking their budgets and the member's uses, or refusing the whole
write: offers.errors.BudgetExhausted, MemberLimitReached), both credit through the ledger's door (`ledger.credit`, `ledger.BASKET_CREDIT_SQL`), and both put the member's points
after the basket in the answer; tests/loyalty/test_basket_stores.py runs one body against both.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, connections
from pydantic_core import to_json

from clientele.loyalty import errors, ledger, libpq
from clientele.offers import till as offers_till
from clientele.loyalty.models import Basket, BasketLine, LoyaltyAccount, PointsEntry
from clientele.loyalty.rules import Earning
from clientele.members.models import Member

Kind = PointsEntry.Kind


class LineToRecord(NamedTuple):
    """A basket line as it is written: the till's line, what it sold for and the points it earned."""

    line_no: int
    product_id: int
    quantity: object  # Decimal
    unit_price: object
    discount: object
    sales_value: object
    points: int


class PointsShown(NamedTuple):
    """What a member's answer shows of their points: the balance when the basket is written plus
    `added` (what the basket earned: available now, pending), and the receipt message, a
    template whose two %s are those available and pending points."""

    added: ledger.Balance
    message: str


class BasketToWrite(NamedTuple):
    """A checkout as decided: the basket (its answer in `record.result`), its lines, its earning
    and, for a member, their account, when the points become spendable and expire, and what the
    answer shows of their points."""

    record: Basket
    lines: list[LineToRecord]
    earning: Earning
    account: LoyaltyAccount | None = None
    available_from: datetime | None = None
    expires_on: date | None = None
    shown: PointsShown | None = None
    offers: object | None = None  # offers.till.TillOffers: the offers applied, their redemptions to record


def duplicate(record: Basket) -> errors.DuplicateBasket:
    return errors.DuplicateBasket(f"receipt {record.store_id}/{record.till_id}/{record.receipt_number} already recorded")


def source(record: Basket) -> str:
    """The ledger's description of a basket's credit (the key is `ledger.basket_credit_key`)."""
    return f"basket {record.store_id}/{record.till_id}/{record.receipt_number}"


def show_points(result: dict, shown: PointsShown, available: int, pending: int) -> None:
    """Put the member's points after the basket in the answer."""
    result["balance"] = ledger.Balance(available, pending).as_dict()
    result["message"] = shown.message % (available, pending)


def member_changed(record: Basket) -> errors.MemberChangedMeanwhile:
    return errors.MemberChangedMeanwhile(f"member {record.member_id} was closed (merged or erased) while receipt "
                                         f"{record.store_id}/{record.till_id}/{record.receipt_number} was posted")


class OrmStore:
    """Writes a checkout through Django's ORM, in the caller's transaction."""

    def write(self, basket: BasketToWrite) -> None:
        record, shown = basket.record, basket.shown
        if record.member_id is not None and connection.vendor == "postgresql" and not Member.objects.filter(
                pk=record.member_id, status=Member.Status.ACTIVE).exists():
            raise member_changed(record)  # as `MEMBER_CHECK`: on SQLite the first read is already serialised
        if shown is not None:
            before = ledger.balance(basket.account.pk)
            show_points(record.result, shown, before.available + shown.added.available,
                        before.pending + shown.added.pending)
        try:
            record.save(force_insert=True)
        except IntegrityError:
            raise duplicate(record) from None
        BasketLine.objects.bulk_create([BasketLine(basket=record, **line._asdict()) for line in basket.lines])
        if basket.offers is not None:
            offers_till.record_with_orm(record, basket.offers)
        if basket.earning.total:
            ledger.credit(basket.account, Kind.POINTS_EARNED, basket.earning.total,
                          key=ledger.basket_credit_key(record.pk), source=source(record), actor=record.actor,
                          basket=record, available_from=basket.available_from, expires_on=basket.expires_on,
                          explanation=basket.earning.explanation)


#: The basket, its lines and its ledger credit in one statement (PostgreSQL), with the member's
#: points after the basket (summed as `ledger.balance` sums them, under the account's lock, plus
#: what the basket adds) put in the stored answer when there is a message to show them in: the
#: basket insert yields nothing when the receipt is already recorded, and then neither do the others.
_AVAILABLE_AT, _PENDING_AT = ledger.balance_sums_sql("%(at)s")
#: The member is still active when the basket is written: the checkout's first read took their
#: account's lock, but read the card's member as it was when that statement began; a merge (or an
#: erasure) that held the lock meanwhile closed that member and moved their points. This statement
#: reads afresh (READ COMMITTED: a snapshot of its own) and refuses itself, rolling back whole
#: (bonuses included): the checkout is decided again and credits the survivor.
MEMBER_CHECK = """CASE WHEN %(member_id)s::bigint IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM members_member m WHERE m.id = %(member_id)s AND m.status = 'active')
    THEN clientele_refuse('member_changed_meanwhile') END AS member_refused"""
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
SELECT basket.id AS basket_id, points.available AS available, points.pending AS pending, {MEMBER_CHECK}
FROM basket, points
"""


def _with_offers(ctes: str, check: str) -> str:
    """`_BASKET_STATEMENT` with the offers' redemptions (`ctes`) and the column refusing it (`check`)."""
    statement = _BASKET_STATEMENT.replace(
        "\nSELECT basket.id AS basket_id, points.available AS available, points.pending AS pending, ",
        f", {ctes}\nSELECT basket.id AS basket_id, points.available AS available, "
        f"points.pending AS pending, {check}, ")
    assert statement != _BASKET_STATEMENT
    return statement


#: `_BASKET_STATEMENT` with the offers' redemptions (`offers.till.REDEMPTION_CTES`): used only for
#: a basket that earned offers, so the others' statement stays as it was; without the members'
#: uses when none of its offers has a per-member limit.
_BASKET_WITH_OFFERS_STATEMENT = _with_offers(offers_till.REDEMPTION_CTES, offers_till.REDEMPTION_CHECK)
_BASKET_WITH_UNLIMITED_OFFERS_STATEMENT = _with_offers(offers_till.REDEMPTION_CTES_UNLIMITED,
                                                       offers_till.REDEMPTION_CHECK_UNLIMITED)
#: `_BASKET_STATEMENT`'s parameters for the columns of `LineToRecord`, in its order.
_LINE_COLUMNS = ("line_nos", "product_ids", "quantities", "unit_prices", "discounts", "sales_values", "line_points")


class OneStatementStore:
    """Writes a checkout on PostgreSQL in one statement, sent with the transaction's COMMIT."""

    def write(self, basket: BasketToWrite) -> None:
        record, shown, account = basket.record, basket.shown, basket.account
        added = shown.added if shown else ledger.Balance(0, 0)
        statement, offer_params = _BASKET_STATEMENT, {}
        if basket.offers is not None:
            offer_params = offers_till.redemption_params(basket.offers)
            statement = (_BASKET_WITH_OFFERS_STATEMENT if offer_params["limited_ids"] != "{}"
                         else _BASKET_WITH_UNLIMITED_OFFERS_STATEMENT)
        try:
            written = self._write(record, basket, account, added, shown, statement, offer_params)
        except DatabaseError as error:
            refused = offers_till.refusal(error) if basket.offers is not None else None
            if refused is None and "member_changed_meanwhile" in str(getattr(error, "__cause__", None) or error):
                refused = member_changed(record)
            if refused is None:
                raise
            raise refused from None
        if not written:
            raise duplicate(record)
        row = written[0]
        record.pk = row["basket_id"]
        if shown is not None:
            show_points(record.result, shown, row["available"], row["pending"])

    @staticmethod
    def _write(record, basket: BasketToWrite, account, added, shown, statement: str, offer_params: dict) -> list:
        return libpq.records(connections[DEFAULT_DB_ALIAS], statement, {
            "store_id": record.store_id, "till_id": record.till_id, "receipt_number": record.receipt_number,
            "transacted_at": record.transacted_at, "member_id": record.member_id, "card_id": record.card_id,
            "channel": record.channel, "total": record.total, "points_earned": record.points_earned,
            # The answer as JSON by pydantic-core's encoder (the API's own): a third of `json.dumps`'s
            # time on the 4 kB answer of a basket with 20 offers; jsonb keeps the same document.
            "request_hash": record.request_hash, "result": to_json(record.result).decode(), "actor": record.actor,
            "created_at": record.created_at,
            # The lines as seven arrays, one per column, each sent as its text (`{1,2,3}`): cheaper to
            # make than psycopg's list dumper, and for PostgreSQL to read than a JSON document.
            **dict(zip(_LINE_COLUMNS, map(array_text, list(zip(*basket.lines)) or [()] * len(_LINE_COLUMNS)))),
            "account_id": account.pk if account else None, "kind": Kind.POINTS_EARNED.value,
            "available_from": basket.available_from, "expires_on": basket.expires_on, "source": source(record),
            "at": ledger.now_utc(), "available_added": added.available, "pending_added": added.pending,
            "message": shown.message if shown else None, **offer_params,
        }, commit=True)


def array_text(values) -> str:
    """PostgreSQL's text of an array of ints or Decimals (`{1,2.50,3}`): nothing in their text
    needs quoting. Sent for `%s::bigint[]` and the like, it costs less Python than a list through
    psycopg's list dumper."""
    return "{" + ",".join(map(str, values)) + "}"


def default_store() -> OrmStore | OneStatementStore:
    """The store a checkout writes with: one statement on PostgreSQL, the ORM elsewhere."""
    return OneStatementStore() if connections[DEFAULT_DB_ALIAS].vendor == "postgresql" else OrmStore()
