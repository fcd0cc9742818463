"""Lost customers: reasons for lapsed members only, churn per value tier against the acceptable
rate, win-back lists ranked by value at stake, calls and the win-back rate from real baskets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from desk_builders import member

from clientele.loyalty import ledger
from clientele.loyalty.models import Basket
from clientele.service import errors, services
from clientele.service.models import ExitReason, WinBackEntry


@pytest.fixture
def customers(db):
    """A platinum customer lapsed, a gold one declining, a lead one lapsed, a platinum one active."""
    return {
        "big_lapsed": member(1, value_tier="platinum", lifecycle_stage="lapsed", predicted_clv=Decimal("300.00"),
                             probability_alive=0.3, monetary=Decimal("2000")),
        "gold_declining": member(2, value_tier="gold", lifecycle_stage="decline", predicted_clv=Decimal("400.00"),
                                 probability_alive=0.8, monetary=Decimal("900")),
        "small_lapsed": member(3, value_tier="lead", lifecycle_stage="lapsed", predicted_clv=Decimal("5.00"),
                               probability_alive=0.5, monetary=Decimal("40")),
        "big_active": member(4, value_tier="platinum", lifecycle_stage="stability", predicted_clv=Decimal("900"),
                             probability_alive=0.97, at_risk=False),
    }


def test_a_reason_is_given_to_a_lapsed_member_only(customers):
    services.note_exit_reason(1, "price", "exit_survey", "sam")
    with pytest.raises(errors.InvalidWinBack, match="has not lapsed"):
        services.note_exit_reason(4, "price", "call", "sam")
    with pytest.raises(errors.InvalidWinBack, match="unknown reason"):
        services.note_exit_reason(1, "weather", "call", "sam")
    with pytest.raises(errors.InvalidWinBack, match="names one of"):
        services.note_exit_reason(1, "service", "complaint", "sam")
    assert list(ExitReason.objects.values_list("member__customer_id", "reason")) == [(1, "price")]


def test_churn_per_value_tier_large_customers_first_against_the_acceptable_rate(customers):
    services.note_exit_reason(1, "price", "call", "sam")
    rows = services.churn_by_tier()
    assert [r["value_tier"] for r in rows] == ["platinum", "gold", "iron", "lead"]
    platinum = rows[0]
    assert (platinum["customers"], platinum["lapsed"], platinum["churn_rate"]) == (2, 1, 0.5)
    assert platinum["above_acceptable"] is True and platinum["reasons"] == {"price": 1}
    assert rows[2] | {"acceptable_rate": None} == {"value_tier": "iron", "customers": 0, "lapsed": 0,
                                                    "churn_rate": 0.0, "acceptable_rate": None,
                                                    "above_acceptable": False, "reasons": {}}


def test_the_win_back_list_ranks_lapsed_members_by_value_at_stake(customers):
    built = services.build_win_back_list("December calls", "sam")
    ranked = list(WinBackEntry.objects.filter(win_back_list=built).values_list(
        "member__customer_id", "clv_before", "value_at_stake"))
    # CLV before lapsing = CLV / chance alive; at stake = that x chance of return
    assert ranked == [(2, Decimal("500.00"), Decimal("400.00")), (1, Decimal("1000.00"), Decimal("300.00")),
                      (3, Decimal("10.00"), Decimal("5.00"))]


def test_calls_are_recorded_and_the_win_back_rate_counts_who_really_came_back(customers, store):
    built = services.build_win_back_list("December calls", "sam")
    first, second, third = built.entries.order_by("rank")
    services.record_call(first.pk, "sam", reached=True, outcome="won_back", reason="price")
    services.record_call(second.pk, "sam", reached=True, outcome="declined", reason="need")
    services.record_call(third.pk, "sam", reached=False, outcome="unreachable")
    with pytest.raises(errors.InvalidWinBack):
        services.record_call(third.pk, "sam", reached=False, outcome="won_back")
    came_back = ledger.now_utc() + timedelta(days=3)
    Basket.objects.create(store=store, till_id="1", receipt_number="r1", transacted_at=came_back,
                          member=customers["gold_declining"], total=Decimal("42.00"), request_hash="x", result={},
                          actor="till")
    results = services.win_back_results(built.pk)
    assert {k: results[k] for k in ("listed", "called", "reached", "agreed", "returned", "win_back_rate")} == {
        "listed": 3, "called": 3, "reached": 2, "agreed": 1, "returned": 1, "win_back_rate": round(1 / 3, 4)}
    assert sorted(ExitReason.objects.values_list("reason", flat=True)) == ["need", "price"]


def test_no_win_back_list_before_the_nightly_profiles(db):
    with pytest.raises(errors.InvalidWinBack, match="clientele refresh"):
        services.build_win_back_list("empty", "sam")
