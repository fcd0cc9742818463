"""Merging two members and undoing it: everything moves, the ledger's sums hold, the undo is exact."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from identity_builders import make_member, minutes_ago
from django.forms.models import model_to_dict
from till_payloads import basket, post

from clientele.barcodes import card_barcode
from clientele.campaigns.models import Assignment, Campaign
from clientele.identity import errors
from clientele.identity.merging import golden_ids, merge_members, unmerge
from clientele.identity.models import ContactImport, Merge, SourceRecord
from clientele.loyalty import ledger
from clientele.loyalty.models import Basket, LoyaltyAccount, PointsEntry, Tier
from clientele.members.models import Card, Member
from clientele.privacy.models import ConsentEvent
from clientele.service.models import Complaint, ComplaintCause

NOW = datetime.now(timezone.utc)


def complaint_of(member: Member) -> Complaint:
    cause, _ = ComplaintCause.objects.get_or_create(name="Product quality")
    return Complaint.objects.create(
        member=member, channel="store", cause=cause, severity="low", what_happened="stale bread",
        how_it_happened="bought it", why_unhappy="stale", served_by="Sam", claim_reasonable=True,
        wanted_resolution="refund", returning_customer=True, received_at=NOW, first_answer_due=NOW,
        resolution_due=NOW, recorded_by="agent")


def campaign(name: str) -> Campaign:
    return Campaign.objects.create(name=name, owner="Mo", goal_metric="spend", goal_target="0.05",
                                   window_start=date(2026, 1, 1), window_end=date(2026, 2, 1), audience="all",
                                   seed=1)


def dump(*members: Member) -> dict:
    """Every row that belongs to the members, as stored (the ledger apart: it only grows)."""
    ids = [m.pk for m in members]
    numbers = [m.customer_id for m in members]

    def rows(queryset, exclude=()):
        return sorted((model_to_dict(row, exclude=exclude) for row in queryset), key=lambda r: sorted(r.items()).__repr__())

    return {
        "members": rows(Member.objects.filter(pk__in=ids), exclude=["updated_at"]),
        "cards": rows(Card.objects.filter(member_id__in=ids)),
        "accounts": rows(LoyaltyAccount.objects.filter(member_id__in=ids)),
        "baskets": sorted(Basket.objects.values_list("pk", "member_id")),
        "complaints": sorted(Complaint.objects.values_list("pk", "member_id")),
        "assignments": sorted(Assignment.objects.filter(customer_id__in=numbers).values_list("pk", "customer_id")),
        "source_records": sorted(SourceRecord.objects.values_list("pk", "member_id")),
        "consent_events": sorted(ConsentEvent.objects.filter(member_id__in=ids).values_list(
            "pk", "member_id", "purpose", "channel", "granted")),
    }


def points(member: Member) -> tuple[int, int]:
    b = ledger.balance(ledger.account_for_member(member).pk)
    return b.available, b.pending


@pytest.fixture
def history(twins, till):
    """Both members with points available and pending, baskets, a complaint, campaigns, a contact."""
    survivor, absorbed = twins
    for member, opening in ((survivor, 50), (absorbed, 300)):
        ledger.credit(ledger.account_for_member(member), PointsEntry.Kind.OPENING_BALANCE, opening,
                      key=f"opening:{member.customer_id}", source="previous CRM", actor="test")
    for receipt, barcode, minutes in (("1", card_barcode(43, 0), 30), ("2", card_barcode(43, 1), 20),
                                      ("3", card_barcode(42, 0), 10)):
        assert post(till, "/baskets", basket(receipt=receipt, card=barcode, at=minutes_ago(minutes))).status_code == 200
    complaint_of(absorbed)
    both, only = campaign("Spring"), campaign("Summer")
    for c in (both, only):
        Assignment.objects.create(campaign=c, customer_id=43, group="treated", assigned_at=NOW)
    Assignment.objects.create(campaign=both, customer_id=42, group="holdout", assigned_at=NOW)
    log = ContactImport.objects.create(source="online_shop", file_name="f.csv", content_hash="x", rows_read=1,
                                       rows_loaded=1, rows_quarantined=0, imported_by="t", imported_at=NOW)
    SourceRecord.objects.create(source="online_shop", source_key="A1", contact_import=log, last_name="Lovelace",
                                member=absorbed)
    return survivor, absorbed


def test_given_two_members_when_merged_and_unmerged_then_every_row_and_balance_is_as_before(history, till):
    survivor, absorbed = history
    before, balances = dump(survivor, absorbed), (points(survivor), points(absorbed))
    assert balances[1][0] == 300 and balances[1][1] > 0  # available and pending on the absorbed side

    merge = merge_members(42, 43, actor="steward:ann", reason="same e-mail and phone")

    # everything is the survivor's: cards (the till greets the survivor), points, baskets, the rest
    assert set(Card.objects.filter(member=survivor).values_list("barcode", flat=True)) == {
        card_barcode(42, 0), card_barcode(43, 0), card_barcode(43, 1)}
    greeting = till.get("/api/members/identify", {"card": card_barcode(43, 1)}).json()
    assert greeting["member_number"] == 42
    combined = tuple(a + b for a, b in zip(*balances))
    assert points(survivor) == combined and points(absorbed) == (0, 0)
    assert greeting["balance"] == {"available": combined[0], "pending": combined[1]}
    assert Basket.objects.filter(member=survivor).count() == 3
    assert Complaint.objects.get().member == survivor
    # assignments are frozen (the holdout stays honest): listed by the merge, mapped by the golden ids
    assert sorted(Assignment.objects.values_list("customer_id", flat=True)) == [42, 43, 43]
    assert len(merge.moved["assignments"]) == 2
    assert SourceRecord.objects.get().member == survivor
    merged = Member.objects.get(pk=absorbed.pk)
    assert merged.status == "closed"
    survivor.refresh_from_db()
    # the most restrictive of the two: 43 refused SMS, so the survivor's SMS consent is withdrawn by the merge
    assert (survivor.email_consent, survivor.sms_consent) == (False, False)
    assert list(ConsentEvent.objects.filter(member=survivor, source="merge").values_list("channel", "granted")) == [
        ("sms", False)]
    assert LoyaltyAccount.objects.get(member=survivor).tier.name == "Silver"  # 3 baskets of 8.00: combined spend
    assert golden_ids() == {43: 42}
    entries = PointsEntry.objects.filter(kind__in=["points_merged_in", "points_merged_out"])
    assert entries.count() == 2 * len(merge.moved["points"]) and all("merge" in e.source for e in entries)

    unmerge(merge.pk, actor="steward:bob", reason="different people after all")

    assert dump(survivor, absorbed) == before
    assert (points(survivor), points(absorbed)) == balances
    merge.refresh_from_db()
    assert (merge.undone_by, merge.undo_reason) == ("steward:bob", "different people after all")
    assert golden_ids() == {}
    assert till.get("/api/members/identify", {"card": card_barcode(43, 1)}).json()["member_number"] == 43


def test_given_a_member_when_merged_into_itself_then_refused(twins):
    with pytest.raises(errors.SelfMerge, match="member 42 cannot be merged into itself"):
        merge_members(42, 42, actor="t")


def test_given_an_erased_or_unknown_member_then_the_merge_is_refused_and_nothing_moves(twins):
    Member.objects.filter(customer_id=43).update(status="erased")
    with pytest.raises(errors.MemberNotMergeable, match="member 43 is erased"):
        merge_members(42, 43, actor="t")
    with pytest.raises(errors.UnknownMember, match="no member 99"):
        merge_members(42, 99, actor="t")
    assert Merge.objects.count() == 0 and Card.objects.filter(member__customer_id=42).count() == 1


def test_given_a_chain_then_the_middle_is_undone_only_after_the_last(twins):
    make_member(44, cards=1)
    first = merge_members(42, 43, actor="t")   # 43 into 42
    second = merge_members(44, 42, actor="t")  # 42 into 44: 43's cards follow
    assert golden_ids() == {43: 44, 42: 44}
    assert Card.objects.filter(member__customer_id=44).count() == 4
    with pytest.raises(errors.MemberNotMergeable, match="member 43 was already merged into member 42"):
        merge_members(44, 43, actor="t")

    with pytest.raises(errors.MergeNotUndoable, match=f"undo merge {second.pk} first"):
        unmerge(first.pk, actor="t")
    unmerge(second.pk, actor="t")
    unmerge(first.pk, actor="t")

    with pytest.raises(errors.MergeNotUndoable, match="already undone by t"):
        unmerge(first.pk, actor="t")
    assert [Card.objects.filter(member__customer_id=n).count() for n in (42, 43, 44)] == [1, 2, 1]
    assert list(Member.objects.values_list("status", flat=True)) == ["active"] * 3


def test_given_points_spent_by_the_survivor_when_unmerged_then_the_debt_stays_with_the_survivor(twins):
    survivor, absorbed = twins
    ledger.credit(ledger.account_for_member(absorbed), PointsEntry.Kind.OPENING_BALANCE, 100, key="o", source="s",
                  actor="t")
    merge = merge_members(42, 43, actor="t")
    ledger.spend(ledger.account_for_member(survivor), PointsEntry.Kind.POINTS_REDEEMED, 80, key="r", source="s",
                 actor="t")

    unmerge(merge.pk, actor="t")

    assert points(absorbed) == (100, 0) and points(survivor) == (-80, 0)


def test_given_a_member_in_debt_when_merged_then_the_debt_moves_to_the_survivor(twins):
    survivor, absorbed = twins
    account = ledger.account_for_member(absorbed)
    ledger.spend(account, PointsEntry.Kind.POINTS_REVERSED, 30, key="d", source="return", actor="t", overdraw=True)
    ledger.credit(ledger.account_for_member(survivor), PointsEntry.Kind.OPENING_BALANCE, 100, key="o", source="s",
                  actor="t")

    merge = merge_members(42, 43, actor="t")
    assert points(survivor) == (70, 0) and points(absorbed) == (0, 0)
    unmerge(merge.pk, actor="t")
    assert points(survivor) == (100, 0) and points(absorbed) == (-30, 0)


def test_given_a_tier_kept_by_the_absorbed_member_then_the_survivor_gets_the_better_one(twins):
    survivor, absorbed = twins
    silver = Tier.objects.get(name="Silver")
    LoyaltyAccount.objects.create(member=absorbed, tier=silver, tier_since=date(2025, 1, 1))
    merge = merge_members(42, 43, actor="t")
    assert LoyaltyAccount.objects.get(member=survivor).tier == silver
    unmerge(merge.pk, actor="t")
    assert LoyaltyAccount.objects.get(member=survivor).tier is None
    assert LoyaltyAccount.objects.get(member=absorbed).tier == silver


def test_given_a_merge_then_a_privacy_request_for_the_absorbed_number_is_answered_for_the_survivor(twins):
    from clientele.privacy.identity import find_member

    survivor, absorbed = twins
    merge = merge_members(42, 43, actor="steward:ann", reason="same person")
    assert find_member(43).customer_id == 42

    unmerge(merge.pk, actor="steward:ann", reason="two people")
    assert find_member(43).customer_id == 43
