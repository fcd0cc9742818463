"""The default programme and the Complete Journey's history credited through it, on a real slice.

Every expectation is computed here from the slice's lake and the programme's published terms
(docs/loyalty.md): 1 point per dollar, store brand x2, fresh produce x2, at most 1,000 points a
basket; tiers on 12-month spend and visits.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

import duckdb
import pytest
from typer.testing import CliRunner

from clientele.catalog.models import Product, Store
from clientele.loyalty import history, ledger, services
from clientele.loyalty.cli import app
from clientele.loyalty.default_programme import install_default_programme
from clientele.loyalty.history import HISTORY_TILL, NoBaseRule, credit_history
from clientele.loyalty.models import Basket, EarningRule, LoyaltyAccount, PointsEntry, Reward, Tier
from clientele.lake.store import Lake
from clientele.members.models import Card, Member

STORE_ZONE = "America/Chicago"
#: A household of the slice left out of the members: its baskets are skipped, with the reason.
NOT_A_MEMBER = 9


def _lake_rows(lake_root, sql: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW lines AS SELECT * FROM read_parquet('{lake_root}/basket_lines/**/*.parquet', "
                "hive_partitioning = true)")
    con.execute(f"CREATE VIEW products AS SELECT * FROM read_parquet('{lake_root}/products/*.parquet')")
    rows = con.execute(sql).fetchall()
    con.close()
    return rows


@pytest.fixture
def slice_members(db, cj_slice_lake) -> Lake:
    """The slice's stores, products and households (each a member with its card) in the database,
    but for NOT_A_MEMBER; returns the slice's lake."""
    stores = _lake_rows(cj_slice_lake, "SELECT DISTINCT store_id FROM lines")
    Store.objects.bulk_create([Store(store_id=s, timezone=STORE_ZONE) for (s,) in stores])
    products = _lake_rows(cj_slice_lake, """
        SELECT product_id, coalesce(department, ''), coalesce(category, ''), coalesce(brand_type, 'National')
        FROM products WHERE product_id IN (SELECT product_id FROM lines)""")
    Product.objects.bulk_create([Product(product_id=p, department=d, category=c, brand_type=b)
                                 for p, d, c, b in products])
    households = _lake_rows(cj_slice_lake, f"""
        SELECT customer_id, any_value(card_barcode), min(transaction_ts)::DATE FROM lines
        WHERE customer_id <> {NOT_A_MEMBER} GROUP BY 1""")
    Member.objects.bulk_create([Member(customer_id=c, join_date=joined) for c, _, joined in households])
    members = dict(Member.objects.values_list("customer_id", "id"))
    Card.objects.bulk_create([Card(barcode=barcode, member_id=members[c]) for c, barcode, _ in households])
    return Lake(cj_slice_lake)


@pytest.fixture
def default_programme(db):
    return install_default_programme()


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def expected_points(lake_root) -> dict[str, int]:
    """Each member basket's points under the default programme's terms, by basket id."""
    baskets = _lake_rows(lake_root, f"""
        SELECT l.basket_id, sum(l.sales_value),
               coalesce(sum(l.sales_value) FILTER (p.brand_type = 'Private'), 0),
               coalesce(sum(l.sales_value) FILTER (p.department = 'PRODUCE'), 0)
        FROM lines l LEFT JOIN products p USING (product_id)
        WHERE l.customer_id <> {NOT_A_MEMBER} GROUP BY 1""")
    return {basket: min(1000, _floor(spend) + _floor(store_brand) + _floor(produce))
            for basket, spend, store_brand, produce in baskets}


