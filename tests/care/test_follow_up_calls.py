"""After-sales care: a large purchase of a high-value member puts one call on the list; an agent
works the list and records the outcome and notes (PRODUCT.md §6)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from care_builders import checkout, enrol
from django.db import IntegrityError, transaction

from clientele.care import errors, services
from clientele.care.follow_ups import FollowUpRules
from clientele.care.models import FollowUpCall

RULES = FollowUpRules(("platinum", "gold"), Decimal("100"), 14)
NOW = datetime.now(timezone.utc)


@pytest.fixture
def purchases(shop, till_key):
    """Gold 42 bought for 250 and 40; platinum 43 for 100 (the threshold itself) 20 days ago and
    for 120 today; iron 44 for 900; lead-less 45 (no profile) for 300."""
    key = till_key[0]
    enrol(42, "gold", phone="+13125550142"), enrol(43, "platinum"), enrol(44, "iron"), enrol(45)
    checkout(key, 42, "1", "250.00")
    checkout(key, 42, "2", "40.00")
    checkout(key, 43, "3", "100.00", at=NOW - timedelta(days=20))
    checkout(key, 43, "4", "120.00")
    checkout(key, 44, "5", "900.00")
    checkout(key, 45, "6", "300.00")


def test_large_purchases_of_high_value_members_are_listed_once_largest_first(purchases):
    added = services.list_follow_ups(rules=RULES)
    again = services.list_follow_ups(rules=RULES)

    calls = list(services.call_list())
    assert (added, again) == (2, 0)
    assert [(c.member.customer_id, c.basket_total, c.value_tier) for c in calls] == [
        (42, Decimal("250.00"), "gold"), (43, Decimal("120.00"), "platinum")]


def test_the_threshold_and_the_tiers_are_settings(purchases, monkeypatch):
    from clientele.config import settings

    monkeypatch.setenv("CLIENTELE_FOLLOW_UP_TIERS", "iron")
    monkeypatch.setenv("CLIENTELE_FOLLOW_UP_BASKET", "500")
    settings.cache_clear()
    try:
        assert FollowUpRules.configured() == FollowUpRules(("iron",), Decimal("500.00"), 14)
        assert services.list_follow_ups() == 1
    finally:
        settings.cache_clear()
    assert [c.member.customer_id for c in services.call_list()] == [44]


def test_an_agent_records_the_outcome_and_notes_once(purchases):
    services.list_follow_ups(rules=RULES)
    call = services.call_list().get(member__customer_id=42)

    done = services.record_follow_up(call.pk, "sam", "issue", "  The sofa cover's zip broke  ")

    assert (done.outcome, done.called_by, done.notes) == ("issue", "sam", "The sofa cover's zip broke")
    assert done.called_at is not None
    assert [c.member.customer_id for c in services.call_list()] == [43]
    assert services.follow_up_summary() == {"pending": 1, "unreachable": 0, "satisfied": 0, "issue": 1}
    with pytest.raises(errors.InvalidCall, match="already recorded by sam"):
        services.record_follow_up(call.pk, "lee", "satisfied")


@pytest.mark.parametrize("outcome, notes, problem", [
    ("pending", "", "one of unreachable, satisfied or issue"),
    ("happy", "", "one of unreachable, satisfied or issue"),
    ("issue", "   ", "say in the notes what the member's issue is"),
    ("satisfied", "x" * 5001, "at most 5,000 characters"),
])
def test_a_call_is_refused_with_what_is_wrong_and_stays_to_call(purchases, outcome, notes, problem):
    services.list_follow_ups(rules=RULES)
    call = services.call_list().first()

    with pytest.raises(errors.InvalidCall, match=problem):
        services.record_follow_up(call.pk, "sam", outcome, notes)
    call.refresh_from_db()
    assert call.outcome == "pending" and call.called_at is None


def test_an_unknown_call_is_refused(db):
    with pytest.raises(errors.InvalidCall, match="no follow-up call 99"):
        services.record_follow_up(99, "sam", "satisfied")


def test_the_database_keeps_one_call_per_basket_and_an_outcome_with_every_call(purchases):
    services.list_follow_ups(rules=RULES)
    call = services.call_list().first()

    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpCall.objects.create(member=call.member, basket=call.basket, value_tier="gold", basket_total=1,
                                    bought_at=NOW, listed_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpCall.objects.filter(pk=call.pk).update(called_at=NOW)  # called, but no outcome
