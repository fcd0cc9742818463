"""Real concurrent clients (threads, each with its own database connection) and a killed server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from django.db import connection, transaction
from concurrent_calls import run_together
from till_payloads import TillClient, basket, post

from clientele.loyalty import ledger
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import Basket, BasketLine, EarningRule, PointsEntry

SRC = Path(__file__).resolve().parents[2] / "src"


def test_given_a_slow_first_post_when_the_till_retries_meanwhile_then_points_are_credited_once(
        concurrent_db, programme_ready, store, card, monkeypatch):
    from clientele.loyalty import checkout

    real = checkout.credit_basket

    def slow(*args, **kwargs):
        time.sleep(0.3)  # the first call is mid-transaction (the member's account locked) as the retries arrive
        real(*args, **kwargs)

    monkeypatch.setattr(checkout, "credit_basket", slow)
    _, raw = issue_api_key(store, "till 1")
    payload = basket(card=card)

    responses = run_together([lambda: post(TillClient(headers={"X-API-Key": raw}), "/baskets", payload)] * 4)

    assert [r.status_code for r in responses] == [200] * 4
    assert sorted(r.json()["replayed"] for r in responses) == [False, True, True, True]
    assert {r.json()["points_earned"] for r in responses} == {8}
    assert PointsEntry.objects.filter(kind="points_earned").count() == 1
    assert Basket.objects.count() == 1


def test_given_a_balance_for_one_redemption_when_two_tills_redeem_at_once_then_exactly_one_succeeds(
        concurrent_db, programme_ready, store, card):
    _, raw = issue_api_key(store, "tills")
    for round_no in range(5):
        ledger.append(ledger.account_for_member(programme_ready), PointsEntry.Kind.OPENING_BALANCE, 100,
                      key=f"round:{round_no}", source="test", actor="test")

        def redeem(till_no: int):
            payload = {"store_id": 1, "redemption_id": f"R{round_no}-{till_no}", "card": card, "amount": "0.80"}
            return post(TillClient(headers={"X-API-Key": raw}), "/redemptions", payload)

        responses = run_together([lambda n=n: redeem(n) for n in range(2)])

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 409], [r.content for r in responses]
        refused = next(r for r in responses if r.status_code == 409)
        assert refused.json()["code"] == "insufficient_points"
        balance = ledger.balance(ledger.account_for_member(programme_ready).pk)
        assert balance.available == 20  # 100 - 80, never below zero
        ledger.append(ledger.account_for_member(programme_ready), PointsEntry.Kind.POINTS_REDEEMED, -20,
                      key=f"reset:{round_no}", source="test", actor="test")


def test_given_a_balance_for_one_redemption_when_the_till_retries_it_meanwhile_then_the_retry_is_answered_not_refused(
        concurrent_db, programme_ready, store, card, monkeypatch):
    real = ledger.spend

    def slow(*args, **kwargs):
        time.sleep(0.3)  # the first call holds the member's account as the retry arrives
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "spend", slow)
    _, raw = issue_api_key(store, "till 1")
    ledger.append(ledger.account_for_member(programme_ready), PointsEntry.Kind.OPENING_BALANCE, 100,
                  key="opening", source="test", actor="test")
    payload = {"store_id": 1, "redemption_id": "R1", "card": card, "amount": "0.80"}

    responses = run_together([lambda: post(TillClient(headers={"X-API-Key": raw}), "/redemptions", payload)] * 2)

    assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
    assert sorted(r.json()["replayed"] for r in responses) == [False, True]
    assert ledger.balance(ledger.account_for_member(programme_ready).pk).available == 20


def test_given_a_redemption_holding_the_account_when_a_checkout_for_the_member_arrives_then_it_waits_for_it(
        concurrent_db, programme_ready, store, card):
    _, raw = issue_api_key(store, "tills")
    account = ledger.account_for_member(programme_ready)
    ledger.append(account, PointsEntry.Kind.OPENING_BALANCE, 100, key="opening", source="test", actor="test")
    locked = threading.Event()

    def redeem_slowly() -> None:
        with transaction.atomic():
            held = ledger.lock_account(account.pk)
            locked.set()
            time.sleep(0.5)  # the checkout arrives meanwhile
            ledger.append(held, PointsEntry.Kind.POINTS_REDEEMED, -100, key="spent", source="test", actor="test")

    def checkout():
        locked.wait()
        return post(TillClient(headers={"X-API-Key": raw}), "/baskets", basket(card=card))

    _, answer = run_together([redeem_slowly, checkout])

    assert answer.status_code == 200, answer.content
    assert answer.json()["balance"]["available"] == 0  # counted after the redemption: not the 100 it spent


def killed_post(card: str, kill: str) -> subprocess.CompletedProcess:
    """Post a basket in a server process of its own (on the test database) that `kill` (code run
    in place of the basket's last writes, `credit_basket`, with its arguments as `args` and
    `kwargs`) kills."""
    script = f"""
import os, signal, django
from datetime import datetime, timezone
from decimal import Decimal
django.setup()
from clientele.loyalty import checkout
from clientele.loyalty.models import ApiKey, PointsEntry

credit_basket = checkout.credit_basket

def killed(*args, **kwargs):
{textwrap.indent(textwrap.dedent(kill), "    ")}

checkout.credit_basket = killed
checkout.post_basket(checkout.BasketIn(store_id=1, till_id="T1", receipt_number="9", card="{card}",
    transacted_at=datetime.now(timezone.utc), lines=[checkout.LineIn(1, 1001, Decimal(1), Decimal("2.00"))]),
    ApiKey.objects.get())
"""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{settings_dict['NAME']}"
    else:
        url = (f"postgresql://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/"
               f"{settings_dict['NAME']}")
    env = os.environ | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "clientele.site.settings",
                        "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)


def test_given_a_server_killed_in_the_middle_of_a_post_then_no_partial_basket_and_no_orphan_entry(
        concurrent_db, programme_ready, store, card):
    # A birthday bonus is written in the basket's transaction before the basket: the process dies
    # between the two.
    programme_ready.birth_date = ledger.now_utc().date().replace(year=1990, day=1)
    programme_ready.save()
    EarningRule.objects.create(name="Birthday 100", kind="action_bonus", action="birthday_month", bonus_points=100)
    issue_api_key(store, "till 1")

    finished = killed_post(card, """
        assert PointsEntry.objects.count() == 1  # the bonus is written, uncommitted...
        os.kill(os.getpid(), signal.SIGKILL)     # ...and the process dies before the basket's write
    """)

    assert finished.returncode == -9, finished.stderr
    assert not Basket.objects.exists()
    assert not BasketLine.objects.exists()
    assert not PointsEntry.objects.exists()


def test_given_a_server_killed_once_the_basket_is_written_then_the_basket_is_whole_or_absent(
        concurrent_db, programme_ready, store, card):
    issue_api_key(store, "till 1")

    finished = killed_post(card, """
        credit_basket(*args, **kwargs)        # the basket, its lines and its credit are written...
        os.kill(os.getpid(), signal.SIGKILL)  # ...and the process dies before answering
    """)

    assert finished.returncode == -9, finished.stderr
    if connection.vendor == "postgresql":
        # The basket's writes carry the transaction's COMMIT in their round trip: all of it is kept.
        assert Basket.objects.get().points_earned == 2
        assert BasketLine.objects.count() == 1
        assert [e.amount for e in PointsEntry.objects.all()] == [2]
    else:  # committed when the transaction's block ends, which the process never reached
        assert not Basket.objects.exists()
        assert not BasketLine.objects.exists()
        assert not PointsEntry.objects.exists()
