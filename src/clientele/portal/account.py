"""What the portal shows of a member's account, every figure from the ledger, the baskets and the
programme's tiers as they are now, and the one write it makes: a reward redeemed with the member's
points through the ledger's own redemption (docs/portal.md, decision 0110)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from clientele.barcodes import ean13_svg
from clientele.identity.merging import merged_numbers
from clientele.loyalty import ledger, redemption
from clientele.loyalty.models import LoyaltyAccount, PointsEntry, Redemption, Reward, Tier
from clientele.loyalty.errors import InsufficientPoints
from clientele.members.models import Card, Member
from clientele.portal import errors
from clientele.portal.profile import actor

#: Entries shown on the account page (newest first); the API pages further.
HISTORY_LENGTH = 20
#: Month ends ahead for which the points expiring by then are shown.
EXPIRY_MONTHS_SHOWN = 3
#: Rewards redeemed in the portal shown with their voucher (newest first).
VOUCHERS_SHOWN = 20


@dataclass(frozen=True)
class TierProgress:
    """The member's tier, the 12-month spend and visits it is earned on, and what is left to reach
    the next tier (None at the top)."""

    tier: str | None
    perks: list[str]
    spend_12m: Decimal
    visits_12m: int
    next_tier: str | None
    spend_to_next: Decimal | None
    visits_to_next: int | None


def reason(entry: PointsEntry) -> str:
    """Why an entry is in the ledger, in words: its kind, the document behind it and, for a credit
    given by rules, each rule's name."""
    rules = ", ".join(part.get("rule", "") for part in entry.explanation if isinstance(part, dict) and part.get("rule"))
    return f"{entry.get_kind_display()}: {entry.source}" + (f" ({rules})" if rules else "")


def history(account: LoyaltyAccount | None, limit: int = HISTORY_LENGTH, before: int | None = None) -> list[dict]:
    """The account's latest ledger entries, newest first (`before`: those after that entry of theirs),
    each with its points, reason, when (the basket's time for a basket's points), whether still
    pending and when it becomes available, its expiry."""
    if account is None:
        return []
    now = ledger.now_utc()
    entries = PointsEntry.objects.filter(account=account).select_related("basket").order_by("-available_from", "-id")
    if before is not None:
        # keyset paging in the page's order; an entry of another account pages nothing
        after = PointsEntry.objects.filter(account=account, pk=before).values_list("available_from", flat=True).first()
        if after is None:
            return []
        entries = entries.filter(Q(available_from__lt=after) | Q(available_from=after, id__lt=before))
    return [{"id": e.pk, "kind": e.kind, "points": e.amount, "reason": reason(e),
             "at": e.basket.transacted_at if e.basket_id else e.created_at,
             "pending": e.available_from > now, "available_from": e.available_from, "expires_on": e.expires_on}
            for e in entries[:limit]]


def month_end(day: date, months_ahead: int) -> date:
    """The last day of the month `months_ahead` after `day`'s."""
    first_of_next = ledger.add_months(day.replace(day=1), months_ahead + 1)
    return first_of_next - timedelta(days=1)


def expiring(account: LoyaltyAccount | None, available: int, today: date) -> list[dict]:
    """Points that will expire by each of the next month ends unless spent first (oldest points
    are spent first), as `ledger.expirable_points` counts them: [{by, points}], only where some do."""
    if account is None:
        return []
    ends = [month_end(today, months) for months in range(EXPIRY_MONTHS_SHOWN)]
    shown, before = [], 0
    for by, due in zip(ends, ledger.expirable_points_by(account.pk, ends, available)):
        if due > before:
            shown.append({"by": by, "points": due - before})
        before = due
    return shown


#: The member's 12-month spend and visits and the refunds of returns in the window, as the tier
#: review counts them (`loyalty.tiers.DECIDE_SQL`), in one query.
_TWELVE_MONTHS = """
SELECT SUM(b.total), COUNT(*),
       (SELECT SUM(r.refund) FROM loyalty_basketreturn r JOIN loyalty_basket rb ON rb.id = r.basket_id
        WHERE rb.member_id = %s AND r.returned_at >= %s)
FROM loyalty_basket b WHERE b.transacted_at >= %s AND b.transacted_at < %s AND b.member_id = %s
"""


