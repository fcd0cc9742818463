"""Returning lines of an earlier basket, on any channel: the points go back in proportion."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction

from clientele.loyalty import errors, idempotency, ledger
from clientele.loyalty.models import ApiKey, Basket, BasketLine, BasketReturn, PointsEntry, Programme, ReturnLine

CENT = Decimal("0.01")
Kind = PointsEntry.Kind
Policy = Programme.NegativeBalancePolicy


@dataclass(frozen=True)
class ReturnIn:
    """Lines brought back (`{line_no: quantity}`) at `store_id` from the basket identified by the
    original store, till and receipt number; `return_id` is the returning till's own receipt."""

    store_id: int
    return_id: str
    original_store_id: int
    original_till_id: str
    original_receipt_number: str
    lines: dict[int, Decimal] = field(default_factory=dict)


def share_of(amount: Decimal | int, part: Decimal, whole: Decimal) -> Decimal:
    """`amount` x part / whole rounded down: to cents for money, to whole points for points."""
    step = CENT if isinstance(amount, Decimal) else Decimal(1)
    return (Decimal(amount) * part / whole).quantize(step, rounding=ROUND_DOWN)


def return_lines(request: ReturnIn, key: ApiKey) -> dict:
    """Take back lines of an earlier basket: reverse their points in proportion and work out the
    refund. Points still pending are reversed from pending; points already spendable from the
    available balance, following the programme's negative-balance policy (carry the debt, or
    reduce the refund by the value of the points already spent). Returns the refund due, the
    reduction, the points reversed and the new balance; a replayed return id gets the first answer."""
    if request.store_id != key.store_id:
        raise errors.StoreNotAllowed(f"this key belongs to store {key.store_id}, not store {request.store_id}")
    if not request.lines:
        raise errors.InvalidAmount("name at least one line to return", field="lines")
    for line_no, quantity in request.lines.items():
        if quantity <= 0:
            raise errors.NegativeQuantity(f"the quantity returned of line {line_no} must be positive",
                                          field=f"lines[{line_no}].quantity")
    return_key = f"return:{request.store_id}:{request.return_id}"
    request_hash = idempotency.fingerprint(request)
    try:
        with transaction.atomic():
            return _record_return(request, key, return_key, request_hash)
    except IntegrityError:
        first = BasketReturn.objects.filter(return_key=return_key).first()
        if first is None:
            raise
        return _replayed(first, request, request_hash)


def _replayed(first: BasketReturn, request: ReturnIn, request_hash: str) -> dict:
    return idempotency.replayed(first.result, first.request_hash, request_hash, f"return id {request.return_id}",
                                "return_id")


