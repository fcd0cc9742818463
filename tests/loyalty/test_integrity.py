"""Integrity the database enforces: no path leaves a ledger entry, a basket or a line without its parent."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from till_payloads import TillClient, basket, post
from typer.testing import CliRunner

from clientele.barcodes import card_barcode
from clientele.loyalty import ledger
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.integrity import OrphansFound, check_no_orphans, orphans
from clientele.members.models import Card, Member

from test_concurrency import run_together

#: Deleting a member's account, cards and record by hand, as a careless repair or an erasure would.
_DELETE_MEMBER = ["DELETE FROM loyalty_loyaltyaccount WHERE member_id = %s", "DELETE FROM members_card WHERE member_id = %s",
                  "DELETE FROM members_member WHERE id = %s"]
#: Deleting the parents of a basket's other references.
_DELETE_PARENT = {"store": "DELETE FROM catalog_store WHERE store_id = 1",
                  "product": "DELETE FROM catalog_product WHERE product_id = 1001"}


def _delete_member(member_id: int) -> bool:
    """Whether the member's deletion by raw SQL committed (False: the database refused it, or
    rolled it back to break a deadlock with a checkout: PostgreSQL may choose either side)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in _DELETE_MEMBER:
                cursor.execute(sql, [member_id])
    except IntegrityError:
        return False
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != "40P01":  # deadlock_detected
            raise
        return False
    return True


def test_given_a_member_with_a_basket_when_deleted_by_raw_sql_then_the_database_refuses(
        concurrent_db, programme_ready, card, store):
    _, raw = issue_api_key(store, "till 1")
    assert post(TillClient(headers={"X-API-Key": raw}), "/baskets", basket(card=card)).status_code == 200

    assert _delete_member(programme_ready.pk) is False
    for parent, sql in _DELETE_PARENT.items():
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert orphans() == {}


def test_given_deletes_racing_checkouts_then_no_ledger_entry_basket_or_line_is_left_without_its_parent(
        concurrent_db, programme_ready, store):
    _, raw = issue_api_key(store, "till 1")
    answers, deleted = [], []
    for number in range(100, 112):
        member = Member.objects.create(customer_id=number, first_name="Racing", join_date=programme_ready.join_date)
        Card.objects.create(barcode=card_barcode(number), member=member)
        ledger.account_for_member(member)
        checkout = [lambda n=number, r=receipt: post(TillClient(headers={"X-API-Key": raw}), "/baskets",
                                                      basket(receipt=f"{n}-{r}", card=card_barcode(n)))
                    for receipt in range(3)]
        results = run_together([*checkout, lambda m=member.pk: _delete_member(m)])
        answers += [(r.status_code, r.json().get("code")) for r in results[:-1]]
        deleted.append(results[-1])

    assert orphans() == {}
    assert set(answers) <= {(200, None), (404, "unknown_card"), (409, "reference_removed")}, answers
    assert Member.objects.filter(customer_id__range=(100, 111)).count() == deleted.count(False)


def test_given_a_deadlock_the_server_broke_then_the_checkout_knows_it_may_run_again(concurrent_db, store):
    # What the checkout retries (the race above): PostgreSQL's rollback of a whole transaction to
    # break a deadlock, made here for real by two transactions locking two rows in opposite orders;
    # a refused foreign key is not retried (it is reference_removed).
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: no deadlock to break")
    from clientele.catalog.models import Store
    from clientele.loyalty.checkout import rolled_back_by_the_server

    Store.objects.create(store_id=2)

    def lock(first: int, second: int):
        import time
        try:
            with transaction.atomic():
                Store.objects.select_for_update().get(store_id=first)
                time.sleep(0.3)
                Store.objects.select_for_update().get(store_id=second)
        except Exception as error:  # noqa: BLE001 (the one the server chose to roll back)
            return error
        return None

    broken = [error for error in run_together([lambda: lock(1, 2), lambda: lock(2, 1)]) if error is not None]

    assert len(broken) == 1 and rolled_back_by_the_server(broken[0]), broken
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM catalog_store WHERE store_id = 1")
        cursor.execute("INSERT INTO loyalty_apikey (store_id, name, prefix, key_hash, created_at) "
                       "VALUES (1, 'x', 'p', 'h', now())")
    assert not rolled_back_by_the_server(refused.value)


def test_given_an_orphan_made_behind_the_keys_when_the_nightly_refresh_runs_then_it_fails_naming_it(
        concurrent_db, programme_ready, card, store, home):
    _, raw = issue_api_key(store, "till 1")
    post(TillClient(headers={"X-API-Key": raw}), "/baskets", basket(card=card))
    _break_a_key_behind_the_database()

    with pytest.raises(OrphansFound, match="1 ledger entries without their points account"):
        check_no_orphans()
    from clientele.cli import app

    result = CliRunner().invoke(app, ["refresh", "--no-sync"])
    assert result.exit_code != 0 and isinstance(result.exception, OrphansFound)


def _break_a_key_behind_the_database() -> None:
    """An orphan made as only someone getting round the foreign keys could: a ledger entry's
    account deleted with the checks switched off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE loyalty_loyaltyaccount DISABLE TRIGGER ALL")
            cursor.execute("DELETE FROM loyalty_loyaltyaccount")
            cursor.execute("ALTER TABLE loyalty_loyaltyaccount ENABLE TRIGGER ALL")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("DELETE FROM loyalty_loyaltyaccount")
            cursor.execute("PRAGMA foreign_keys = ON")


def test_given_ledger_entries_when_a_statement_updates_or_deletes_them_then_postgresql_refuses(
        programme_ready, card, till):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's (docs/integrity.md)")
    post(till, "/baskets", basket(card=card))

    for sql in ("UPDATE loyalty_pointsentry SET amount = amount + 1", "DELETE FROM loyalty_pointsentry"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
