"""Posting baskets at the till: points credited once, explained, kept pending through the return window."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection, transaction
from till_payloads import MILK, basket, post

from clientele.loyalty import ledger
from clientele.loyalty.checkout import BasketIn, LineIn, credit_basket
from clientele.loyalty.models import ApiKey, Basket, BasketLine, EarningRule, PointsEntry, Referral, Tier
from clientele.members.models import Member


def test_given_a_member_when_a_basket_is_posted_then_points_are_earned_pending_and_explained(till, programme_ready, card):
    response = post(till, "/baskets", basket(card=card))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["points_earned"] == 8  # 5.00 + 3.00 at 1 point per dollar
    assert body["explanation"] == [
        {"rule_id": EarningRule.objects.get().pk, "version": 1, "rule": "1 point per dollar", "points": 8}
    ]
    assert body["balance"] == {"available": 0, "pending": 8}  # pending until the return window closes
    assert body["replayed"] is False
    assert Basket.objects.get().total == 8
    assert sorted(BasketLine.objects.values_list("points", flat=True)) == [3, 5]


def test_given_a_posted_basket_when_the_till_replays_it_then_it_gets_the_first_answer_and_no_points(till, programme_ready, card):
    payload = basket(card=card)
    first = post(till, "/baskets", payload).json()

    replay = post(till, "/baskets", payload)

    assert replay.status_code == 200
    assert replay.json() == first | {"replayed": True}
    assert PointsEntry.objects.count() == 1
    assert Basket.objects.count() == 1


def test_given_a_birthday_bonus_when_the_basket_is_replayed_then_the_first_answer_shows_the_bonus_in_the_balance(
        till, programme_ready, card):
    programme_ready.first_name, programme_ready.last_name = "100%", "Ada"  # the message is a template: no formatting
    programme_ready.birth_date = ledger.now_utc().date().replace(year=1990, day=1)
    programme_ready.save()
    EarningRule.objects.create(name="Birthday 100", kind="action_bonus", action="birthday_month", bonus_points=100)
    payload = basket(card=card)

    first = post(till, "/baskets", payload).json()
    replay = post(till, "/baskets", payload).json()

    assert first["balance"] == {"available": 100, "pending": 8}  # the bonus at once, the basket's 8 after returns
    assert first["message"] == "100% Ada: 108 points today, 100 to spend, 8 pending."
    assert replay == first | {"replayed": True}


def test_given_a_posted_receipt_when_other_content_comes_with_its_number_then_receipt_reused(till, programme_ready, card):
    post(till, "/baskets", basket(card=card))
    other = basket(card=card, lines=[{"line_no": 1, "product_id": MILK, "quantity": "9", "unit_price": "1.00"}])

    response = post(till, "/baskets", other)

    assert response.status_code == 409
    assert response.json()["code"] == "receipt_reused"


def test_a_baskets_fingerprint_keeps_the_bytes_stored_with_baskets_posted_before():
    # Stored as each basket's request_hash: a replay of a basket posted by an earlier version must
    # still match. The digests are those the code of 2026-12-02 (f3b9707) gave, which hashed
    # json.dumps(dataclasses.asdict(basket), sort_keys=True, default=str).
    posted = BasketIn(store_id=3, till_id="Kassé 2", receipt_number="R\u00fc-1",
                      transacted_at=datetime(2026, 3, 1, 9, 30, 5, 120, tzinfo=timezone(timedelta(hours=1))),
                      lines=[LineIn(1, 901, Decimal("1.500"), Decimal("2.99"), Decimal("0.10")),
                             LineIn(2, 7, Decimal("2"), Decimal("1E+1"))], member_number=12)
    anonymous = BasketIn(store_id=1, till_id="T", receipt_number="9", lines=[LineIn(1, 5, Decimal("1"), Decimal("0"))],
                         transacted_at=datetime(2026, 1, 1, tzinfo=timezone.utc), card='29"\\01')

    assert posted.fingerprint() == "322f84b5d02adc2f6fa75bcbb38b0aa9e87a4addb3f1f6c47d97eb781fed4bec"
    assert anonymous.fingerprint() == "7f09ce3b3575dd1a05148afd2ca419e57832f023e19ee6ff783f26706e11aad5"


def test_given_store_brand_x2_when_milk_is_bought_then_the_multiplier_is_explained(till, programme_ready, card):
    rule = EarningRule.objects.create(name="Store brand x2", kind="multiplier", multiplier="2", brand_type="Private")

    body = post(till, "/baskets", basket(card=card)).json()

    assert body["points_earned"] == 11
    assert {"rule_id": rule.pk, "version": 1, "rule": "Store brand x2", "points": 3} in body["explanation"]


def test_given_an_anonymous_basket_when_posted_then_it_is_stored_without_points(till, programme_ready):
    body = post(till, "/baskets", basket()).json()

    assert body["points_earned"] == 0 and body["member_number"] is None
    assert Basket.objects.get().member is None
    assert not PointsEntry.objects.exists()


def test_given_a_basket_when_the_server_dies_after_the_first_writes_then_nothing_is_kept(
        till, programme_ready, card, monkeypatch):
    def crash(*args, **kwargs):
        credit_basket(*args, **kwargs)  # the basket, its lines and its points are written...
        raise RuntimeError("server killed")  # ...and the server dies before the commit

    monkeypatch.setattr("clientele.loyalty.checkout.credit_basket", crash)
    till.raise_request_exception = False
    response = post(till, "/baskets", basket(card=card))

    assert response.status_code == 500
    assert not Basket.objects.exists() and not BasketLine.objects.exists() and not PointsEntry.objects.exists()
    monkeypatch.undo()
    assert post(till, "/baskets", basket(card=card)).json()["points_earned"] == 8


@pytest.mark.parametrize("identifier", ["card", "member_number"])
def test_given_a_member_when_identified_then_the_till_greets_them_with_balance_and_offers(till, member, card, identifier):
    query = {"card": card} if identifier == "card" else {"member_number": 42}

    response = till.get("/api/members/identify", query)

    assert response.status_code == 200, response.content
    assert response.json() == {"member_number": 42, "greeting_name": "Ada", "tier": None, "perks": [],
                               "balance": {"available": 0, "pending": 0}, "offers": [], "messages": [],
                               "top_categories": [], "context": None}



@pytest.mark.parametrize("identifier", ["card", "phone", "member_number"])
def test_given_a_gold_member_with_spendable_and_pending_points_when_identified_then_both_and_the_perks_show(
        till, member, card, identifier):
    gold = Tier.objects.create(name="Gold", rank=2, earning_multiplier=Decimal("1.5"), perks=["express lane"])
    account = ledger.account_for_member(member)
    account.tier = gold
    account.save()
    now = ledger.now_utc()
    ledger.append(account, PointsEntry.Kind.OPENING_BALANCE, 120, key="open", source="test", actor="test")
    ledger.append(account, PointsEntry.Kind.POINTS_REDEEMED, -20, key="spent", source="test", actor="test")
    ledger.append(account, PointsEntry.Kind.POINTS_EARNED, 7, key="earned", source="test", actor="test",
                  available_from=now + timedelta(days=30))
    query = {"card": card, "phone": "+13125550100", "member_number": 42}[identifier]

    response = till.get("/api/members/identify", {identifier: query})

    assert response.json() == {"member_number": 42, "greeting_name": "Ada", "tier": "Gold", "perks": ["express lane"],
                               "balance": {"available": 100, "pending": 7}, "offers": [], "messages": [],
                               "top_categories": [], "context": None}


def test_given_a_gold_member_referred_by_a_friend_when_they_check_out_then_tier_points_and_one_reward_for_the_friend(
        till, programme_ready, card):
    gold = Tier.objects.create(name="Gold", rank=2, earning_multiplier=Decimal("1.5"))
    account = ledger.account_for_member(programme_ready)
    account.tier = gold
    account.save()
    friend = Member.objects.create(customer_id=7, first_name="Grace", join_date=date(2024, 1, 5))
    Referral.objects.create(referrer=friend, referred=programme_ready)
    EarningRule.objects.create(name="Referral reward", kind="action_bonus", action="referral", bonus_points=50)

    first = post(till, "/baskets", basket(card=card)).json()
    second = post(till, "/baskets", basket(receipt="1002", card=card)).json()

    assert first["tier"] == "Gold" and first["points_earned"] == 12  # 8 base points, +4 for Gold x1.5
    assert first["explanation"][-1]["rule"] == "tier Gold x1.5" and first["explanation"][-1]["points"] == 4
    assert second["points_earned"] == 12
    assert ledger.balance(ledger.account_for_member(friend).pk).available == 50  # rewarded once, not per basket


def test_given_baskets_posted_when_the_base_rule_changes_then_the_next_basket_earns_by_the_new_rule(
        till, programme_ready, card, base_rule):
    assert post(till, "/baskets", basket(receipt="1", card=card)).json()["points_earned"] == 8

    base_rule.points_per_unit = Decimal("2")
    base_rule.save()  # as the back office does
    doubled = post(till, "/baskets", basket(receipt="2", card=card)).json()
    EarningRule.objects.filter(pk=base_rule.pk).update(points_per_unit=Decimal("3"))  # even behind save()'s back
    tripled = post(till, "/baskets", basket(receipt="3", card=card)).json()

    assert doubled["points_earned"] == 16
    assert tripled["points_earned"] == 24


class _RolledBack(Exception):
    pass


def test_given_a_rule_change_rolled_back_after_a_basket_used_it_when_rules_change_again_then_baskets_earn_by_the_new(
        till, programme_ready, card, base_rule):
    # The workers keep the rules under the rules' version (PostgreSQL): a version seen in a
    # transaction that was rolled back must never come back for other rules.
    with pytest.raises(_RolledBack), transaction.atomic():
        EarningRule.objects.filter(pk=base_rule.pk).update(points_per_unit=Decimal("3"))
        assert post(till, "/baskets", basket(receipt="1", card=card)).json()["points_earned"] == 24
        raise _RolledBack
    assert post(till, "/baskets", basket(receipt="2", card=card)).json()["points_earned"] == 8

    EarningRule.objects.filter(pk=base_rule.pk).update(points_per_unit=Decimal("2"))

    assert post(till, "/baskets", basket(receipt="3", card=card)).json()["points_earned"] == 16
    with connection.cursor() as cursor:  # by any path: here plain SQL
        cursor.execute("DELETE FROM loyalty_earningrule")
    assert post(till, "/baskets", basket(receipt="4", card=card)).json()["points_earned"] == 0


def test_given_a_posted_basket_when_a_parent_of_it_is_deleted_then_it_is_refused(till, programme_ready, card):
    # Django refuses to delete the member, card, basket, product, points account or store (PROTECT);
    # the database refuses too, by any path (foreign keys: tests/loyalty/test_integrity.py)
    from django.db.models import ProtectedError

    assert post(till, "/baskets", basket(card=card)).status_code == 200
    line = BasketLine.objects.select_related("basket__store", "basket__member", "basket__card", "product").first()
    assert line.basket.card.barcode == card and line.basket.member == line.basket.card.member

    account = PointsEntry.objects.get(basket=line.basket).account
    for parent in (line.basket.member, line.basket.card, line.basket, line.product, account):
        with pytest.raises(ProtectedError):
            parent.delete()
    ApiKey.objects.filter(store=line.basket.store).delete()  # the till's key protects its store too
    with pytest.raises(ProtectedError) as refused:
        line.basket.store.delete()
    assert {type(row) for row in refused.value.protected_objects} == {Basket}
    assert BasketLine.objects.filter(product=line.product, basket__store=line.basket.store).exists()


def refused_then_accepted(till, card) -> tuple:
    # Two products, as the accepted basket has: the same first read, prepared by the refused one.
    unknown_product = [{"line_no": 1, "product_id": MILK, "quantity": "1", "unit_price": "1.00"},
                       {"line_no": 2, "product_id": 77, "quantity": "1", "unit_price": "1.00"}]
    refused = post(till, "/baskets", basket(receipt="1", card=card, lines=unknown_product))
    accepted = post(till, "/baskets", basket(receipt="2", card=card))
    return refused, accepted


def test_given_a_refused_basket_when_the_till_posts_the_next_then_it_is_credited(till, programme_ready, card):
    # The refusal rolls the checkout back; the next one, on the same database connection, still
    # runs the statements prepared there.
    refused, accepted = refused_then_accepted(till, card)

    assert refused.json()["code"] == "unknown_product"
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["points_earned"] == 8


def test_given_psycopg_preparing_statements_itself_when_a_basket_is_refused_then_the_next_is_credited(
        transactional_db, till, programme_ready, card):
    # psycopg deallocates every prepared statement of the session at a rollback when it prepares
    # statements itself: on such a connection the hot statements go through Django's cursor.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("psycopg's own prepared statements are PostgreSQL's")
    options = connection.settings_dict["OPTIONS"]
    connection.close()
    options["prepare_threshold"] = 0
    try:
        Basket.objects.count()  # a query psycopg prepares, so that it has statements to deallocate
        refused, accepted = refused_then_accepted(till, card)
        accepted_again = post(till, "/baskets", basket(receipt="3", card=card))
        prepared_by_psycopg = connection.connection.prepare_threshold
    finally:
        options["prepare_threshold"] = None
        connection.close()

    assert prepared_by_psycopg == 0
    assert refused.json()["code"] == "unknown_product"
    assert [accepted.status_code, accepted_again.status_code] == [200, 200]


def test_given_queries_logged_when_a_basket_is_posted_then_its_statements_are_in_the_log(till, programme_ready, card):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as logged:
        assert post(till, "/baskets", basket(card=card)).status_code == 200

    written = [query["sql"] for query in logged.captured_queries if "loyalty_basketline" in query["sql"]]
    assert written and "INSERT INTO" in written[0]
