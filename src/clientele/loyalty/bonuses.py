"""Points for actions that are not purchases: profile completed, review written, a referral that
led to a first basket, the birthday month. Each is granted at most once per occasion."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from clientele.loyalty import errors, ledger
from clientele.loyalty.models import Basket, EarningRule, LoyaltyAccount, PointsEntry, Programme, Referral
from clientele.loyalty.rules import action_bonus_rule

Action = EarningRule.Action


def _grant(account: LoyaltyAccount, rule: EarningRule, key: str, source: str, actor: str, today) -> dict | None:
    """Append the bonus unless this occasion was already rewarded; returns what was granted."""
    if PointsEntry.objects.filter(idempotency_key=key).exists():
        return None
    ledger.append(account, PointsEntry.Kind.BONUS_AWARDED, rule.bonus_points, key=key, source=source, actor=actor,
                  rule=rule, expires_on=ledger.add_months(today, Programme.current().expiry_months),
                  explanation=[{"rule_id": rule.pk, "rule": rule.name, "points": rule.bonus_points}])
    return {"rule_id": rule.pk, "rule": rule.name, "points": rule.bonus_points}


def award_bonus(member, action: str, reference: str, actor: str) -> dict | None:
    """Reward a non-purchase action (profile completed, review written) once per `reference`
    (e.g. the review's id; empty for once-in-a-lifetime actions). Returns the bonus granted, or
    None when no active rule rewards it or it was already rewarded."""
    if action not in (Action.PROFILE_COMPLETED, Action.REVIEW_WRITTEN):
        raise errors.InvalidAmount(f"{action!r} is not an action rewarded on request", field="action")
    today = ledger.now_utc().date()
    rule = action_bonus_rule(action, today)
    if rule is None:
        return None
    with transaction.atomic():
        account = ledger.lock_account(ledger.account_for_member(member).pk)
        return _grant(account, rule, f"bonus:{action}:{member.customer_id}:{reference}",
                      f"{action} {reference}".strip(), actor, today)


def award_basket_bonuses(member, account: LoyaltyAccount, local_time: datetime, actor: str) -> list[dict]:
    """Bonuses a basket triggers, inside the basket's transaction (the member's account is locked,
    the basket not yet inserted):
    the birthday month (once a year) and the referrer's reward on the member's first basket.
    Returns the member's own bonuses; the referrer's is credited to the referrer."""
    today = local_time.date()
    granted = []
    if member.birth_date and member.birth_date.month == today.month:
        rule = action_bonus_rule(Action.BIRTHDAY_MONTH, today)
        if rule is not None:
            bonus = _grant(account, rule, f"bonus:birthday_month:{member.customer_id}:{today.year}",
                           f"birthday month {today:%Y-%m}", actor, today)
            granted += [bonus] if bonus else []
    referral = Referral.objects.filter(referred=member).select_related("referrer").first()
    if referral is not None and not Basket.objects.filter(member=member).exists():
        rule = action_bonus_rule(Action.REFERRAL, today)
        if rule is not None:
            # A credit needs no lock on the referrer's account: only debits can overdraw it.
            _grant(ledger.account_for_member(referral.referrer), rule, f"bonus:referral:{member.customer_id}",
                   f"referral of member {member.customer_id}", actor, today)
    return granted
