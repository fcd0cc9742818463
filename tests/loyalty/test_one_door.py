"""One door to the ledger: `ledger.credit` and `ledger.spend` write it, nothing else does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from till_payloads import basket, post

from clientele.loyalty import errors, ledger
from clientele.loyalty.models import PointsEntry

SRC = Path(__file__).resolve().parents[2] / "src" / "clientele"
LEDGER = SRC / "loyalty" / "ledger.py"
#: Every way a module could create (or change) ledger rows without the ledger module.
WRITES = {
    "SQL insert": re.compile(r"insert\s+into\s+loyalty_pointsentry", re.IGNORECASE),
    "ORM write": re.compile(r"PointsEntry\.objects\.(create|bulk_create|get_or_create|update_or_create|update|delete)\b"),
    "the ledger's own append": re.compile(r"\bledger\.append\("),
    "SQL update or delete": re.compile(r"(update|delete\s+from)\s+loyalty_pointsentry", re.IGNORECASE),
}


def test_given_the_code_then_only_the_ledger_module_writes_ledger_rows():
    modules = [path for path in SRC.rglob("*.py") if "migrations" not in path.parts and path != LEDGER]
    found = [(str(path.relative_to(SRC)), kind) for path in modules for kind, pattern in WRITES.items()
             if pattern.search(path.read_text())]

    assert found == []
    ledger_text = LEDGER.read_text()  # the patterns find the writes where they are
    assert WRITES["SQL insert"].search(ledger_text) and WRITES["ORM write"].search(ledger_text)


def test_given_a_balance_when_spending_more_then_spend_refuses_and_appends_nothing(programme_ready):
    account = ledger.account_for_member(programme_ready)
    ledger.credit(account, PointsEntry.Kind.OPENING_BALANCE, 50, key="opening:1", source="test", actor="test")

    with pytest.raises(errors.InsufficientPoints, match="80 points needed, 50 available"):
        ledger.spend(account, PointsEntry.Kind.POINTS_REDEEMED, 80, key="r1", source="test", actor="test")
    taken = ledger.spend(account, PointsEntry.Kind.POINTS_REVERSED, 80, key="r2", source="test", actor="test",
                         up_to_available=True)

    assert taken == 50 and ledger.balance(account.pk).available == 0
    assert PointsEntry.objects.filter(account=account).count() == 2


@pytest.mark.parametrize(("write", "kind", "points"), [
    (ledger.credit, PointsEntry.Kind.POINTS_REDEEMED, 10), (ledger.credit, PointsEntry.Kind.BONUS_AWARDED, -10),
    (ledger.spend, PointsEntry.Kind.POINTS_EARNED, 10), (ledger.spend, PointsEntry.Kind.POINTS_REDEEMED, 0),
])
def test_given_a_credit_that_takes_or_a_spend_that_adds_then_it_is_refused(programme_ready, write, kind, points):
    with pytest.raises(ValueError):
        write(ledger.account_for_member(programme_ready), kind, points, key="k", source="test", actor="test")


def test_given_a_checkout_then_its_credit_is_the_ledgers_basket_credit(till, programme_ready, card):
    post(till, "/baskets", basket(card=card))

    entry = PointsEntry.objects.get(kind="points_earned")
    assert entry.idempotency_key == ledger.basket_credit_key(entry.basket_id)
