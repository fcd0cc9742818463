"""Returns reverse points in proportion; redemptions spend them once, for every channel."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from till_payloads import TillClient, basket, post

from clientele.barcodes import card_barcode
from clientele.loyalty import identity, ledger
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import PointsEntry, Programme, Reward


def give_points(member, points: int) -> None:
    ledger.append(ledger.account_for_member(member), PointsEntry.Kind.OPENING_BALANCE, points,
                  key=f"opening:{member.pk}", source="test", actor="test")


def return_of(lines: dict[int, str], return_id: str = "R1", store_id: int = 1) -> dict:
    return {"store_id": store_id, "return_id": return_id, "original_store_id": 1, "original_till_id": "T1",
            "original_receipt_number": "1001", "lines": [{"line_no": n, "quantity": q} for n, q in lines.items()]}


def test_given_a_basket_in_its_return_window_when_lines_come_back_then_pending_points_go_in_proportion(
        till, programme_ready, card):
    post(till, "/baskets", basket(card=card))  # bread 2 x 2.50 -> 5 points, milk 3.00 -> 3 points

    half = post(till, "/returns", return_of({1: "1"})).json()
    rest = post(till, "/returns", return_of({1: "1"}, return_id="R2")).json()

    assert (half["points_reversed"], half["refund"], half["balance"]) == (2, "2.50", {"available": 0, "pending": 6})
    assert (rest["points_reversed"], rest["refund"], rest["balance"]) == (3, "2.50", {"available": 0, "pending": 3})


def test_given_a_return_when_the_till_replays_it_then_nothing_more_is_reversed(till, programme_ready, card):
    post(till, "/baskets", basket(card=card))
    first = post(till, "/returns", return_of({2: "1"})).json()

    again = post(till, "/returns", return_of({2: "1"})).json()

    assert again == first | {"replayed": True}
    assert PointsEntry.objects.filter(kind="points_reversed").count() == 1


def test_given_spent_points_when_the_basket_comes_back_at_another_store_then_the_debt_is_carried(
        programme_ready, card, till, other_store):
    Programme.objects.update_or_create(pk=1, defaults={"return_window_days": 0})
    post(till, "/baskets", basket(card=card))
    post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1", "card": card, "amount": "0.08"})
    _, raw = issue_api_key(other_store, "online returns desk")

    body = post(TillClient(headers={"X-API-Key": raw}), "/returns", return_of({1: "2", 2: "1"}, store_id=2)).json()

    assert (body["points_reversed"], body["refund_due"]) == (8, "8.00")
    assert body["balance"] == {"available": -8, "pending": 0}  # carried as debt, paid back by future points


def test_given_spent_points_under_reduce_refund_when_the_basket_comes_back_then_the_refund_pays_for_them(
        programme_ready, card, till):
    Programme.objects.update_or_create(pk=1, defaults={"return_window_days": 0, "negative_balance_policy": "reduce_refund"})
    post(till, "/baskets", basket(card=card))
    post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1", "card": card, "amount": "0.05"})

    body = post(till, "/returns", return_of({1: "2", 2: "1"})).json()

    assert (body["refund"], body["refund_reduction"], body["refund_due"]) == ("8.00", "0.05", "7.95")
    assert body["balance"] == {"available": 0, "pending": 0}


def test_given_points_when_paying_part_of_an_amount_then_whole_points_cover_what_they_are_worth(
        till, programme_ready, card):
    Programme.objects.update_or_create(pk=1, defaults={"point_value": Decimal("0.03")})
    give_points(programme_ready, 250)

    body = post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1", "card": card, "amount": "1.00"}).json()

    assert (body["points_spent"], body["money_value"], body["amount_left_to_pay"]) == (33, "0.99", "0.01")
    assert body["balance"] == {"available": 217, "pending": 0}


def test_given_a_reward_with_one_left_when_redeemed_twice_then_the_second_finds_it_out_of_stock(
        till, programme_ready, card):
    Reward.objects.create(code="MUG", name="Mug", points_price=100, stock=1)
    give_points(programme_ready, 500)

    first = post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1", "card": card, "reward_code": "MUG"})
    replay = post(till, "/redemptions", {"store_id": 1, "redemption_id": "P1", "card": card, "reward_code": "MUG"})
    second = post(till, "/redemptions", {"store_id": 1, "redemption_id": "P2", "card": card, "reward_code": "MUG"})

    assert first.json()["reward"] == "Mug" and first.json()["balance"]["available"] == 400
    assert replay.json() == first.json() | {"replayed": True}
    assert second.json()["code"] == "reward_unavailable"
    assert Reward.objects.get().stock == 0


@pytest.mark.parametrize("generated", [True, False])
def test_given_a_new_customer_when_enrolled_and_the_card_is_lost_then_the_new_card_keeps_the_balance(
        till, programme_ready, generated):
    card = None if generated else card_barcode(900_000_001, 5)  # a pre-printed card
    enrolled = post(till, "/members", {"store_id": 1, "first_name": "Grace", "card": card})
    assert enrolled.status_code == 201, enrolled.content
    old_card = enrolled.json()["card"]
    post(till, "/baskets", basket(card=old_card))

    replaced = post(till, f"/cards/{old_card}/replace", {}).json()

    assert replaced["old_card_status"] == "blocked"
    assert replaced["balance"] == {"available": 0, "pending": 8}
    assert till.get("/api/members/identify", {"card": replaced["card"]}).json()["balance"]["pending"] == 8
    assert till.get("/api/members/identify", {"card": old_card}).json()["code"] == "blocked_card"


def test_given_a_member_with_years_of_entries_when_their_balance_is_summed_then_only_the_index_is_read(member):
    # A balance sums every entry of the account. Reading each entry's table row would make the sum
    # cost grow with the member's history: the (account, available_from, amount) index covers it.
    # The checkout's write sums with `_BALANCE`'s own FROM and WHERE; identify's greeting joins.
    account = ledger.account_for_member(member)
    for week in range(150):
        ledger.append(account, PointsEntry.Kind.POINTS_EARNED, 10, key=f"earn:{week}", source="test", actor="test")
    at = connection.ops.adapt_datetimefield_value(ledger.now_utc())
    queries = {"balance": (ledger._BALANCE, [at, at, account.pk]),
               "greeting": (identity._GREET["member_number", True], [at, at, member.customer_id])}

    plans = {name: _plan(sql, params) for name, (sql, params) in queries.items()}

    for name, plan in plans.items():
        if connection.vendor == "postgresql":
            assert "Index Only Scan using ledger_account_balance" in plan, (name, plan)
        else:
            assert "USING COVERING INDEX ledger_account_balance" in plan, (name, plan)
    assert ledger.balance(account.pk).available == 1500


def _plan(sql: str, params: list) -> str:
    """The database's plan for `sql`, as text; on PostgreSQL, with the scans a table of millions
    would get (a test-sized table would be read whole)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(row[-1] for row in cursor.fetchall())
