"""Data quality of the member records: completeness, stale records (no purchase, no contact, no change
for the configured days), the counts of the data-quality page, and the review queue in the summary."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from identity_builders import make_member
from till_payloads import basket, post
from typer.testing import CliRunner

from clientele.barcodes import card_barcode
from clientele.campaigns.models import Assignment, Campaign, Contact
from clientele.cli import app
from clientele.config import settings
from clientele.identity.merging import merge_members
from clientele.identity.models import CandidatePair
from clientele.identity.quality import member_quality, quality_counts, stale_members
from clientele.members.models import Member

LONG_AGO = datetime.now(timezone.utc) - timedelta(days=800)


@pytest.fixture
def records(shop, till, home):
    """Four members untouched for 800 days: one who bought since, one messaged since, two quiet (one
    of them with a full profile); and a fifth enrolled today."""
    full = make_member(1, email="ada@example.org", phone="+13125550100", birth_date=date(1990, 1, 2),
                       address_line="1 Main Street", postal_code="60601", city="Chicago")
    make_member(2, first_name="Bo", last_name="")
    buyer = make_member(3)
    messaged = make_member(4)
    Member.objects.filter(customer_id__in=[1, 2, 3, 4]).update(updated_at=LONG_AGO)
    make_member(5)
    assert post(till, "/baskets", basket(card=card_barcode(3, 0))).status_code == 200
    Member.objects.filter(pk=buyer.pk).update(updated_at=LONG_AGO)  # a basket is not a change of the record
    spring = Campaign.objects.create(name="Spring", owner="Mo", goal_metric="spend", goal_target="0.05",
                                     window_start=date(2026, 1, 1), window_end=date(2026, 2, 1), audience="all", seed=1)
    sent = Assignment.objects.create(campaign=spring, customer_id=messaged.customer_id, group="treated",
                                     assigned_at=datetime.now(timezone.utc))
    Contact.objects.create(assignment=sent, channel="email", status="sent", sent_at=datetime.now(timezone.utc))
    return {m.customer_id: m for m in Member.objects.all()}, full


def test_given_quiet_records_then_only_those_without_purchase_contact_or_change_are_stale(records):
    members, full = records

    assert [m.customer_id for m in stale_members()] == [1, 2]
    assert member_quality(members[1])["stale"] and member_quality(members[2])["stale"]
    assert not member_quality(members[3])["stale"]  # bought since
    assert member_quality(members[4])["last_contact"] is not None and not member_quality(members[4])["stale"]
    assert not member_quality(members[5])["stale"]  # enrolled today
    assert member_quality(full)["completeness"] == 1.0 and member_quality(full)["missing"] == []
    assert member_quality(members[2])["completeness"] == 0.15  # a first name only
    assert "last name" in member_quality(members[2])["missing"]


def test_given_a_longer_stale_setting_then_nothing_is_stale(records, monkeypatch):
    monkeypatch.setenv("CLIENTELE_IDENTITY_STALE_DAYS", "1000")
    settings.cache_clear()

    assert stale_members() == [] and quality_counts()["stale"] == 0


def test_the_data_quality_counts_add_up_over_the_active_members(records):
    members, _ = records
    merge_members(1, 5, actor="t")  # a closed member is no longer counted

    counts = quality_counts()

    assert counts["members"] == 4 and counts["stale"] == 2
    assert sum(counts["bands"].values()) == 4
    assert counts["bands"]["complete"] == 1 and counts["bands"]["below 0.5"] == 3
    assert counts["missing"]["email"] == 3
    assert counts["missing"]["last name"] == 1
    assert counts["average_completeness"] == pytest.approx((1.0 + 0.15 + 0.3 + 0.3) / 4)


def test_the_summary_report_shows_the_review_queue_counts(records, cj_slice_lake, monkeypatch):
    monkeypatch.setenv("CLIENTELE_LAKE", str(cj_slice_lake))
    settings.cache_clear()
    now = datetime.now(timezone.utc)
    for n, status in enumerate(("review", "review", "rejected")):
        CandidatePair.objects.create(left_ref=f"member:{n}", right_ref=f"shop:{n}", match_probability=0.9,
                                     match_weight=3, status=status, scored_at=now,
                                     decided_at=now if status != "review" else None)
    merge_members(1, 5, actor="t")

    done = CliRunner().invoke(app, ["report", "summary", "--format", "json"])
    table = CliRunner().invoke(app, ["report", "summary"], terminal_width=200)

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["review_queue"] == {"review": 2, "auto_linked": 0, "accepted": 0, "rejected": 1,
                                                       "merges_in_force": 1, "merges_undone": 0}
    assert table.exit_code == 0 and "Identity review queue" in table.stdout
