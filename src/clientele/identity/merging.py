"""Merging one member into another, and undoing it exactly.

A merge is one transaction: the absorbed member's cards, baskets, complaints and linked contact
records move to the survivor, and so do the rows other apps keep by member (`moving`: offers
aimed at them and their uses, redemptions, shopping lists, survey invitations, referrals...) (campaign assignments are frozen by the database: they are listed,
and the golden ids map them); the points move by ledger entries (available and
each pending date apart, `points_merged_out` from one account and `points_merged_in` to the other,
through `ledger.spend` / `ledger.credit`, the merge as their source); the survivor's tier is
re-evaluated on the combined spend; consent takes the most restrictive of the two
(`privacy.consent.restrict_for_merge`: events of source "merge"); the absorbed member is closed. Everything that moved is written on the
`Merge` row, and the undo moves exactly that back (compensating ledger entries), refusing when a
later merge absorbed the survivor (undo that one first).

The till identifies the survivor by any of the cards at once: a card's member is the card row's,
changed in the merge's transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q, Sum

from clientele.campaigns.models import Assignment
from clientele.identity import errors, moving
from clientele.identity.models import Merge, SourceRecord
from clientele.loyalty import ledger
from clientele.loyalty.models import Basket, BasketReturn, LoyaltyAccount, PointsEntry, Tier, TierChange
from clientele.members.models import Card, Member
from clientele.privacy.consent import restrict_for_merge, undo_merge_restrictions
from clientele.service.models import Complaint

Kind = PointsEntry.Kind


def survivor_number(customer_id: int) -> int | None:
    """The number of the member that absorbed `customer_id` in a merge still in force; None when
    it was not merged away. Registered with the privacy requests (`privacy.identity`), so an access
    or erasure request for a merged-away number is answered for the survivor."""
    return (Merge.objects.filter(absorbed__customer_id=customer_id, undone_at__isnull=True)
            .values_list("survivor__customer_id", flat=True).first())


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _members_locked(*customer_ids: int) -> dict[int, Member]:
    """The members by number, their rows locked until the end of the transaction (ascending id)."""
    found = {m.customer_id: m for m in Member.objects.select_for_update().filter(customer_id__in=customer_ids)
             .order_by("pk")}
    for number in customer_ids:
        if number not in found:
            raise errors.UnknownMember(f"no member {number}")
    return found


def _check_mergeable(member: Member, role: str) -> None:
    if member.status == Member.Status.ERASED:
        raise errors.MemberNotMergeable(f"member {member.customer_id} is erased: an erased member is never merged",
                                        field=role)
    if member.status != Member.Status.ACTIVE:
        merged = Merge.objects.filter(absorbed=member, undone_at__isnull=True).select_related("survivor").first()
        if merged is not None:
            raise errors.MemberNotMergeable(
                f"member {member.customer_id} was already merged into member {merged.survivor.customer_id} "
                f"(merge {merged.pk})", field=role)
        raise errors.MemberNotMergeable(f"member {member.customer_id} is {member.status}", field=role)


def _point_groups(account_id: int, now: datetime) -> list[dict]:
    """The account's balance cut by availability: the points available now, and the pending points
    of each date they become available; each with the earliest expiry of its credits."""
    entries = PointsEntry.objects.filter(account_id=account_id)
    today = now.date()
    available = entries.filter(available_from__lte=now).aggregate(
        points=Sum("amount"), expires=Min("expires_on", filter=Q(amount__gt=0, expires_on__gte=today)))
    groups = []
    if available["points"]:
        groups.append({"points": int(available["points"]), "available_from": None,
                       "expires_on": available["expires"] and available["expires"].isoformat()})
    pending = (entries.filter(available_from__gt=now).values("available_from")
               .annotate(points=Sum("amount"), expires=Min("expires_on", filter=Q(amount__gt=0)))
               .order_by("available_from"))
    for group in pending:
        if group["points"]:
            groups.append({"points": int(group["points"]), "available_from": group["available_from"].isoformat(),
                           "expires_on": group["expires"] and group["expires"].isoformat()})
    return groups


def _move_points(source: LoyaltyAccount, target: LoyaltyAccount, group: dict, *, key: str, reason: str,
                 actor: str) -> None:
    """`group`'s points from one account to the other, by a debit and a credit (a debt moves the
    other way round: the credit clears it on one side, the debit carries it on the other)."""
    points = group["points"]
    available_from = datetime.fromisoformat(group["available_from"]) if group["available_from"] else None
    expires_on = date.fromisoformat(group["expires_on"]) if group["expires_on"] else None
    debtor, creditor = (source, target) if points > 0 else (target, source)
    ledger.spend(debtor, Kind.POINTS_MERGED_OUT, abs(points), key=f"{key}:out", source=reason, actor=actor,
                 available_from=available_from, overdraw=True)
    ledger.credit(creditor, Kind.POINTS_MERGED_IN, abs(points), key=f"{key}:in", source=reason, actor=actor,
                  available_from=available_from, expires_on=expires_on)


def _earned_tier(member: Member, today: date) -> Tier | None:
    """The highest tier the member's last 12 months of baskets (net of returns) qualify for."""
    start = datetime.combine(today - timedelta(days=364), datetime.min.time(), tzinfo=timezone.utc)
    baskets = Basket.objects.filter(member=member, transacted_at__gte=start).aggregate(spend=Sum("total"),
                                                                                       visits=Count("id"))
    refunded = BasketReturn.objects.filter(basket__member=member, returned_at__gte=start).aggregate(
        refund=Sum("refund"))["refund"] or 0
    spend, visits = (baskets["spend"] or 0) - refunded, baskets["visits"] or 0
    qualifying = [t for t in Tier.objects.order_by("-rank") if spend >= t.min_spend_12m and visits >= t.min_visits_12m]
    return qualifying[0] if qualifying else None


