"""Posting a basket and returning its lines: one transaction each, at most once per receipt."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Sum

from clientele.catalog.models import Product
from clientele.loyalty import errors, ledger
from clientele.loyalty.bonuses import award_basket_bonuses
from clientele.loyalty.identity import resolve_member
from clientele.loyalty.models import ApiKey, Basket, BasketLine, EarningRule, PointsEntry, Programme
from clientele.loyalty.rules import Earning, EarningContext, LineToEarn, active_rules, earn_on_basket

CENT = Decimal("0.01")
#: A till's offline queue is hours or days old, never years: older history comes by bulk import.
MAX_BASKET_AGE = timedelta(days=400)
Kind = PointsEntry.Kind


@dataclass(frozen=True)
class LineIn:
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
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str).encode()).hexdigest()


@lru_cache(maxsize=1024)
def store_zone(timezone_name: str) -> ZoneInfo:
    return ZoneInfo(timezone_name)


def post_basket(basket: BasketIn, key: ApiKey) -> dict:
    """Record a checkout and credit its points. Returns the till's answer: points earned with the
    rule behind each, bonuses, the new balance, tier and a receipt message. Posting the same
    receipt again (an offline queue replayed, a retry after a timeout) returns the first answer
    and credits nothing."""
    if basket.store_id != key.store_id:
        raise errors.StoreNotAllowed(f"this key belongs to store {key.store_id}, not store {basket.store_id}")
    programme = Programme.current()
    _check_basket(basket, programme)
    fingerprint = basket.fingerprint()
    try:
        with transaction.atomic():
            return _record_basket(basket, key, fingerprint, programme)
    except errors.DuplicateBasket:
        # Recorded by an earlier or concurrent call (now committed): answer as the first time.
        return _replay(basket, fingerprint)


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


def _record_basket(basket: BasketIn, key: ApiKey, fingerprint: str, programme: Programme) -> dict:
    # No look-up for an earlier copy of the receipt: the unique constraint on the insert decides,
    # which also holds for a concurrent duplicate (it waits for the first and then fails).
    products = Product.objects.in_bulk({line.product_id for line in basket.lines})
    for index, line in enumerate(basket.lines):
        if line.product_id not in products:
            raise errors.UnknownProduct(f"no product {line.product_id}", field=f"lines[{index}].product_id")
    member = card = account = None
    if basket.card or basket.member_number is not None:
        member, card = resolve_member(card=basket.card, member_number=basket.member_number)
        account = ledger.lock_member_account(member)
    local_time = basket.transacted_at.astimezone(store_zone(key.store.timezone))
    sales = {line.line_no: (line.quantity * line.unit_price - line.discount).quantize(CENT) for line in basket.lines}
    result = {"receipt": basket.receipt, "total": str(sum(sales.values(), Decimal(0))), "points_earned": 0,
              "explanation": [], "bonuses": [], "member_number": None, "balance": None, "tier": None,
              "message": "Thank you for shopping with us.", "replayed": False}
    earning = None
    if account is not None:
        earning = _earn(basket, key, account, member, products, sales, local_time)
        available_from = basket.transacted_at + timedelta(days=programme.return_window_days)
        before = ledger.balance(account.pk)
        bonuses = award_basket_bonuses(member, account, local_time, key.actor)
        earned_now = earning.total if available_from <= ledger.now_utc() else 0
        points = ledger.Balance(before.available + earned_now + sum(b["points"] for b in bonuses),
                                before.pending + earning.total - earned_now)
        result |= {
            "points_earned": earning.total, "explanation": earning.explanation, "bonuses": bonuses,
            "member_number": member.customer_id, "balance": points.as_dict(),
            "tier": account.tier.name if account.tier else None,
            "message": f"{member.display_name}: {earning.total + sum(b['points'] for b in bonuses)} points today, "
                       f"{points.available} to spend, {points.pending} pending.",
        }
    try:
        record = Basket.objects.create(
            store_id=key.store_id, till_id=basket.till_id, receipt_number=basket.receipt_number,
            transacted_at=basket.transacted_at, member=member, card=card, channel=basket.channel,
            total=Decimal(result["total"]), points_earned=earning.total if earning else 0,
            request_hash=fingerprint, result=result, actor=key.actor,
        )
    except IntegrityError:
        raise errors.DuplicateBasket(f"receipt {basket.receipt} already recorded") from None
    BasketLine.objects.bulk_create([
        BasketLine(basket=record, line_no=line.line_no, product_id=line.product_id, quantity=line.quantity,
                   unit_price=line.unit_price, discount=line.discount, sales_value=sales[line.line_no],
                   points=earning.line_points.get(line.line_no, 0) if earning else 0)
        for line in basket.lines
    ])
    if earning is not None and earning.total:
        credit_basket(account, record, earning, available_from,
                      ledger.add_months(local_time.date(), programme.expiry_months))
    return result


def _earn(basket: BasketIn, key: ApiKey, account, member, products, sales, local_time: datetime) -> Earning:
    rules = active_rules(local_time.date())
    # The day's earlier points matter only to a daily cap: skip the query when there is none.
    has_daily_cap = any(rule.kind == EarningRule.Kind.DAILY_CAP for rule in rules)
    earned_today = _earned_on_local_day(member, local_time) if has_daily_cap else 0
    lines = [LineToEarn(line.line_no, products[line.product_id], sales[line.line_no]) for line in basket.lines]
    return earn_on_basket(lines, EarningContext(key.store_id, local_time, account.tier, earned_today), rules)


def credit_basket(account, record: Basket, earning: Earning, available_from: datetime, expires_on) -> None:
    """Append the basket's points to the ledger: the last write of a checkout."""
    ledger.append(account, Kind.POINTS_EARNED, earning.total, key=f"earn:{record.store_id}/{record.till_id}/"
                  f"{record.receipt_number}", source=f"basket {record.store_id}/{record.till_id}/{record.receipt_number}",
                  actor=record.actor, basket=record, available_from=available_from, expires_on=expires_on,
                  explanation=earning.explanation)


def _earned_on_local_day(member, local_time: datetime) -> int:
    """Points the member earned on baskets of the same store-local day (for the daily cap)."""
    start = datetime.combine(local_time.date(), time.min, tzinfo=local_time.tzinfo)
    earned = Basket.objects.filter(member=member, transacted_at__gte=start,
                                   transacted_at__lt=start + timedelta(days=1)).aggregate(total=Sum("points_earned"))
    return earned["total"] or 0
