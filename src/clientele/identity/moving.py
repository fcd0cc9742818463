"""What else a merge moves: the rows the other apps keep by member (offers aimed at the member and
their uses, offer redemptions, shopping lists, survey invitations, exit reasons, win-back calls,
referrals) and the member's own one-to-one rows (household demographics; the nightly profile and
till context). Each mover moves the absorbed member's rows to the survivor in the merge's
transaction and says what it did, so that `restore` puts exactly that back in the unmerge's.

Demographics (what the member told us of the household) move when the survivor has none; when it
has, its empty fields are filled in from the absorbed member's. The nightly profile and till
context (the refresh's description of the purchases) move when the survivor has none and may be
profiled (both members consented: the merge keeps the most restrictive consent); otherwise the
survivor keeps its own until the next refresh describes the combined customer (decision 0106).

A row the survivor already has its own of (an invitation to the same survey, a place on the same
win-back list, a referral as the referred member) stays with the absorbed member: the survivor's
is kept, and both come back as they were. Campaign assignments never move (the database freezes
them): the golden ids map them (`merging.merged_numbers`).
"""

from __future__ import annotations

from django.db.models import F

from clientele.loyalty.models import Referral
from clientele.members.models import CustomerProfile, HouseholdDemographics, Member, TillContext
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


#: The demographics' fields a merge may fill in on the survivor, each with its empty value.
DEMOGRAPHICS = {field.name: None if field.null else "" for field in HouseholdDemographics._meta.concrete_fields
                if field.name not in ("id", "member")}


def _move_demographics(survivor: Member, absorbed: Member) -> dict:
    """{"moved": row id} when the absorbed member's row moved, {"filled": {field: value}} when the
    survivor's empty fields took the absorbed member's values, {} when nothing changed."""
    theirs = HouseholdDemographics.objects.filter(member=absorbed).first()
    if theirs is None:
        return {}
    ours = HouseholdDemographics.objects.filter(member=survivor).first()
    if ours is None:
        HouseholdDemographics.objects.filter(pk=theirs.pk).update(member=survivor)
        return {"moved": theirs.pk}
    filled = {name: getattr(theirs, name) for name, empty in DEMOGRAPHICS.items()
              if getattr(ours, name) == empty and getattr(theirs, name) != empty}
    HouseholdDemographics.objects.filter(pk=ours.pk).update(**filled)
    return {"filled": filled} if filled else {}


def _restore_demographics(survivor: Member, absorbed: Member, moved: dict) -> None:
    """The absorbed member's row back; the fields filled in emptied again unless changed since."""
    if "moved" in moved:
        HouseholdDemographics.objects.filter(pk=moved["moved"], member=survivor).update(member=absorbed)
    for name, value in moved.get("filled", {}).items():
        HouseholdDemographics.objects.filter(member=survivor, **{name: value}).update(**{name: DEMOGRAPHICS[name]})


def _move_described(survivor: Member, absorbed: Member) -> dict:
    """The absorbed member's nightly profile and till context, moved to a survivor that has none
    and may be profiled: {table: row id}."""
    moved = {}
    if not (survivor.profiling_consent and absorbed.profiling_consent):
        return moved
    for name, model in (("profile", CustomerProfile), ("till_context", TillContext)):
        theirs = model.objects.filter(member=absorbed).values_list("pk", flat=True).first()
        if theirs is not None and not model.objects.filter(member=survivor).exists():
            model.objects.filter(pk=theirs).update(member=survivor)
            moved[name] = theirs
    return moved


def move(survivor: Member, absorbed: Member) -> dict:
    """Move the absorbed member's rows to the survivor; returns what moved (JSON), for `restore`."""
    moved: dict = {"demographics": _move_demographics(survivor, absorbed),
                   "described": _move_described(survivor, absorbed)}

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
    since stays the survivor's: uses of an offer made after the merge, lists made for it since. A
    profile or till context a refresh has replaced since is not brought back (the next refresh
    describes the absorbed member again)."""
    for name, model in (("profile", CustomerProfile), ("till_context", TillContext)):
        if name in moved.get("described", {}):
            model.objects.filter(pk=moved["described"][name], member=survivor).update(member=absorbed)
    _restore_demographics(survivor, absorbed, moved.get("demographics", {}))
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