def test_the_default_programme_is_installed_into_an_empty_programme_and_never_over_one_set_up(db):
    first = install_default_programme()
    rule = EarningRule.objects.get(name="Store brand x2")
    rule.multiplier = Decimal("3")
    rule.save()
    again = install_default_programme()

    assert first == {"installed": True, "earning_rules": 8, "tiers": 4, "rewards": 5}
    assert again == {"installed": False, "earning_rules": 8, "tiers": 4, "rewards": 5}
    assert EarningRule.objects.get(name="Store brand x2").multiplier == 3  # the user's change stays
    assert EarningRule.objects.get(name="1 point per dollar").history.count() == 1  # saved as version 1
    assert list(Tier.objects.values_list("name", flat=True)) == ["Member", "Silver", "Gold", "Platinum"]

    EarningRule.objects.all().delete()
    Tier.objects.all().delete()
    Reward.objects.all().delete()
    assert install_default_programme()["installed"] is False  # emptied on purpose: left empty


def test_a_programme_with_only_a_users_tier_is_left_as_it_is(db):
    Tier.objects.create(name="Everyone", rank=0)

    assert install_default_programme() == {"installed": False, "earning_rules": 0, "tiers": 1, "rewards": 0}


def test_each_member_basket_is_credited_once_with_the_points_the_rules_give(slice_members, default_programme):
    report = credit_history(slice_members, batch=500)
    again = credit_history(slice_members, batch=500)

    expected = expected_points(slice_members.root)
    credited = dict(PointsEntry.objects.filter(kind="points_earned")
                    .values_list("basket__receipt_number", "amount"))
    not_a_member = _lake_rows(slice_members.root, f"SELECT count(DISTINCT basket_id) FROM lines "
                                                   f"WHERE customer_id = {NOT_A_MEMBER}")[0][0]
    assert report.credited == len(expected) == Basket.objects.filter(till_id=HISTORY_TILL).count()
    assert credited == {basket: points for basket, points in expected.items() if points > 0}
    assert report.points == sum(expected.values())
    assert dict(report.skipped) == {"customer is not a member": not_a_member}
    assert (again.credited, again.ledger_entries, again.baskets) == (0, 0, not_a_member)  # only the skipped, again
    assert PointsEntry.objects.count() == len(credited)