def _record_return(request: ReturnIn, key: ApiKey, return_key: str, request_hash: str) -> dict:
    first = BasketReturn.objects.filter(return_key=return_key).first()
    if first is not None:
        return _replayed(first, request, request_hash)
    receipt = f"{request.original_store_id}/{request.original_till_id}/{request.original_receipt_number}"
    basket = Basket.objects.filter(store_id=request.original_store_id, till_id=request.original_till_id,
                                   receipt_number=request.original_receipt_number).select_related("member").first()
    if basket is None:
        raise errors.UnknownBasket(f"no basket {receipt}")
    account = ledger.lock_account(ledger.account_for_member(basket.member).pk) if basket.member else None
    lines = {line.line_no: line for line in BasketLine.objects.select_for_update().filter(basket=basket)}
    refund, points, taken = Decimal(0), 0, []
    for line_no, quantity in sorted(request.lines.items()):
        line = lines.get(line_no)
        if line is None:
            raise errors.ReturnExceedsPurchase(f"basket {receipt} has no line {line_no}", field=f"lines[{line_no}]")
        returned = line.returned_quantity + quantity
        if returned > line.quantity:
            raise errors.ReturnExceedsPurchase(
                f"line {line_no}: {returned} returned of {line.quantity} bought", field=f"lines[{line_no}].quantity")
        # Shares of the cumulative quantity, minus what earlier returns took: no rounding drift.
        line_refund = share_of(line.sales_value, returned, line.quantity) - share_of(
            line.sales_value, line.returned_quantity, line.quantity)
        line_points = int(share_of(line.points, returned, line.quantity) - share_of(
            line.points, line.returned_quantity, line.quantity))
        line.returned_quantity = returned
        taken.append((line, quantity, line_refund, line_points))
        refund += line_refund
        points += line_points
    reduction, balance = Decimal(0), None
    if account is not None and points:
        reversed_points, reduction = _reverse_points(account, basket, receipt, points, refund, return_key, key.actor)
        taken = _points_actually_reversed(taken, reversed_points)
        points = reversed_points
    if account is not None:
        balance = ledger.balance(account.pk).as_dict()
    record = BasketReturn.objects.create(
        basket=basket, return_key=return_key, request_hash=request_hash, store_id=request.store_id,
        returned_at=ledger.now_utc(), refund=refund, refund_reduction=reduction, points_reversed=points, result={},
        actor=key.actor,
    )
    ReturnLine.objects.bulk_create([
        ReturnLine(basket_return=record, basket_line=line, quantity=quantity, refund=line_refund,
                   points_reversed=line_points)
        for line, quantity, line_refund, line_points in taken
    ])
    BasketLine.objects.bulk_update([line for line, *_ in taken], ["returned_quantity"])
    record.result = {
        "return_id": request.return_id, "receipt": receipt, "refund": str(refund),
        "refund_reduction": str(reduction), "refund_due": str(refund - reduction), "points_reversed": points,
        "balance": balance, "replayed": False,
    }
    record.save(update_fields=["result"])
    _reverse_offers(basket, return_key)
    return record.result


def _reverse_offers(basket: Basket, return_key: str) -> None:
    """The offers the basket redeemed given back (budget, count, the member's use), once per basket:
    a first return of any of its lines reverses them whole (decision 0031: no proration)."""
    from clientele.offers.models import OfferRedemption  # offers build on loyalty, not the reverse
    from clientele.offers.services import reverse_redemptions

    if OfferRedemption.objects.filter(basket=basket).exists():
        reverse_redemptions(basket, return_key, ledger.now_utc())


def _points_actually_reversed(taken: list[tuple], reversed_points: int) -> list[tuple]:
    """The returned lines with the points the ledger reversed shared out among them, in line
    order, each line taking at most its own share: under the reduce-refund policy the ledger may
    reverse fewer points than the lines earned (the rest reduces the refund), and the lines
    stored say what the ledger did."""
    shared, left = [], reversed_points
    for line, quantity, line_refund, line_points in taken:
        share = min(line_points, left)
        left -= share
        shared.append((line, quantity, line_refund, share))
    return shared


def _reverse_points(account, basket: Basket, receipt: str, points: int, refund: Decimal,
                    return_key: str, actor: str) -> tuple[int, Decimal]:
    """Append the reversal; returns the points the ledger reversed and how much the refund is
    reduced (reduce-refund policy only: the points it could not reverse, at the point value)."""
    earned = PointsEntry.objects.get(idempotency_key=ledger.basket_credit_key(basket.pk))
    entry = {"key": return_key, "source": f"return {return_key} of basket {receipt}", "actor": actor,
             "basket": basket, "expires_on": earned.expires_on}
    if earned.available_from > ledger.now_utc():  # still in the return window: they leave the pending balance
        return ledger.spend(account, Kind.POINTS_REVERSED, points, available_from=earned.available_from,
                            overdraw=True, **entry), Decimal(0)
    programme = Programme.current()
    reduce_refund = programme.negative_balance_policy == Policy.REDUCE_REFUND
    # Carry the debt: all of them, whatever the balance; reduce the refund: what is available.
    reversed_points = ledger.spend(account, Kind.POINTS_REVERSED, points, up_to_available=reduce_refund,
                                   overdraw=not reduce_refund, **entry)
    reduction = min(refund, ((points - reversed_points) * programme.point_value).quantize(CENT))
    return reversed_points, reduction