def merge_members(survivor_number: int, absorbed_number: int, *, actor: str, reason: str = "",
                  pair=None, today: date | None = None) -> Merge:
    """Merge member `absorbed_number` into member `survivor_number` (member numbers), in one
    transaction. Returns the Merge, which records what moved."""
    if survivor_number == absorbed_number:
        raise errors.SelfMerge(f"member {survivor_number} cannot be merged into itself")
    now = _now()
    today = today or now.date()
    reason = reason or "merge"
    try:
        with transaction.atomic():
            members = _members_locked(survivor_number, absorbed_number)
            survivor, absorbed = members[survivor_number], members[absorbed_number]
            _check_mergeable(absorbed, "absorbed")
            _check_mergeable(survivor, "survivor")
            accounts = {m.pk: ledger.account_for_member(m) for m in (survivor, absorbed)}
            ledger.lock_accounts(sorted(a.pk for a in accounts.values()))
            survivor_account = ledger.lock_account(accounts[survivor.pk].pk)
            absorbed_account = ledger.lock_account(accounts[absorbed.pk].pk)
            merge = Merge.objects.create(survivor=survivor, absorbed=absorbed, reason=reason[:300], pair=pair,
                                         merged_by=actor, merged_at=now)
            moved = {"absorbed_status": absorbed.status}

            moved["cards"] = sorted(Card.objects.filter(member=absorbed).values_list("barcode", flat=True))
            Card.objects.filter(barcode__in=moved["cards"]).update(member=survivor)

            source = f"merge {merge.pk}: member {absorbed.customer_id} into {survivor.customer_id}"
            moved["points"] = _point_groups(absorbed_account.pk, now)
            for n, group in enumerate(moved["points"]):
                _move_points(absorbed_account, survivor_account, group, key=f"merge:{merge.pk}:{n}",
                             reason=source, actor=actor)

            moved["baskets"] = sorted(Basket.objects.filter(member=absorbed).values_list("pk", flat=True))
            Basket.objects.filter(pk__in=moved["baskets"]).update(member=survivor)
            moved["complaints"] = sorted(Complaint.objects.filter(member=absorbed).values_list("pk", flat=True))
            Complaint.objects.filter(pk__in=moved["complaints"]).update(member=survivor)
            # Campaign assignments are frozen by the database (a holdout stays honest, campaigns 0002):
            # they stay under the absorbed member's number, which the golden ids map to the survivor
            # for the campaigns' measurement on the lake; the merge lists them.
            moved["assignments"] = sorted(Assignment.objects.filter(customer_id=absorbed.customer_id)
                                          .values_list("pk", flat=True))
            moved["source_records"] = sorted(SourceRecord.objects.filter(member=absorbed).values_list("pk", flat=True))
            SourceRecord.objects.filter(pk__in=moved["source_records"]).update(member=survivor)
            moved["elsewhere"] = moving.move(survivor, absorbed)

            moved["consent_events"] = restrict_for_merge(survivor, absorbed, occurred_at=now,
                                                         label=f"merge {merge.pk}", recorded_by=actor)

            moved["tier_before"] = _tier_state(survivor_account)
            tier = max((t for t in (survivor_account.tier, absorbed_account.tier, _earned_tier(survivor, today)) if t),
                       key=lambda t: t.rank, default=None)
            if tier is not None and tier != survivor_account.tier:
                LoyaltyAccount.objects.filter(pk=survivor_account.pk).update(tier=tier, tier_since=today,
                                                                             tier_grace_until=None)
                TierChange.objects.create(account=survivor_account, from_tier=survivor_account.tier, to_tier=tier,
                                          reason=f"{source}: the combined customer's tier"[:300],
                                          spend_12m=0, visits_12m=0, reviewed_on=today)
            moved["tier_after"] = _tier_state(LoyaltyAccount.objects.get(pk=survivor_account.pk))

            Member.objects.filter(pk=absorbed.pk).update(status=Member.Status.CLOSED)
            merge.moved = moved
            merge.save(update_fields=["moved"])
    except IntegrityError as error:
        if "merge_absorbs_once" not in str(error) and "identity_merge.absorbed_id" not in str(error):
            raise
        # the unique "absorbed once" index: another merge of the same member committed first
        raise errors.MemberNotMergeable(f"member {absorbed_number} was merged by someone else at the same time",
                                        field="absorbed") from None
    return merge


