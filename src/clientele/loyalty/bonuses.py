"""Points for actions that are not purchases: profile completed, review written, a referral that
led to a first basket (recorded by `record_referral`), the birthday month. Each is granted at most
once per occasion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from clientele.loyalty import errors, ledger
from clientele.loyalty.identity import resolve_member
from clientele.loyalty.models import ApiKey, Basket, EarningRule, LoyaltyAccount, PointsEntry, Programme, Referral
from clientele.loyalty.rules import action_bonus_rule, explain

Action = EarningRule.Action
#: Actions a till or the back office reports, and what makes one occasion of each.
REPORTED_ACTIONS = {Action.PROFILE_COMPLETED: "once per member", Action.REVIEW_WRITTEN: "once per review"}


@dataclass(frozen=True)
class ActionIn:
    """A non-purchase action reported for a member (by card or member number); `reference`
    names the occasion (the review's id; none for a completed profile, rewarded once)."""

    store_id: int
    action: str
    reference: str = ""
    card: str | None = None
    member_number: int | None = None


def _grant(account: LoyaltyAccount, rule: EarningRule, key: str, source: str, actor: str, today) -> dict | None:
    """Append the bonus unless this occasion was already rewarded; returns what was granted."""
    if PointsEntry.objects.filter(idempotency_key=key).exists():
        return None
    credit = explain(rule, rule.name, rule.bonus_points)
    ledger.credit(account, PointsEntry.Kind.BONUS_AWARDED, rule.bonus_points, key=key, source=source, actor=actor,
                  rule=rule, expires_on=ledger.add_months(today, Programme.current().expiry_months),
                  explanation=[credit])
    return credit


def _occasion_key(member, action: str, reference: str) -> str:
    if action not in REPORTED_ACTIONS:
        raise errors.InvalidAmount(f"{action!r} is not an action rewarded on request", field="action")
    if action == Action.PROFILE_COMPLETED:
        return f"bonus:{action}:{member.customer_id}"
    if not reference:
        raise errors.MissingReference(f"a {action} bonus names its occasion (the review's id)")
    # A review is rewarded once, whoever reports it: the same review cannot earn twice.
    return f"bonus:{action}:{reference}"


def _reward(member, action: str, reference: str, actor: str) -> tuple[PointsEntry, bool]:
    """The ledger entry rewarding this occasion and whether it already existed (a replay)."""
    key = _occasion_key(member, action, reference)
    today = ledger.now_utc().date()
    with transaction.atomic():
        account = ledger.lock_member_account(member)
        entry = PointsEntry.objects.filter(idempotency_key=key).first()
        if entry is None:
            rule = action_bonus_rule(action, today)
            if rule is None:
                raise errors.BonusNotOffered(f"no active earning rule rewards {action} today")
            try:
                with transaction.atomic():  # a savepoint: a concurrent report of the same review may win
                    return ledger.credit(
                        account, PointsEntry.Kind.BONUS_AWARDED, rule.bonus_points, key=key,
                        source=f"{action} {reference}".strip(), actor=actor, rule=rule,
                        expires_on=ledger.add_months(today, Programme.current().expiry_months),
                        explanation=[explain(rule, rule.name, rule.bonus_points)]), False
            except IntegrityError:
                entry = PointsEntry.objects.get(idempotency_key=key)
    if entry.account_id != account.pk:
        raise errors.ReferenceReused(f"{action} {reference} was already rewarded to another member")
    return entry, True


def award_bonus(member, action: str, reference: str, actor: str) -> dict | None:
    """Reward a non-purchase action (profile completed: once per member; review written: once per
    review, `reference` being its id). Returns the bonus granted `{rule_id, version, rule, points}`,
    or None when no active rule rewards it or it was already rewarded."""
    try:
        entry, replayed = _reward(member, action, reference, actor)
    except errors.BonusNotOffered:
        return None
    return None if replayed else entry.explanation[0]


def reward_action(request: ActionIn, key: ApiKey) -> dict:
    """A till's or the back office's report of a non-purchase action: the bonus is credited once
    per occasion; reporting it again answers the first credit with `replayed: true`. Returns the
    member number, action, reference, points awarded with the rule version behind them, and the
    member's balance in points."""
    if request.store_id != key.store_id:
        raise errors.StoreNotAllowed(f"this key belongs to store {key.store_id}, not store {request.store_id}")
    member, _ = resolve_member(card=request.card, member_number=request.member_number)
    entry, replayed = _reward(member, request.action, request.reference, key.actor)
    return {"member_number": member.customer_id, "action": request.action, "reference": request.reference,
            "points_awarded": entry.amount, "explanation": entry.explanation,
            "balance": ledger.balance(entry.account_id).as_dict(), "replayed": replayed}


def record_referral(referrer, referred) -> Referral:
    """Record that `referrer` brought `referred` (both members), so the referral bonus goes to the
    referrer at the referred member's first basket (`award_basket_bonuses`, once). ReferralRefused
    for one's own referral, a member who already shopped, or one already referred (the database's
    one referral per referred member decides between two at once). One transaction."""
    if referrer.pk == referred.pk:
        raise errors.ReferralRefused("a member cannot refer themselves")
    with transaction.atomic():
        if Basket.objects.filter(member=referred).exists():
            raise errors.ReferralRefused("the referral bonus is for a friend's first shop: you have shopped already")
        try:
            with transaction.atomic():
                return Referral.objects.create(referrer=referrer, referred=referred)
        except IntegrityError:
            raise errors.ReferralRefused("you were already referred by a member") from None


def award_basket_bonuses(member, account: LoyaltyAccount, local_time: datetime, actor: str,
                         referred: bool = True) -> list[dict]:
    """Bonuses a basket triggers, inside the basket's transaction (the member's account is locked,
    the basket not yet inserted):
    the birthday month (once a year) and the referrer's reward on the member's first basket.
    Returns the member's own bonuses; the referrer's is credited to the referrer. `referred=False`
    (the caller already knows the member was not referred) spares the referral look-up."""
    today = local_time.date()
    granted = []
    if member.birth_date and member.birth_date.month == today.month:
        rule = action_bonus_rule(Action.BIRTHDAY_MONTH, today)
        if rule is not None:
            bonus = _grant(account, rule, f"bonus:birthday_month:{member.customer_id}:{today.year}",
                           f"birthday month {today:%Y-%m}", actor, today)
            granted += [bonus] if bonus else []
    referral = Referral.objects.filter(referred=member).select_related("referrer").first() if referred else None
    if referral is not None and not Basket.objects.filter(member=member).exists():
        rule = action_bonus_rule(Action.REFERRAL, today)
        if rule is not None:
            # A credit needs no lock on the referrer's account: only debits can overdraw it.
            _grant(ledger.account_for_member(referral.referrer), rule, f"bonus:referral:{member.customer_id}",
                   f"referral of member {member.customer_id}", actor, today)
    return granted


def event_bonus_key(event_code: str, customer_id: int) -> str:
    """The ledger's idempotency key of a member's bonus for a member event: one per member and event."""
    return f"event:{event_code}:{customer_id}"


def credit_event_bonus(member, event_code: str, points: int, actor: str) -> tuple[PointsEntry, bool]:
    """Credit `points` to the member for taking part in member event `event_code`, once per member
    and event (the ledger's unique idempotency key), inside the caller's transaction, the member's
    account locked. Returns the entry and whether it already existed (a replay)."""
    if points < 1:
        raise errors.InvalidAmount(f"an event bonus is at least 1 point, not {points}", field="bonus_points")
    key = event_bonus_key(event_code, member.customer_id)
    today = ledger.now_utc().date()
    account = ledger.lock_member_account(member)
    entry = PointsEntry.objects.filter(idempotency_key=key).first()
    if entry is not None:
        return entry, True
    try:
        with transaction.atomic():  # a savepoint: the same attendance recorded at once elsewhere may win
            return ledger.credit(account, PointsEntry.Kind.EVENT_BONUS, points, key=key,
                                 source=f"member event {event_code}", actor=actor,
                                 expires_on=ledger.add_months(today, Programme.current().expiry_months),
                                 explanation=[{"rule_id": None, "rule": f"member event {event_code}",
                                               "points": points}]), False
    except IntegrityError:
        return PointsEntry.objects.get(idempotency_key=key), True