def test_a_run_that_dies_inside_a_batch_leaves_nothing_of_it_and_the_next_run_finishes_the_job(
        slice_members, default_programme, monkeypatch):
    real_append = ledger.append_basket_credits
    calls = []

    def dies_on_the_third_batch(credits, actor):
        calls.append(len(credits))
        written = real_append(credits, actor)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed after the batch's baskets and entries were written
        return written

    monkeypatch.setattr(ledger, "append_basket_credits", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        credit_history(slice_members, batch=200)
    kept = Basket.objects.filter(till_id=HISTORY_TILL).count()
    every_kept_basket_has_its_entry = (PointsEntry.objects.count()
                                       == Basket.objects.filter(points_earned__gt=0).count())
    monkeypatch.setattr(ledger, "append_basket_credits", real_append)
    resumed = credit_history(slice_members, batch=200)

    expected = expected_points(slice_members.root)
    assert 0 < kept <= 400 and every_kept_basket_has_its_entry  # two batches kept, the third rolled back
    assert kept + resumed.credited == len(expected)
    assert dict(PointsEntry.objects.values_list("basket__receipt_number", "amount")) == {
        basket: points for basket, points in expected.items() if points > 0}


def _expected_tiers(lake_root, reviewed_on: date) -> dict[int, str]:
    """The tier each member's spend and visits of the 12 months to `reviewed_on` (UTC days) earn."""
    window = (datetime.combine(reviewed_on - timedelta(days=364), datetime.min.time(), tzinfo=timezone.utc),
              datetime.combine(reviewed_on + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc))
    spend, visits = defaultdict(Decimal), defaultdict(int)
    members = set()
    for customer, local_ts, total in _lake_rows(lake_root, f"""
            SELECT customer_id, min(transaction_ts), sum(sales_value) FROM lines
            WHERE customer_id <> {NOT_A_MEMBER} GROUP BY basket_id, customer_id"""):
        members.add(customer)
        if window[0] <= local_ts.replace(tzinfo=ZoneInfo(STORE_ZONE)) < window[1]:
            spend[customer] += total
            visits[customer] += 1
    tiers = list(Tier.objects.order_by("-rank"))
    return {customer: next(t.name for t in tiers if spend[customer] >= t.min_spend_12m
                           and visits[customer] >= t.min_visits_12m) for customer in members}


def test_after_the_history_each_member_holds_the_tier_their_spend_earns(slice_members, default_programme):
    report = credit_history(slice_members)

    held = dict(LoyaltyAccount.objects.values_list("member__customer_id", "tier__name"))
    expected = _expected_tiers(slice_members.root, report.tiers_reviewed_on)
    top_spender = _lake_rows(slice_members.root, f"SELECT customer_id FROM lines WHERE customer_id <> {NOT_A_MEMBER} "
                                                 "GROUP BY 1 ORDER BY sum(sales_value) DESC LIMIT 1")[0][0]
    assert held == expected
    assert held[top_spender] in ("Gold", "Platinum")
    assert len(set(held.values())) >= 3  # the slice has spenders of every size


def test_liability_is_the_sum_of_the_balances_and_identify_shows_each_members_points_and_tier(
        slice_members, default_programme):
    report = credit_history(slice_members)

    liability = services.liability(report.tiers_reviewed_on)
    balances = {account: ledger.balance(account) for account in LoyaltyAccount.objects.values_list("id", flat=True)}
    member = Member.objects.get(customer_id=1023)
    shown = services.identify(card=member.cards.get().barcode)
    account = member.loyalty_account
    assert liability["available"] == sum(b.available for b in balances.values()) == report.points
    assert liability["pending"] == 0 and liability["debt"] == 0  # the 2017 return windows are long closed
    assert Decimal(liability["available_value"]) == (Decimal(report.points) * Decimal("0.01")).quantize(Decimal("0.01"))
    assert shown["balance"] == balances[account.pk].as_dict() and shown["balance"]["available"] > 0
    assert shown["tier"] == account.tier.name and shown["perks"] == account.tier.perks


def test_without_a_base_rule_the_history_is_not_credited(slice_members):
    with pytest.raises(NoBaseRule, match="default-programme"):
        credit_history(slice_members)
    assert not Basket.objects.exists()


def test_a_batch_holds_the_lock_a_till_checkout_takes_for_the_same_member(transactional_db):
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no account lock: its IMMEDIATE transaction serialises every writer")
    import psycopg

    member = Member.objects.create(customer_id=1, join_date=date(2017, 1, 1))
    account = LoyaltyAccount.objects.create(member=member)
    other = LoyaltyAccount.objects.create(member=Member.objects.create(customer_id=2, join_date=date(2017, 1, 1)))
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                         dbname=settings["NAME"], autocommit=True) as till:
        def till_can_lock(account_id: int) -> bool:  # what the till's checkout takes (ledger.account_lock_sql)
            return till.execute(f"SELECT pg_try_advisory_lock({ledger.ACCOUNT_LOCKS} + {account_id}), "
                                f"pg_advisory_unlock_all()").fetchone()[0]

        with transaction.atomic():
            ledger.lock_accounts([account.pk])
            during = till_can_lock(account.pk), till_can_lock(other.pk)
        after = till_can_lock(account.pk)

    assert during == (False, True) and after is True


def test_the_commands_install_the_programme_and_credit_the_history(slice_members, home):
    shutil.copytree(slice_members.root, home / "lake")
    runner = CliRunner()

    installed = runner.invoke(app, ["default-programme"])
    credited = runner.invoke(app, ["credit-history", "--format", "json"])
    again = runner.invoke(app, ["credit-history", "--format", "json"])

    assert installed.exit_code == 0 and "Default programme installed: 8 earning rules" in installed.output
    assert credited.exit_code == 0, credited.output
    figures = json.loads(credited.output)
    assert figures["baskets_credited"] == len(expected_points(slice_members.root))
    assert figures["tier_moves"]["promoted"] == Member.objects.count()
    assert json.loads(again.output)["baskets_credited"] == 0
    assert history.ACTOR == PointsEntry.objects.first().actor