def _tier_state(account: LoyaltyAccount) -> dict:
    return {"tier_id": account.tier_id, "tier_since": account.tier_since and account.tier_since.isoformat(),
            "tier_grace_until": account.tier_grace_until and account.tier_grace_until.isoformat()}


def unmerge(merge_id: int, *, actor: str, reason: str = "") -> Merge:
    """Undo merge `merge_id`: everything it moved goes back, the points by compensating entries,
    in one transaction. Refused when already undone, or when the survivor was merged into another
    member since (undo that merge first)."""
    now = _now()
    with transaction.atomic():
        merge = Merge.objects.select_for_update().select_related("survivor", "absorbed").filter(pk=merge_id).first()
        if merge is None:
            raise errors.UnknownMerge(f"no merge {merge_id}")
        if merge.undone_at is not None:
            raise errors.MergeNotUndoable(f"merge {merge_id} was already undone by {merge.undone_by} "
                                          f"on {merge.undone_at:%Y-%m-%d %H:%M} UTC")
        later = Merge.objects.filter(absorbed=merge.survivor, undone_at__isnull=True).select_related("survivor").first()
        if later is not None:
            raise errors.MergeNotUndoable(
                f"member {merge.survivor.customer_id} was merged into member {later.survivor.customer_id} since "
                f"(merge {later.pk}): undo merge {later.pk} first")
        members = _members_locked(merge.survivor.customer_id, merge.absorbed.customer_id)
        survivor, absorbed = members[merge.survivor.customer_id], members[merge.absorbed.customer_id]
        moved = merge.moved
        survivor_account = ledger.account_for_member(survivor)
        absorbed_account = ledger.account_for_member(absorbed)
        ledger.lock_accounts(sorted([survivor_account.pk, absorbed_account.pk]))

        Card.objects.filter(barcode__in=moved["cards"], member=survivor).update(member=absorbed)
        source = f"merge {merge.pk} undone: member {absorbed.customer_id} out of {survivor.customer_id}"
        for n, group in enumerate(moved["points"]):
            _move_points(survivor_account, absorbed_account, group, key=f"unmerge:{merge.pk}:{n}", reason=source,
                         actor=actor)
        Basket.objects.filter(pk__in=moved["baskets"], member=survivor).update(member=absorbed)
        Complaint.objects.filter(pk__in=moved["complaints"], member=survivor).update(member=absorbed)
        SourceRecord.objects.filter(pk__in=moved["source_records"], member=survivor).update(member=absorbed)
        moving.restore(survivor, absorbed, moved.get("elsewhere", {}))

        # the merge's consent withdrawals are taken back (a later choice of the member stays, being
        # later); the tier goes back unless something else changed it since the merge
        undo_merge_restrictions(survivor, moved.get("consent_events", []))
        account = LoyaltyAccount.objects.get(pk=survivor_account.pk)
        if _tier_state(account) == moved["tier_after"] and moved["tier_after"] != moved["tier_before"]:
            before = moved["tier_before"]
            LoyaltyAccount.objects.filter(pk=account.pk).update(
                tier_id=before["tier_id"], tier_since=before["tier_since"], tier_grace_until=before["tier_grace_until"])
            TierChange.objects.create(account=account, from_tier_id=account.tier_id, to_tier_id=before["tier_id"],
                                      reason=source[:300], spend_12m=0, visits_12m=0, reviewed_on=now.date())
        Member.objects.filter(pk=absorbed.pk).update(status=moved["absorbed_status"])
        merge.undone_at, merge.undone_by, merge.undo_reason = now, actor, (reason or "unmerge")[:300]
        merge.save(update_fields=["undone_at", "undone_by", "undo_reason"])
    return merge


def merged_numbers(customer_id: int) -> list[int]:
    """The member numbers merged into `customer_id` (through chains), in force: the numbers whose
    frozen rows (campaign assignments) the survivor's views show as theirs."""
    found: list[int] = []
    frontier = [customer_id]
    while frontier:  # one query per link of the longest chain (the survivor's index)
        frontier = [n for n in Merge.objects.filter(survivor__customer_id__in=frontier, undone_at__isnull=True)
                    .values_list("absorbed__customer_id", flat=True) if n not in found and n != customer_id]
        found += frontier
    return sorted(found)


def golden_ids() -> dict[int, int]:
    """Every merged member's number -> the number of the member it now is (through chains:
    A into B into C gives A -> C and B -> C). What the nightly refresh applies to the lake."""
    survivor_of = dict(Merge.objects.filter(undone_at__isnull=True)
                       .values_list("absorbed__customer_id", "survivor__customer_id"))
    golden = {}
    for absorbed in survivor_of:
        target, seen = survivor_of[absorbed], {absorbed}
        while target in survivor_of and target not in seen:
            seen.add(target)
            target = survivor_of[target]
        golden[absorbed] = target
    return golden
