"""Retention: contact data of long-inactive members deleted, cards taken off old baskets; a dry run
reports and changes nothing; the nightly refresh runs it and writes its report."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from clientele.members.models import Card, Member
from clientele.privacy.retention import run_retention

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def members(db):
    from clientele.catalog.models import Store
    from clientele.loyalty.models import Basket

    store = Store.objects.create(store_id=1)
    gone = Member.objects.create(customer_id=1, email="gone@example.test", phone="+13125550001",
                                 address_line="1 Old Road", join_date=date(2019, 1, 1))
    active = Member.objects.create(customer_id=2, email="here@example.test", join_date=date(2019, 1, 1))
    card = Card.objects.create(barcode="2900000000022", member=active)
    Member.objects.filter(pk__in=[gone.pk, active.pk]).update(updated_at=NOW - timedelta(days=5 * 365))
    for moment, receipt in ((NOW - timedelta(days=30), "1"), (NOW - timedelta(days=8 * 365), "2")):
        Basket.objects.create(store=store, till_id="1", receipt_number=receipt, transacted_at=moment, member=active,
                              card=card, total=Decimal("10.00"), request_hash="x", result={}, actor="test")
    return gone, active


def test_a_dry_run_reports_what_would_change_and_changes_nothing(members):
    report = run_retention(apply=False, now=NOW)
    assert [rule["rows"] for rule in report["rules"]] == [1, 1, 0]
    assert report["rules"][0]["sample"] == [1]
    assert Member.objects.get(customer_id=1).email == "gone@example.test"


def test_applied_it_deletes_the_inactive_member_s_contacts_and_the_old_basket_s_card(members):
    from clientele.loyalty.models import Basket

    run_retention(apply=True, now=NOW)
    gone = Member.objects.get(customer_id=1)
    assert (gone.email, gone.phone, gone.address_line) == ("", "", "")
    assert Member.objects.get(customer_id=2).email == "here@example.test"  # shopped last month
    assert list(Basket.objects.order_by("receipt_number").values_list("card_id", flat=True))[1] is None
    assert Basket.objects.get(receipt_number="1").card_id is not None
    assert [rule["rows"] for rule in run_retention(apply=False, now=NOW)["rules"]] == [0, 0, 0]


def test_the_periods_are_configured(members, monkeypatch):
    from clientele.config import settings

    monkeypatch.setenv("CLIENTELE_RETENTION_CONTACT_YEARS", "10")
    monkeypatch.setenv("CLIENTELE_RETENTION_BASKET_YEARS", "10")
    settings.cache_clear()
    try:
        assert [rule["rows"] for rule in run_retention(apply=False, now=NOW)["rules"]] == [0, 0, 0]
    finally:
        settings.cache_clear()


def test_the_command_reports_a_dry_run_as_a_table_and_json(members, tmp_path):
    from typer.testing import CliRunner

    from clientele.cli import app

    out = tmp_path / "retention.json"
    result = CliRunner().invoke(app, ["privacy", "retention", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and out.exists()
