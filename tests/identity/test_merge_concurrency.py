"""Checkouts at the till while a merge runs (PostgreSQL, real threads and connections): the card of
the absorbed member identifies the survivor, and the balances end exactly right."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from till_payloads import basket, post

from clientele.barcodes import card_barcode
from clientele.identity.merging import merge_members, unmerge
from clientele.loyalty import basket_store, checkout, ledger
from clientele.loyalty.models import Basket, PointsEntry, Programme



def dsn() -> str:
    s = connection.settings_dict
    return f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"


def wait_until_waiting(lock: str, expected: int, watcher) -> None:
    """Poll the server until `expected` connections of this database wait for a lock of the kind
    `lock` (`transactionid`: a row another transaction holds; `advisory`: an account's lock)."""
    query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
             "AND wait_event_type = 'Lock' AND wait_event = %s")
    for _ in range(3000):
        if watcher.execute(query, [lock]).fetchone()[0] == expected:
            return
        time.sleep(0.01)
    seen = watcher.execute("SELECT wait_event_type, wait_event, state, left(query, 60) FROM pg_stat_activity "
                           "WHERE datname = current_database()").fetchall()
    raise AssertionError(f"never {expected} connections waiting for a lock {lock}: {seen}")


def points(member) -> tuple[int, int]:
    b = ledger.balance(ledger.account_for_member(member).pk)
    return b.available, b.pending


@pytest.mark.parametrize("store", ["one statement", "orm"])
def test_given_checkouts_on_both_members_during_a_merge_then_the_survivor_gets_every_point_once(
        transactional_db, twins, till, store, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writing transactions: a checkout never reads during a merge there")
    if store == "orm":
        monkeypatch.setattr(checkout, "default_store", basket_store.OrmStore)
    survivor, absorbed = twins
    Programme.current()  # the programme's row exists before the tills' first checkouts (as after install)
    for member, opening in ((survivor, 50), (absorbed, 300)):
        ledger.credit(ledger.account_for_member(member), PointsEntry.Kind.OPENING_BALANCE, opening,
                      key=f"opening:{member.customer_id}", source="previous CRM", actor="test")
    results: dict = {}

    def run(name, call):
        try:
            results[name] = call()
        except BaseException as error:  # noqa: BLE001  reported by the assertion below
            results[name] = error
        finally:
            connections.close_all()

    with psycopg.connect(dsn(), autocommit=True) as watcher, psycopg.connect(dsn()) as holder:
        # a clerk's connection holds the absorbed member's first card row: the merge, which takes
        # both accounts' locks first, stops at moving the cards, in the middle of its transaction
        holder.execute("SELECT 1 FROM members_card WHERE barcode = %s FOR UPDATE", [card_barcode(43, 0)])
        merging = threading.Thread(target=run, args=("merge", lambda: merge_members(42, 43, actor="steward:ann")))
        merging.start()
        wait_until_waiting("transactionid", 1, watcher)
        # a checkout on the absorbed member's second card and one on the survivor's card arrive:
        # each reads its card and waits for the account the merge holds
        tills = [threading.Thread(target=run, args=(name, lambda barcode=barcode, receipt=receipt: post(
            till, "/baskets", basket(receipt=receipt, card=barcode))))
            for name, barcode, receipt in (("absorbed card", card_barcode(43, 1), "7001"),
                                           ("survivor card", card_barcode(42, 0), "7002"))]
        for thread in tills:
            thread.start()
        wait_until_waiting("advisory", 2, watcher)
        holder.rollback()  # the merge goes on and commits; the checkouts go on after it
        for thread in (merging, *tills):
            thread.join()

    merge = results["merge"]
    answers = {name: results[name] for name in ("absorbed card", "survivor card")}
    assert not isinstance(merge, BaseException), merge
    for name, answer in answers.items():
        assert not isinstance(answer, BaseException), answer
        assert answer.status_code == 200, (name, answer.content)
    earned = [answer.json()["points_earned"] for answer in answers.values()]
    assert all(earned)
    # every point on the survivor, once: the openings and both baskets; nothing left on the closed number
    assert sum(points(survivor)) == 350 + sum(earned)
    assert points(absorbed) == (0, 0)
    assert set(Basket.objects.values_list("member__customer_id", flat=True)) == {42}
    assert PointsEntry.objects.filter(kind="points_earned").count() == 2
    assert sum(PointsEntry.objects.values_list("amount", flat=True)) == 350 + sum(earned)
    assert answers["absorbed card"].json()["member_number"] == 42

    unmerge(merge.pk, actor="steward:bob")

    # the undo moves back what the merge moved; the baskets made after it stay the survivor's
    assert sum(points(absorbed)) == 300
    assert sum(points(survivor)) == 50 + sum(earned)