def tier_progress(member: Member, account: LoyaltyAccount | None, today: date) -> TierProgress:
    """The tier and the progress to the next, on the 12 months the tier review counts (from 364 days
    before `today` to its end, UTC; refunds of returns in the window deducted)."""
    start = datetime.combine(today - timedelta(days=364), time.min, tzinfo=timezone.utc)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=timezone.utc)
    window = [connection.ops.adapt_datetimefield_value(moment) for moment in (start, end)]
    with connection.cursor() as cursor:
        cursor.execute(_TWELVE_MONTHS, [member.pk, window[0], *window, member.pk])
        spend, visits, refunded = cursor.fetchone()
    spend = (Decimal(str(spend or 0)) - Decimal(str(refunded or 0))).quantize(Decimal("0.01"))
    visits = visits or 0
    tier = account.tier if account else None
    next_tier = (Tier.objects.filter(rank__gt=tier.rank) if tier else Tier.objects.all()).order_by("rank").first()
    if next_tier is None:
        return TierProgress(tier.name if tier else None, list(tier.perks) if tier else [], spend, visits, None, None, None)
    return TierProgress(tier.name if tier else None, list(tier.perks) if tier else [], spend, visits, next_tier.name,
                        max(Decimal("0.00"), next_tier.min_spend_12m - spend), max(0, next_tier.min_visits_12m - visits))


def card(member: Member, drawn: bool = True) -> dict | None:
    """The member's active card: its number and (`drawn`) its EAN-13 barcode as SVG; None without one."""
    active = Card.objects.filter(member=member, status=Card.Status.ACTIVE).order_by("-issued_at").first()
    if active is None:
        return None
    return {"number": active.barcode, **({"svg": ean13_svg(active.barcode, scalable=True)} if drawn else {})}


def rewards(available: int, today: date) -> list[dict]:
    """The catalogue's rewards on offer today (in stock), cheapest first, each saying whether the
    member's available points cover it and, when not, how many points are missing."""
    on_offer = Reward.objects.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today),
                                     Q(valid_until__isnull=True) | Q(valid_until__gte=today)) \
        .exclude(stock=0).order_by("points_price", "code")[:50]
    return [{"code": r.code, "name": r.name, "points": r.points_price, "affordable": available >= r.points_price,
             "points_short": max(0, r.points_price - max(available, 0))} for r in on_offer]


def vouchers(member: Member) -> list[dict]:
    """The rewards the member redeemed in the portal, newest first, with those of the member numbers
    merged into theirs (a voucher of a merged number is still collected at the till): the reward,
    its voucher code to show at the till, the points it took and when, and when it was collected
    (None: not yet)."""
    numbers = [member.customer_id, *merged_numbers(member.customer_id)]
    redeemed = (Redemption.objects.filter(account__member__customer_id__in=numbers, reward__isnull=False)
                .exclude(voucher_code="")
                .select_related("reward").order_by("-created_at", "-id")[:VOUCHERS_SHOWN])
    return [{"reward_code": r.reward.code, "reward": r.reward.name, "voucher": r.voucher_code, "points": r.points,
             "at": r.created_at, "collected_at": r.collected_at} for r in redeemed]


def redeem(member: Member, reward_code: str, redemption_id: str) -> dict:
    """Spend the member's points on a reward of the catalogue (`loyalty.redemption.redeem_reward`:
    the ledger the till spends from, once per `redemption_id`): the voucher to collect it with and
    the new balance. PointsShort when the available points do not cover it (nothing spent)."""
    try:
        return redemption.redeem_reward(member, redemption_id, reward_code, actor(member))
    except InsufficientPoints as short:
        raise errors.PointsShort(f"not enough points for this reward: {short.message}") from None


def account_summary(member: Member, with_barcode: bool = True) -> dict:
    """Everything the account page shows: points available and pending, the latest entries with
    their reasons, points expiring soon, the tier and the progress to the next, the card (with its
    barcode drawn when `with_barcode`), the rewards on offer and those redeemed with their voucher."""
    account = LoyaltyAccount.objects.select_related("tier").filter(member=member).first()
    balance = ledger.balance(account.pk) if account else ledger.Balance(0, 0)
    today = ledger.now_utc().date()
    return {"member_number": member.customer_id, "name": member.display_name, "available": balance.available,
            "pending": balance.pending, "entries": history(account), "expiring": expiring(account, balance.available, today),
            "tier": tier_progress(member, account, today), "card": card(member, with_barcode),
            "rewards": rewards(balance.available, today), "vouchers": vouchers(member)}
