"""After-sales care (PRODUCT.md §6: "after-sales follow-up calls for high-value customers"): every
large purchase of a member of a high value tier puts a call on the list; an agent works the list,
largest purchase first, and records whether they reached the member, the outcome and notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count

from clientele.care import errors
from clientele.care.models import FollowUpCall
from clientele.config import settings
from clientele.loyalty import ledger
from clientele.loyalty.models import Basket
from clientele.members.models import Member


@dataclass(frozen=True)
class FollowUpRules:
    """Who is called: members of `tiers` (value tiers of the nightly profile) after a basket of at
    least `basket_total`, bought within the last `days` days."""

    tiers: tuple[str, ...]
    basket_total: Decimal
    days: int

    @classmethod
    def configured(cls) -> FollowUpRules:
        """The rules of the settings CLIENTELE_FOLLOW_UP_TIERS, _BASKET and _DAYS."""
        current = settings()
        tiers = tuple(t.strip() for t in current.follow_up_tiers.split(",") if t.strip())
        return cls(tiers, Decimal(str(current.follow_up_basket)).quantize(Decimal("0.01")), current.follow_up_days)


def list_follow_ups(now: datetime | None = None, rules: FollowUpRules | None = None) -> int:
    """Put on the call list every large basket of the last `rules.days` days bought by an active
    member of a follow-up tier, once per basket (the list's unique basket: running it again adds
    only new baskets). Returns the number of calls added."""
    rules = rules or FollowUpRules.configured()
    now = now or ledger.now_utc()
    baskets = (Basket.objects.filter(member__isnull=False, member__status=Member.Status.ACTIVE,
                                     total__gte=rules.basket_total, transacted_at__gte=now - timedelta(days=rules.days),
                                     member__profile__value_tier__in=rules.tiers)
               .exclude(pk__in=FollowUpCall.objects.values("basket_id"))
               .values_list("pk", "member_id", "total", "transacted_at", "member__profile__value_tier"))
    calls = [FollowUpCall(basket_id=pk, member_id=member_id, basket_total=total, bought_at=bought, value_tier=tier,
                          listed_at=now) for pk, member_id, total, bought, tier in baskets]
    with transaction.atomic():
        # a concurrent run may have listed the same baskets: the unique basket keeps one call each
        created = FollowUpCall.objects.bulk_create(calls, ignore_conflicts=True)
    return len(created)


def call_list(pending_only: bool = True):
    """The calls to make, largest purchase first (with the member); every call without `pending_only`."""
    calls = FollowUpCall.objects.select_related("member", "basket")
    return calls.filter(outcome=FollowUpCall.Outcome.PENDING) if pending_only else calls


def record_follow_up(call_id: int, actor: str, outcome: str, notes: str = "") -> FollowUpCall:
    """What the agent's call gave: the outcome (unreachable, satisfied, issue) and notes; an issue
    needs a note saying what it is. A call is recorded once (InvalidCall for one already
    recorded). Returns the call."""
    if outcome not in FollowUpCall.Outcome.values or outcome == FollowUpCall.Outcome.PENDING:
        raise errors.InvalidCall("the outcome is one of unreachable, satisfied or issue")
    if outcome == FollowUpCall.Outcome.ISSUE and not notes.strip():
        raise errors.InvalidCall("say in the notes what the member's issue is", field="notes")
    if len(notes) > 5000:
        raise errors.InvalidCall("notes are at most 5,000 characters", field="notes")
    with transaction.atomic():
        call = FollowUpCall.objects.select_for_update().filter(pk=call_id).first()
        if call is None:
            raise errors.InvalidCall(f"no follow-up call {call_id}", field="call")
        if call.outcome != FollowUpCall.Outcome.PENDING:
            raise errors.InvalidCall(f"follow-up call {call_id} was already recorded by {call.called_by}",
                                     field="call")
        call.called_at, call.called_by, call.outcome, call.notes = ledger.now_utc(), actor, outcome, notes.strip()
        call.save(update_fields=["called_at", "called_by", "outcome", "notes"])
    return call


def follow_up_summary() -> dict[str, int]:
    """Calls per outcome (every outcome, zero included)."""
    counts = dict(FollowUpCall.objects.values_list("outcome").annotate(n=Count("pk")))
    return {value: counts.get(value, 0) for value in FollowUpCall.Outcome.values}
