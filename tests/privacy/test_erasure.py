"""Erasure: the planted member's personal data gone from every table and every file under the
home (Parquet read as data), the accounting unchanged to the cent, asked twice the same answer."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from privacy_builders import PERSONAL, PLANTED, run_everything, sales_and_liability
from django.db import connection

from clientele.members.models import Card, Member
from clientele.privacy import erasure
from clientele.privacy.errors import ErasureRefused, UnknownMember
from clientele.privacy.models import ErasureRequest

NEEDLES = [value.lower() for value in PERSONAL.values()]


def found_in_database() -> list[str]:
    """Every (table, needle) where a row of any table holds one of the planted values."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row if value is not None).lower()
                hits += [f"{table}: {needle}" for needle in NEEDLES if needle in text]
    return hits


def found_in_files(home: Path) -> list[str]:
    """Every (file, needle) under the home holding a planted value: Parquet read as data, zip
    archives opened, every other file read as text."""
    import pyarrow.parquet as pq

    hits = []
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text = str(pq.read_table(path).to_pylist())
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                text = " ".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        hits += [f"{path.relative_to(home)}: {needle}" for needle in NEEDLES if needle in text.lower()]
    return hits


def test_erasure_leaves_no_trace_of_the_member_and_keeps_the_accounts_to_the_cent(world, tmp_path):
    run_everything(world, tmp_path)
    assert found_in_database() and found_in_files(world.home)  # the scan sees them before
    before = sales_and_liability(world.lake)

    answer = erasure.erase_member(PLANTED, reason="member's letter of 2026-12-01", requested_by="dpo",
                                  approved_by="deputy dpo")

    assert answer.status == "done"
    assert found_in_database() == []
    assert found_in_files(world.home) == []
    assert sales_and_liability(world.lake) == before
    member = Member.objects.get(customer_id=PLANTED)
    assert member.status == "erased" and not (member.email_consent or member.profiling_consent)
    assert set(Card.objects.filter(member=member).values_list("status", flat=True)) == {"blocked"}
    assert member.baskets.count() == 3  # the sales stay, under the member number alone


def test_a_blocked_card_of_an_erased_member_identifies_nobody_at_the_till(world):
    from clientele.barcodes import card_barcode
    from clientele.errors import ClienteleError
    from clientele.loyalty import services

    erasure.erase_member(PLANTED, reason="asked", requested_by="dpo", approved_by="deputy")
    with pytest.raises(ClienteleError) as refused:
        services.identify(card=card_barcode(PLANTED))
    assert PERSONAL["first_name"] not in str(refused.value)


def test_asking_twice_gets_the_same_answer(world):
    first = erasure.erase_member(PLANTED, reason="asked", requested_by="dpo", approved_by="deputy")
    again = erasure.erase_member(PLANTED, reason="asked again", requested_by="dpo", approved_by="deputy")
    assert again == first and ErasureRequest.objects.count() == 1


def test_nobody_approves_their_own_request_and_nothing_is_erased_before_approval(world):
    asked = erasure.request_erasure(PLANTED, reason="asked", requested_by="dpo")
    with pytest.raises(ErasureRefused, match="another person must approve"):
        erasure.approve_erasure(asked.request_id, approved_by="dpo")
    with pytest.raises(ErasureRefused, match="waits for a second person's approval"):
        erasure.carry_out(asked.request_id)
    assert Member.objects.get(customer_id=PLANTED).first_name == PERSONAL["first_name"]


def test_the_database_refuses_an_approval_by_the_requester(world):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ErasureRequest.objects.create(customer_id=PLANTED, reason="r", requested_by="dpo", approved_by="dpo",
                                      status="approved")


def test_an_open_complaint_holds_the_erasure_until_it_is_answered(world):
    from clientele.service import complaints

    complaint = complaints.record_complaint(complaints.ComplaintIn(
        member_number=PLANTED, channel="store", cause="product_quality", severity="low", what_happened="melted",
        how_it_happened="at home", why_unhappy="melted", served_by="Lee", wanted_resolution="refund",
        claim_reasonable=True), actor="agent")
    asked = erasure.request_erasure(PLANTED, reason="asked", requested_by="dpo")
    erasure.approve_erasure(asked.request_id, approved_by="deputy")
    with pytest.raises(ErasureRefused, match=f"open complaint\\(s\\) {complaint.id}"):
        erasure.carry_out(asked.request_id)
    complaints.change_status(complaint.id, "in_progress", "agent")
    complaints.change_status(complaint.id, "resolved", "agent")
    assert erasure.carry_out(asked.request_id).status == "done"


def test_an_unknown_member_is_refused_by_number(db):
    with pytest.raises(UnknownMember, match="no member number 999999"):
        erasure.request_erasure(999999, reason="asked", requested_by="dpo")
