"""Access: one archive with everything held about the member, from the database and the lake; a
merged-away number answered for its survivor; an unknown number refused by name."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from privacy_builders import PERSONAL, PLANTED
from typer.testing import CliRunner

from clientele.cli import app
from clientele.privacy import identity
from clientele.privacy.access import export_member
from clientele.privacy.errors import UnknownMember


def test_the_archive_holds_identity_cards_consents_ledger_and_baskets_from_tills_and_lake(world):
    archive = export_member(PLANTED)

    with zipfile.ZipFile(archive.path) as files:
        document = json.loads(files.read("member.json"))
        cards = list(csv.DictReader(io.StringIO(files.read("cards.csv").decode())))
        names = set(files.namelist())
    data = document["data"]
    assert data["identity"][0]["email"] == PERSONAL["email"]
    assert cards[0]["status"] == "active"
    assert {(c["channel"], c["granted"]) for c in data["consents"] if c["purpose"] == "marketing"} == {
        ("email", True), ("sms", True), ("post", True)}
    assert len(data["consent_history"]) == 3
    assert sum(entry["amount"] for entry in data["points_ledger"]) == 75  # 3 baskets of 25.00, 1 point a dollar
    assert len(data["till_baskets"]) == 3
    assert len(data["lake_basket_lines"]) > 100  # the household's Complete Journey history
    assert {"member.json", "identity.csv", "till_baskets.csv", "lake_basket_lines.csv"} <= names


def test_a_merged_away_number_is_answered_for_its_survivor(world):
    identity.register_survivor_lookup(lambda number: PLANTED if number == 880001 else None)
    try:
        archive = export_member(880001)
    finally:
        identity._SURVIVOR_LOOKUPS.clear()
    assert (archive.customer_id, archive.asked_for) == (PLANTED, 880001)


def test_the_command_writes_the_archive_and_refuses_an_unknown_member(world, capsys):
    with pytest.raises(UnknownMember, match="no member number 424242"):
        export_member(424242)
    result = CliRunner().invoke(app, ["privacy", "export", str(PLANTED)])
    assert result.exit_code == 0, result.output
    assert "lake_basket_lines" in result.output and ".zip" in result.output
