"""A merge moves what the other apps keep by member (offers aimed at the member and their uses,
redemptions, shopping lists, survey invitations, exit reasons, win-back calls, referrals) and the
unmerge puts each back exactly; campaign assignments stay frozen and the survivor's 360 shows them."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.forms.models import model_to_dict
from identity_builders import make_member
from till_payloads import basket, post

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "offers"))
from offer_builders import make_offer  # noqa: E402

from clientele.barcodes import card_barcode  # noqa: E402
from clientele.campaigns.backoffice_panels import _campaigns  # noqa: E402
from clientele.campaigns.models import Assignment, Campaign  # noqa: E402
from clientele.identity.merging import merge_members, merged_numbers, unmerge  # noqa: E402
from clientele.loyalty.models import Basket, Referral  # noqa: E402
from clientele.offers.list_models import ShoppingList  # noqa: E402
from clientele.offers.models import Offer  # noqa: E402
from clientele.offers.redemption_models import MemberOfferUse, OfferRedemption  # noqa: E402
from clientele.service.churn_models import ExitReason, WinBackEntry, WinBackList  # noqa: E402
from clientele.service.survey_models import Invitation, Survey  # noqa: E402

NOW = datetime.now(timezone.utc)
KEPT_BY_MEMBER = (ShoppingList, MemberOfferUse, OfferRedemption, Invitation, ExitReason, WinBackEntry, Referral)


def dump() -> dict:
    """Every row of the models the apps keep by member, as stored, and the offers' audiences."""
    rows = {model.__name__: sorted((model_to_dict(row) for row in model.objects.all()), key=repr)
            for model in KEPT_BY_MEMBER}
    rows["audiences"] = sorted(Offer.audience.through.objects.values_list("offer_id", "member_id"))
    return rows


def shopping_list(member, number: str, status: str = "current") -> ShoppingList:
    return ShoppingList.objects.create(number=number, member=member, status=status, generated_at=NOW,
                                       as_of=date(2026, 11, 30), valid_from=date(2026, 12, 1),
                                       valid_until=date(2026, 12, 14))


@pytest.fixture
def kept(twins, till):
    """Ada's two memberships, each with rows in every app that keeps rows by member."""
    survivor, absorbed = twins
    third = make_member(44, first_name="Grace", last_name="Hopper")
    voucher = make_offer("sorry-2", benefit="amount_off", target="basket", amount=Decimal("2.00"),
                         eligibility="members", audience=[43], manufacturer_id=None, brand_type="")
    both = make_offer("both-5", eligibility="members", audience=[42, 43], per_member_limit=5)
    MemberOfferUse.objects.create(offer=both, member=survivor, uses=1)
    MemberOfferUse.objects.create(offer=both, member=absorbed, uses=2)
    MemberOfferUse.objects.create(offer=voucher, member=absorbed, uses=1)
    assert post(till, "/baskets", basket(receipt="9", card=card_barcode(43, 0))).status_code == 200
    OfferRedemption.objects.create(redemption_key="basket:test:voucher", offer=voucher, offer_version=1,
                                   member=absorbed, basket=Basket.objects.get(), discount=Decimal("2.00"),
                                   redeemed_at=NOW)
    shopping_list(survivor, "2900000000001")
    shopping_list(absorbed, "2900000000002")
    shopping_list(absorbed, "2900000000003", status="superseded")
    spring, autumn = (Survey.objects.create(code=code, title=code, opens_at=NOW - timedelta(days=1),
                                            closes_at=NOW + timedelta(days=9), created_by="mo")
                      for code in ("spring", "autumn"))
    for survey, member, token in ((spring, survivor, "t1"), (spring, absorbed, "t2"), (autumn, absorbed, "t3")):
        Invitation.objects.create(survey=survey, member=member, token=token, sent_at=NOW,
                                  expires_at=NOW + timedelta(days=9))
    ExitReason.objects.create(member=absorbed, reason="price", source="call", noted_at=NOW, noted_by="agent")
    calls = WinBackList.objects.create(name="lapsed", created_at=NOW, created_by="mo", profiles_of=date(2026, 12, 1))
    WinBackEntry.objects.create(win_back_list=calls, member=absorbed, rank=1, clv_before=Decimal("80"),
                                chance_of_return=0.4, value_at_stake=Decimal("32"))
    Referral.objects.create(referrer=absorbed, referred=third)
    spring_campaign = Campaign.objects.create(name="Spring", owner="Mo", goal_metric="spend", goal_target="0.05",
                                              window_start=date(2026, 1, 1), window_end=date(2026, 2, 1),
                                              audience="all", seed=1)
    Assignment.objects.create(campaign=spring_campaign, customer_id=43, group="holdout", assigned_at=NOW)
    return survivor, absorbed, voucher, both


