"""The tier review: members move up and down on 12-month spend and visits, never on the balance.

A member who qualifies for a higher tier moves up at once. One who falls below the current tier's
thresholds keeps it for the programme's grace period, then moves down to the tier they qualify
for; qualifying again during the grace period ends it. Every move and grace period is recorded
with its reason and the figures behind it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum

from clientele.loyalty.models import Basket, BasketReturn, LoyaltyAccount, Programme, Tier, TierChange


def qualifying_tier(tiers: list[Tier], spend: Decimal, visits: int) -> Tier | None:
    """The highest tier whose spend and visit thresholds are both met (tiers ordered by rank)."""
    met = [t for t in tiers if spend >= t.min_spend_12m and visits >= t.min_visits_12m]
    return met[-1] if met else None


def activity_12m(today: date) -> dict[int, tuple[Decimal, int]]:
    """Per member id: spend net of refunds and number of baskets in the 12 months to `today`."""
    since = today - timedelta(days=365)
    spend = {
        row["member_id"]: [row["spend"] or Decimal(0), row["visits"]]
        for row in Basket.objects.filter(member__isnull=False, transacted_at__date__gt=since,
                                         transacted_at__date__lte=today)
        .values("member_id").annotate(spend=Sum("total"), visits=Count("id")).order_by()
    }
    refunds = (BasketReturn.objects.filter(basket__member__isnull=False, returned_at__date__gt=since)
               .values("basket__member_id").annotate(refunded=Sum("refund")).order_by())
    for row in refunds:
        if row["basket__member_id"] in spend:
            spend[row["basket__member_id"]][0] -= row["refunded"]
    return {member: (total, visits) for member, (total, visits) in spend.items()}


def review_tiers(today: date) -> dict[str, int]:
    """Move every member to the tier their last 12 months earn, with the grace period on the way
    down. Returns how many members moved up, moved down, entered grace, and were unchanged."""
    tiers = list(Tier.objects.order_by("rank"))
    grace = timedelta(days=Programme.current().tier_grace_days)
    activity = activity_12m(today)
    counts = {"promoted": 0, "demoted": 0, "grace_started": 0, "grace_ended": 0, "unchanged": 0}
    for account in LoyaltyAccount.objects.select_related("tier").order_by("pk").iterator(chunk_size=2000):
        spend, visits = activity.get(account.member_id, (Decimal(0), 0))
        target = qualifying_tier(tiers, spend, visits)
        outcome = _review_one(account, target, spend, visits, today, grace)
        counts[outcome] += 1
    return counts


def _rank(tier: Tier | None) -> int:
    return -1 if tier is None else tier.rank


def _review_one(account: LoyaltyAccount, target: Tier | None, spend: Decimal, visits: int,
                today: date, grace: timedelta) -> str:
    current = account.tier
    figures = f"12-month spend {spend.quantize(Decimal('0.01'))}, {visits} visits"
    if _rank(target) == _rank(current):
        if account.tier_grace_until is None:
            return "unchanged"
        reason, outcome, to = f"qualifies again for {current}: grace period ended ({figures})", "grace_ended", current
        account.tier_grace_until = None
    elif _rank(target) > _rank(current):
        reason, outcome, to = f"promoted: meets the thresholds of {target} ({figures})", "promoted", target
        account.tier, account.tier_since, account.tier_grace_until = target, today, None
    elif current is not None and account.tier_grace_until is None and grace:
        account.tier_grace_until = today + grace
        reason = f"below the thresholds of {current} ({figures}): kept until {account.tier_grace_until}"
        outcome, to = "grace_started", current
    elif account.tier_grace_until is not None and today < account.tier_grace_until:
        return "unchanged"
    else:
        reason = f"demoted: grace period over, qualifies for {target or 'no tier'} ({figures})"
        outcome, to = "demoted", target
        account.tier, account.tier_since, account.tier_grace_until = target, today, None
    with transaction.atomic():
        account.save(update_fields=["tier", "tier_since", "tier_grace_until"])
        TierChange.objects.create(account=account, from_tier=current, to_tier=to, reason=reason,
                                  spend_12m=spend, visits_12m=visits, reviewed_on=today)
    return outcome
