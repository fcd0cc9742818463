"""Spending points: on a catalogue reward, or as payment for part of an amount, at the till; on a
catalogue reward in the member portal (a voucher the member shows to collect it).

One ledger for every channel: a redemption locks the member's account and is refused when the
available balance does not cover it, so points spent on one channel are gone for all of them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction

from clientele.loyalty import errors, idempotency, ledger
from clientele.loyalty.identity import resolve_member
from clientele.loyalty.models import ApiKey, PointsEntry, Programme, Redemption, Reward

CENT = Decimal("0.01")


@dataclass(frozen=True)
class RedemptionIn:
    """A till's request to spend points: a reward code, or an amount of money to pay with points."""

    store_id: int
    redemption_id: str
    card: str | None = None
    member_number: int | None = None
    reward_code: str | None = None
    amount: Decimal | None = None


def redeem(request: RedemptionIn, key: ApiKey) -> dict:
    """Spend the member's available points. Payment: floor(amount / point value) points cover
    that many points x point value of the amount; the rest is paid otherwise. Returns the points
    spent, the money they cover, the reward given and the new balance; a replayed redemption id
    answers the first result and spends nothing."""
    if request.store_id != key.store_id:
        raise errors.StoreNotAllowed(f"this key belongs to store {key.store_id}, not store {request.store_id}")
    if (request.reward_code is None) == (request.amount is None):
        raise errors.InvalidAmount("give either a reward_code or an amount", field="amount")
    if request.amount is not None and request.amount <= 0:
        raise errors.InvalidAmount("the amount to pay with points must be positive", field="amount")
    redemption_key = f"redeem:{request.store_id}:{request.redemption_id}"
    request_hash = idempotency.fingerprint(request)

    def lock():
        try:
            member, _ = resolve_member(card=request.card, member_number=request.member_number)
        except errors.LoyaltyError:
            return None  # no account to wait for: a replay is still answered, a first call refused by record()
        ledger.lock_member_account(member)
        return member

    def record(member) -> dict:
        if member is None:  # refused with the reason (unknown card, closed member...)
            member, _ = resolve_member(card=request.card, member_number=request.member_number)
        return _record(request, key, member, redemption_key, request_hash)

    return _once(redemption_key, request.redemption_id, request_hash, record, lock)


def _once(redemption_key: str, redemption_id: str, request_hash: str, record: Callable[[object], dict],
          lock: Callable[[], object]) -> dict:
    """`record(what lock() returned)` in one transaction unless a redemption under the key was
    recorded (the first answer then, or RequestReused): `lock()` first, so that of two requests at
    once the second finds the first's record (a double click), not the balance the first left."""
    try:
        with transaction.atomic():
            locked = lock()
            first = Redemption.objects.filter(redemption_key=redemption_key).first()
            if first is not None:
                return _replayed(first, redemption_id, request_hash)
            return record(locked)
    except IntegrityError:
        first = Redemption.objects.filter(redemption_key=redemption_key).first()
        if first is None:
            raise
        return _replayed(first, redemption_id, request_hash)


def _replayed(first: Redemption, redemption_id: str, request_hash: str) -> dict:
    return idempotency.replayed(first.result, first.request_hash, request_hash,
                                f"redemption id {redemption_id}", "redemption_id")


def _record(request: RedemptionIn, key: ApiKey, member, redemption_key: str, request_hash: str) -> dict:
    account = ledger.account_for_member(member)
    reward = None
    if request.reward_code is not None:
        reward = _available_reward(request.reward_code)
        points, money = reward.points_price, Decimal(0)
        source = f"reward {reward.code}"
    else:
        point_value = Programme.current().point_value
        points = int((request.amount / point_value).to_integral_value(rounding=ROUND_DOWN))
        if points == 0:
            raise errors.InvalidAmount(f"{request.amount} is worth less than one point ({point_value})", field="amount")
        money = (points * point_value).quantize(CENT, rounding=ROUND_DOWN)
        source = f"payment of {money}"
    ledger.spend(account, PointsEntry.Kind.POINTS_REDEEMED, points, key=redemption_key,
                 source=f"{source} at store {request.store_id}", actor=key.actor)  # or InsufficientPoints
    if reward is not None:
        _take_one(reward)
    result = {
        "redemption_id": request.redemption_id, "points_spent": points, "money_value": str(money),
        "amount_left_to_pay": str(request.amount - money) if request.amount is not None else None,
        "reward": reward.name if reward else None,
        "balance": ledger.balance(account.pk).as_dict(), "replayed": False,
    }
    Redemption.objects.create(account=account, redemption_key=redemption_key, request_hash=request_hash,
                              store_id=request.store_id, reward=reward, points=points, money_value=money, result=result)
    return result


def _take_one(reward: Reward) -> None:
    """One of the reward's stock given (a reward without a stock is unlimited)."""
    if reward.stock is not None:
        reward.stock -= 1
        reward.save(update_fields=["stock"])


def _available_reward(code: str) -> Reward:
    reward = Reward.objects.select_for_update().filter(code=code).first()
    if reward is None:
        raise errors.UnknownReward(f"no reward {code!r}")
    today = ledger.now_utc().date()
    if (reward.valid_from and today < reward.valid_from) or (reward.valid_until and today > reward.valid_until):
        raise errors.RewardUnavailable(f"reward {code!r} is not offered today")
    if reward.stock is not None and reward.stock <= 0:
        raise errors.RewardUnavailable(f"reward {code!r} is out of stock")
    return reward


#: A voucher's characters: no 0/O or 1/I/L to misread at the till.
VOUCHER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class RewardRequest:
    """A member's redemption of a catalogue reward in the portal; `redemption_id` is the page's or
    the app's id of this redemption (a double click or a replay sends the same one)."""

    member_number: int
    redemption_id: str
    reward_code: str


def redeem_reward(member, redemption_id: str, reward_code: str, actor: str) -> dict:
    """Spend the member's available points on a catalogue reward (the portal): the points leave the
    same ledger as at the till, under the account's lock, in one transaction with the reward's stock
    and a voucher code the member shows to collect the reward. Returns the redemption id, the
    reward, the points spent, the voucher and the new balance; the same redemption id again answers
    the first result (`replayed`) and spends nothing. InsufficientPoints when the available points
    fall short, UnknownReward, RewardUnavailable (not offered today, out of stock), RequestReused
    for the id reused for another reward."""
    request_hash = idempotency.fingerprint(RewardRequest(member.customer_id, redemption_id, reward_code))
    redemption_key = f"portal:{member.customer_id}:{redemption_id}"
    account = ledger.account_for_member(member)

    def record(_locked) -> dict:
        reward = _available_reward(reward_code)
        ledger.spend(account, PointsEntry.Kind.POINTS_REDEEMED, reward.points_price, key=redemption_key,
                     source=f"reward {reward.code} in the member portal", actor=actor)  # or InsufficientPoints
        _take_one(reward)
        voucher = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(10))
        result = {"redemption_id": redemption_id, "reward_code": reward.code, "reward": reward.name,
                  "points_spent": reward.points_price, "voucher": voucher,
                  "balance": ledger.balance(account.pk).as_dict(), "replayed": False}
        Redemption.objects.create(account=account, redemption_key=redemption_key,
                                  request_hash=request_hash, store=None, reward=reward,
                                  points=reward.points_price, money_value=Decimal(0), voucher_code=voucher,
                                  result=result)
        return result

    return _once(redemption_key, redemption_id, request_hash, record, lock=lambda: ledger.lock_account(account.pk))