def test_given_rows_in_every_app_when_merged_then_they_are_the_survivors_and_the_unmerge_puts_them_back(kept):
    survivor, absorbed, voucher, both = kept
    before = dump()

    merge = merge_members(42, 43, actor="steward:ann")

    # the voucher aimed at the absorbed number is the survivor's; the per-member uses add up
    assert list(voucher.audience.values_list("customer_id", flat=True)) == [42]
    assert list(both.audience.values_list("customer_id", flat=True)) == [42]
    assert dict(MemberOfferUse.objects.filter(member=survivor).values_list("offer__code", "uses")) == {
        "both-5": 3, "sorry-2": 1}
    assert dict(MemberOfferUse.objects.filter(member=absorbed).values_list("offer__code", "uses")) == {
        "both-5": 2}  # kept on the closed number (it limits nobody), added to the survivor's
    assert set(OfferRedemption.objects.values_list("member__customer_id", flat=True)) == {42}  # the till's and ours
    # the survivor keeps its current list; the absorbed member's lists are the survivor's, superseded
    assert dict(ShoppingList.objects.filter(member=survivor).values_list("number", "status")) == {
        "2900000000001": "current", "2900000000002": "superseded", "2900000000003": "superseded"}
    # the spring survey invited both: each keeps its own invitation; the autumn one is the survivor's
    assert sorted(Invitation.objects.filter(member=survivor).values_list("token", flat=True)) == ["t1", "t3"]
    assert ExitReason.objects.get().member == survivor and WinBackEntry.objects.get().member == survivor
    assert Referral.objects.get().referrer == survivor
    # the campaign assignment stays under 43 (measurement never changes), and the survivor's 360 shows it
    assert list(Assignment.objects.values_list("customer_id", flat=True)) == [43]
    assert merged_numbers(42) == [43]
    shown = _campaigns(SimpleNamespace(member=survivor))["assignments"]
    assert [(a.campaign.name, a.customer_id, a.group) for a in shown] == [("Spring", 43, "holdout")]
    assert _campaigns(SimpleNamespace(member=absorbed))["assignments"] == shown

    unmerge(merge.pk, actor="steward:bob")

    assert dump() == before
    assert merged_numbers(42) == []
    assert _campaigns(SimpleNamespace(member=survivor))["assignments"] == []


def test_given_uses_after_the_merge_when_unmerged_then_the_survivor_keeps_its_own(kept):
    survivor, absorbed, _, both = kept
    merge = merge_members(42, 43, actor="steward:ann")
    MemberOfferUse.objects.filter(offer=both, member=survivor).update(uses=4)  # one more use since, at a till

    unmerge(merge.pk, actor="steward:bob")

    assert MemberOfferUse.objects.get(offer=both, member=survivor).uses == 2  # its 1 and the one since
    assert MemberOfferUse.objects.get(offer=both, member=absorbed).uses == 2


def test_given_a_chain_then_the_last_survivor_shows_every_merged_numbers_assignments(kept):
    make_member(45, first_name="Ada", last_name="Lovelace")
    merge_members(42, 43, actor="steward:ann")
    merge_members(45, 42, actor="steward:ann")

    assert merged_numbers(45) == [42, 43]
