"""What else a merge moves: the rows the other apps keep by member (offers aimed at the member and
their uses, offer redemptions, shopping lists, survey invitations, exit reasons, win-back calls,
referrals). Each mover moves the absorbed member's rows to the survivor in the merge's transaction
and says what it did, so that `restore` puts exactly that back in the unmerge's.

A row the survivor already has its own of (an invitation to the same survey, a place on the same
win-back list, a referral as the referred member) stays with the absorbed member: the survivor's
is kept, and both come back as they were. Campaign assignments never move (the database freezes
them): the golden ids map them (`merging.merged_numbers`).
"""

from __future__ import annotations

from django.db.models import F

from clientele.loyalty.models import Referral
from clientele.members.models import Member
from clientele.offers.list_models import ShoppingList
from clientele.offers.models import Offer
from clientele.offers.redemption_models import MemberOfferUse, OfferRedemption
from clientele.service.churn_models import ExitReason, WinBackEntry
from clientele.service.survey_models import Invitation

Audience = Offer.audience.through


def _ids(queryset) -> list[int]:
    return sorted(queryset.values_list("pk", flat=True))


def _move_ids(model, ids: list[int], to: Member, field: str = "member") -> None:
    model.objects.filter(pk__in=ids).update(**{field: to})


def move(survivor: Member, absorbed: Member) -> dict:
    """Move the absorbed member's rows to the survivor; returns what moved (JSON), for `restore`."""
    moved: dict = {}

    # offers aimed at members (a complaint's voucher, a member-specific offer): the survivor is
    # aimed at instead; [offer, whether the survivor was added] (it may have been aimed at already)
    aimed = set(Audience.objects.filter(member=survivor).values_list("offer_id", flat=True))
    moved["offer_audience"] = [[offer, offer not in aimed] for offer in
                               sorted(Audience.objects.filter(member=absorbed).values_list("offer_id", flat=True))]
    for offer, added in moved["offer_audience"]:  # through the offer (its history records the change)
        audience = Offer.objects.get(pk=offer).audience
        audience.remove(absorbed)
        if added:
            audience.add(survivor)

    # uses of offers limited per member: the survivor's count is the sum. The absorbed member's
    # row moves when the survivor has none; otherwise its uses are added to the survivor's and
    # it stays (a closed member's count limits nobody). [offer, uses, moved]
    used = set(MemberOfferUse.objects.filter(member=survivor).values_list("offer_id", flat=True))
    moved["offer_uses"] = [[offer, uses, offer not in used] for offer, uses in
                           MemberOfferUse.objects.filter(member=absorbed).order_by("offer_id")
                           .values_list("offer_id", "uses")]
    for offer, uses, row_moved in moved["offer_uses"]:
        if row_moved:
            MemberOfferUse.objects.filter(offer_id=offer, member=absorbed).update(member=survivor)
        else:
            MemberOfferUse.objects.filter(offer_id=offer, member=survivor).update(uses=F("uses") + uses)

    moved["offer_redemptions"] = _ids(OfferRedemption.objects.filter(member=absorbed))
    _move_ids(OfferRedemption, moved["offer_redemptions"], survivor)

    # shopping lists: all move; the absorbed member's current list is superseded when the survivor
    # has one (one current list per member); [list, its status before]
    moved["shopping_lists"] = [[pk, status] for pk, status in ShoppingList.objects.filter(member=absorbed)
                               .order_by("pk").values_list("pk", "status")]
    if ShoppingList.objects.filter(member=survivor, status=ShoppingList.Status.CURRENT).exists():
        ShoppingList.objects.filter(member=absorbed, status=ShoppingList.Status.CURRENT).update(
            status=ShoppingList.Status.SUPERSEDED)
    _move_ids(ShoppingList, [pk for pk, _ in moved["shopping_lists"]], survivor)

    moved["survey_invitations"] = _ids(Invitation.objects.filter(member=absorbed).exclude(
        survey_id__in=Invitation.objects.filter(member=survivor).values("survey_id")))
    _move_ids(Invitation, moved["survey_invitations"], survivor)
    moved["exit_reasons"] = _ids(ExitReason.objects.filter(member=absorbed))
    _move_ids(ExitReason, moved["exit_reasons"], survivor)
    moved["win_back_entries"] = _ids(WinBackEntry.objects.filter(member=absorbed).exclude(
        win_back_list_id__in=WinBackEntry.objects.filter(member=survivor).values("win_back_list_id")))
    _move_ids(WinBackEntry, moved["win_back_entries"], survivor)
    moved["referrals_made"] = _ids(Referral.objects.filter(referrer=absorbed).exclude(referred=survivor))
    _move_ids(Referral, moved["referrals_made"], survivor, "referrer")
    survivor_referred = Referral.objects.filter(referred=survivor).exists()
    moved["referred_by"] = [] if survivor_referred else _ids(
        Referral.objects.filter(referred=absorbed).exclude(referrer=survivor))
    _move_ids(Referral, moved["referred_by"], survivor, "referred")
    return moved


def restore(survivor: Member, absorbed: Member, moved: dict) -> None:
    """Put back exactly what `move` moved (in the unmerge's transaction). What the survivor did
    since stays the survivor's: uses of an offer made after the merge, lists made for it since."""
    _move_ids(Referral, moved.get("referred_by", []), absorbed, "referred")
    _move_ids(Referral, moved.get("referrals_made", []), absorbed, "referrer")
    _move_ids(WinBackEntry, moved.get("win_back_entries", []), absorbed)
    _move_ids(ExitReason, moved.get("exit_reasons", []), absorbed)
    _move_ids(Invitation, moved.get("survey_invitations", []), absorbed)
    for pk, status in moved.get("shopping_lists", []):
        ShoppingList.objects.filter(pk=pk, member=survivor).update(member=absorbed, status=status)
    _move_ids(OfferRedemption, moved.get("offer_redemptions", []), absorbed)
    for offer, uses, row_moved in moved.get("offer_uses", []):
        row = MemberOfferUse.objects.filter(offer_id=offer, member=survivor)
        if not row_moved:
            row.update(uses=F("uses") - uses)
            continue
        since = row.get().uses - uses  # the survivor's own uses of it after the merge stay the survivor's
        row.update(member=absorbed, uses=uses)
        if since > 0:
            MemberOfferUse.objects.create(offer_id=offer, member=survivor, uses=since)
    for offer, added in moved.get("offer_audience", []):
        audience = Offer.objects.get(pk=offer).audience
        if added:
            audience.remove(survivor)
        audience.add(absorbed)
