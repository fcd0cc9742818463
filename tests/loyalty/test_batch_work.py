"""The back office's batch work: tier review, expiry, liability, opening balances, the CLI."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from till_payloads import basket, post
from typer.testing import CliRunner

from clientele.barcodes import card_barcode
from clientele.loyalty import ledger
from clientele.loyalty.cli import app
from clientele.cli import app as clientele_app
from clientele.loyalty.migration import import_balances
from clientele.loyalty.models import Basket, BasketReturn, LoyaltyAccount, PointsEntry, Programme, Tier, TierChange
from clientele.loyalty.tiers import review_tiers
from clientele.members.models import Card, Member

TODAY = date(2026, 11, 23)


@pytest.fixture
def tiers(db) -> dict[str, Tier]:
    return {t.name: t for t in [
        Tier.objects.create(name="Bronze", rank=0),
        Tier.objects.create(name="Silver", rank=1, min_spend_12m=500, min_visits_12m=10, perks=["recipes"]),
        Tier.objects.create(name="Gold", rank=2, min_spend_12m=2000, min_visits_12m=24, earning_multiplier="1.5"),
    ]}


def shop(member, store, visits: int, each: str, on: date) -> None:
    moment = datetime(on.year, on.month, on.day, 15, tzinfo=timezone.utc)
    ledger.account_for_member(member)  # a till's first basket opens the account
    Basket.objects.bulk_create([
        Basket(store=store, till_id="T1", receipt_number=f"{member.pk}-{on}-{n}", transacted_at=moment - timedelta(days=n),
               member=member, total=Decimal(each), request_hash="", result={}, actor="test")
        for n in range(visits)
    ])


def credit(member, points: int, key: str, expires_on: date | None = None, kind="opening_balance") -> None:
    ledger.append(ledger.account_for_member(member), kind, points, key=key, source="test", actor="test",
                  available_from=datetime(2024, 1, 1, tzinfo=timezone.utc), expires_on=expires_on)


def test_given_spend_and_visits_when_tiers_are_reviewed_then_members_move_on_activity_never_on_balance(
        tiers, member, store):
    shop(member, store, visits=12, each="50.00", on=TODAY)
    hoarder = Member.objects.create(customer_id=7, join_date=TODAY)
    credit(hoarder, 1_000_000, "hoard")

    assert review_tiers(TODAY) == {"promoted": 2, "demoted": 0, "grace_started": 0, "grace_ended": 0, "unchanged": 0}

    assert LoyaltyAccount.objects.get(member=member).tier.name == "Silver"
    assert LoyaltyAccount.objects.get(member=hoarder).tier.name == "Bronze"
    assert "12-month spend 600.00, 12 visits" in TierChange.objects.get(account__member=member).reason


def test_given_a_silver_member_who_stops_shopping_then_grace_first_and_demotion_after_it(tiers, member, store):
    Programme.objects.update_or_create(pk=1, defaults={"tier_grace_days": 90})
    shop(member, store, visits=12, each="50.00", on=TODAY)
    review_tiers(TODAY)
    a_year_later = TODAY + timedelta(days=400)

    assert review_tiers(a_year_later)["grace_started"] == 1
    assert review_tiers(a_year_later + timedelta(days=30))["unchanged"] == 1
    assert review_tiers(a_year_later + timedelta(days=90))["demoted"] == 1

    account = LoyaltyAccount.objects.get(member=member)
    assert account.tier.name == "Bronze"
    assert [c.to_tier.name for c in TierChange.objects.order_by("id")] == ["Silver", "Silver", "Bronze"]
    assert "grace period over" in TierChange.objects.order_by("id").last().reason


def test_given_members_in_every_situation_when_one_review_runs_then_each_moves_as_documented_and_says_why(
        tiers, store):
    Programme.objects.update_or_create(pk=1, defaults={"tier_grace_days": 90})
    people = {name: Member.objects.create(customer_id=n, first_name=name, join_date=TODAY)
              for n, name in enumerate(["new", "lapsed", "grace_over", "back", "in_grace", "refunded"], start=1)}
    for name in ("new", "back", "refunded"):
        shop(people[name], store, visits=12, each="50.00", on=TODAY)
    for name in ("lapsed", "grace_over", "in_grace", "back"):
        ledger.account_for_member(people[name])
    silver = tiers["Silver"]
    LoyaltyAccount.objects.filter(member__first_name__in=["lapsed", "grace_over", "in_grace", "back"]).update(
        tier=silver, tier_since=TODAY - timedelta(days=500))
    LoyaltyAccount.objects.filter(member__first_name="grace_over").update(tier_grace_until=TODAY - timedelta(days=1))
    LoyaltyAccount.objects.filter(member__first_name__in=["in_grace", "back"]).update(
        tier_grace_until=TODAY + timedelta(days=10))
    refunded = Basket.objects.filter(member=people["refunded"]).first()
    BasketReturn.objects.create(basket=refunded, return_key="1/R1", store=store, refund=Decimal("150.00"),
                                returned_at=refunded.transacted_at + timedelta(days=1), points_reversed=0,
                                result={}, actor="test")

    counts = review_tiers(TODAY)

    assert counts == {"promoted": 2, "demoted": 1, "grace_started": 1, "grace_ended": 1, "unchanged": 1}
    accounts = {a.member.first_name: a for a in LoyaltyAccount.objects.select_related("member", "tier")}
    assert {name: (a.tier.name, a.tier_grace_until) for name, a in accounts.items()} == {
        "new": ("Silver", None), "lapsed": ("Silver", TODAY + timedelta(days=90)), "grace_over": ("Bronze", None),
        "back": ("Silver", None), "in_grace": ("Silver", TODAY + timedelta(days=10)), "refunded": ("Bronze", None)}
    assert accounts["new"].tier_since == TODAY and accounts["lapsed"].tier_since == TODAY - timedelta(days=500)
    reasons = {c.account.member.first_name: c.reason for c in TierChange.objects.select_related("account__member")}
    assert reasons == {
        "new": "promoted: meets the thresholds of Silver (12-month spend 600.00, 12 visits)",
        "lapsed": f"below the thresholds of Silver (12-month spend 0.00, 0 visits): kept until "
                  f"{TODAY + timedelta(days=90)}",
        "grace_over": "demoted: grace period over, qualifies for Bronze (12-month spend 0.00, 0 visits)",
        "back": "qualifies again for Silver: grace period ended (12-month spend 600.00, 12 visits)",
        "refunded": "promoted: meets the thresholds of Bronze (12-month spend 450.00, 12 visits)",
    }
    assert TierChange.objects.get(account__member__first_name="refunded").spend_12m == Decimal("450.00")
    assert review_tiers(TODAY)["unchanged"] == 6  # a second run the same day moves nobody


def test_given_two_tier_reviews_started_together_then_each_move_is_made_and_recorded_once(
        concurrent_db, tiers, member, store):
    from test_concurrency import run_together

    shop(member, store, visits=12, each="50.00", on=TODAY)
    Programme.current()

    def slow_review():  # each step waits, so the two reviews overlap unless one waits for the other
        return review_tiers(TODAY, on_step=lambda step: time.sleep(0.3))

    results = run_together([slow_review] * 2)

    assert sorted(result["promoted"] for result in results) == [0, 1]
    assert TierChange.objects.count() == 1


def test_given_old_points_partly_spent_when_expiry_runs_then_the_oldest_unspent_expire_once(member):
    credit(member, 100, "old", expires_on=date(2025, 1, 1))
    credit(member, 50, "newer", expires_on=date(2026, 6, 1), kind="points_earned")
    credit(member, -30, "spent", kind="points_redeemed")

    assert ledger.expire_points(date(2025, 6, 1)) == {"accounts": 1, "points_expired": 70}
    assert ledger.expire_points(date(2025, 6, 1)) == {"accounts": 0, "points_expired": 0}
    assert ledger.liability(date(2026, 5, 15))["expiring_next_month"] == 50
    assert ledger.expire_points(date(2026, 7, 1))["points_expired"] == 50
    assert ledger.balance(member.loyalty_account.pk).available == 0


def test_given_outstanding_points_when_finance_asks_then_liability_in_points_and_money(member, store):
    credit(member, 1234, "opening")
    ledger.append(member.loyalty_account, "points_earned", 66, key="pending", source="t", actor="t",
                  available_from=datetime.now(timezone.utc) + timedelta(days=10))

    result = CliRunner().invoke(app, ["liability", "--format", "json", "--today", "2026-11-23"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["available"], report["pending"], report["available_value"], report["pending_value"]) == (
        1234, 66, "12.34", "0.66")


def test_given_a_previous_system_file_when_imported_then_read_equals_loaded_plus_quarantined_with_reasons(
        home, tmp_path, member):
    source = tmp_path / "old_system.csv"
    source.write_text(
        "member_number,card,opening_points,first_name,joined_on\n"
        f"500,{card_barcode(500)},1200,Ann,2019-05-01\n"
        f"501,{card_barcode(501)},0,Bob,\n"
        f"502,123,10,Cy,\n"
        f"503,{card_barcode(503)},-5,Di,\n"
        f"500,{card_barcode(500, 1)},1,Ann again,\n"
        f"504,{card_barcode(42)},10,Eve,\n"
        f"505,{card_barcode(505)},10,Flo,yesterday\n"
    )

    report = import_balances(source)

    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"]) == (7, 2, 5)
    assert report["reconciles"]
    quarantined = (home / "quarantine").glob("*.csv").__next__().read_text().splitlines()
    assert quarantined[1] == "old_system.csv,4,card,'123' is not a valid EAN-13 barcode"
    assert {line.split(",")[2] for line in quarantined[1:]} == {"card", "opening_points", "member_number", "joined_on"}
    ann = Member.objects.get(customer_id=500)
    assert ledger.balance(ann.loyalty_account.pk).available == 1200
    assert PointsEntry.objects.get(account__member=ann).source == "old_system.csv line 2"
    assert Card.objects.get(barcode=card_barcode(500)).member == ann

    again = import_balances(source)

    assert (again["rows_loaded"], again["rows_already_loaded"], again["reconciles"]) == (0, 2, True)
    assert PointsEntry.objects.count() == 2


def test_given_the_commands_when_run_then_each_reports_what_it_did(home, tmp_path, member, store):
    source = tmp_path / "old.csv"
    source.write_text(f"member_number,card,opening_points\n600,{card_barcode(600)},50\n")
    runner = CliRunner()

    imported = runner.invoke(app, ["import-balances", str(source), "--format", "json"])
    expired = runner.invoke(app, ["expire", "--today", "2026-11-23"])
    reviewed = runner.invoke(app, ["review-tiers", "--today", "2026-11-23"])
    issued = runner.invoke(app, ["issue-api-key", "--store", "1", "--name", "till 9"])
    refused = runner.invoke(app, ["issue-api-key", "--store", "99", "--name", "till 9"])

    assert imported.exit_code == 0 and json.loads(imported.output)["rows_loaded"] == 1
    assert expired.exit_code == 0 and "Expired 0 points" in expired.output
    assert reviewed.exit_code == 0 and "unchanged" in reviewed.output
    assert issued.exit_code == 0 and "clt_" in issued.output
    assert refused.exit_code != 0 and "no store 99" in str(refused.exception)


def test_given_a_posted_basket_when_the_lake_sync_command_runs_then_it_reports_the_lines(
        home, till, programme_ready, card):
    post(till, "/baskets", basket(card=card))

    result = CliRunner().invoke(clientele_app, ["lake", "sync"])

    assert result.exit_code == 0, result.output
    assert "2 lines in 1 imports" in result.output
