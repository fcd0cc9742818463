"""One body, both stores: the ORM's write and PostgreSQL's one statement record a checkout alike."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from clientele.loyalty import checkout, libpq
from clientele.loyalty.basket_store import OneStatementStore, OrmStore
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.libpq import WrittenAfterCommit
from clientele.loyalty.models import Basket, BasketLine, PointsEntry
from clientele.members.models import Member

from till_payloads import BREAD, MILK

#: The stores this database has: the one-statement store is PostgreSQL's.
STORES = [OrmStore, OneStatementStore] if connection.vendor == "postgresql" else [OrmStore]


def _basket(receipt: str, card: str | None) -> checkout.BasketIn:
    return checkout.BasketIn(
        store_id=1, till_id="T1", receipt_number=receipt, card=card,
        transacted_at=datetime.now(timezone.utc) - timedelta(minutes=5),
        lines=[checkout.LineIn(1, BREAD, Decimal("2"), Decimal("2.50")), checkout.LineIn(2, MILK, Decimal("1"),
                                                                                     Decimal("3.00"))])


def _recorded(receipt: str) -> tuple:
    """What the database holds of a receipt, whatever store wrote it (ids aside)."""
    basket = Basket.objects.get(receipt_number=receipt)
    lines = list(BasketLine.objects.filter(basket=basket).order_by("line_no").values_list(
        "line_no", "product_id", "quantity", "unit_price", "discount", "sales_value", "points", "returned_quantity"))
    entries = list(PointsEntry.objects.filter(basket=basket).values_list(
        "account_id", "kind", "amount", "available_from", "expires_on", "source", "explanation", "actor"))
    return ({name: value for name, value in basket.result.items() if name != "receipt"}, basket.total,
            basket.points_earned, basket.member_id, basket.card_id, lines, entries)


@pytest.mark.parametrize("store_class", STORES)
@pytest.mark.parametrize("who", ["a member", "no member"])
def test_given_a_decided_checkout_when_a_store_writes_it_then_the_answer_and_the_rows_are_the_same(
        programme_ready, store, card, store_class, who):
    key, _ = issue_api_key(store, "till 1")
    member_card = card if who == "a member" else None
    reference = checkout.post_basket(_basket("R0", member_card), key, OrmStore())
    posted = _basket("R1", member_card)

    answer = checkout.post_basket(posted, key, store_class())
    replayed = checkout.post_basket(posted, key, store_class())

    assert answer["points_earned"] == (8 if member_card else 0)
    assert {name: value for name, value in answer.items() if name not in ("receipt", "balance", "message")} == \
        {name: value for name, value in reference.items() if name not in ("receipt", "balance", "message")}
    assert replayed == answer | {"replayed": True}
    before, after = _recorded("R0"), _recorded("R1")
    assert before[1:5] == after[1:5] and before[5] == after[5]
    same = lambda entries: [entry[:3] + entry[4:5] + entry[6:] for entry in entries]  # noqa: E731  (times, sources apart)
    assert same(before[6]) == same(after[6]) and [entry[5] for entry in after[6]] == ["basket 1/T1/R1"] * len(after[6])
    if member_card:  # the second basket's answer counts the first one's points
        assert answer["balance"]["pending"] == reference["balance"]["pending"] + 8


def test_given_the_checkout_committed_with_its_write_then_nothing_can_be_written_after_it(
        transactional_db, programme_ready, card):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL's write carries the COMMIT; on SQLite the block's end commits")
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        libpq.rows(connection, "SELECT 1", [], commit=True)
        Member.objects.create(customer_id=7, join_date=programme_ready.join_date)  # a write added by mistake

    assert isinstance(refused.value.__cause__, WrittenAfterCommit)
    assert not Member.objects.filter(customer_id=7).exists()
