"""The till's and back office's calls for bonuses on actions that are not purchases."""

from __future__ import annotations

from django.db import connections
from test_concurrency import run_together
from till_payloads import TillClient, post

from clientele.barcodes import card_barcode
from clientele.loyalty import ledger
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import EarningRule, PointsEntry
from clientele.members.models import Card, Member


def review_bonus(points: int = 30) -> EarningRule:
    return EarningRule.objects.create(name=f"Review {points}", kind="action_bonus", action="review_written",
                                      bonus_points=points)


def test_given_a_review_reported_twice_then_the_bonus_is_credited_once_and_the_replay_answers_the_first(
        till, programme_ready, card):
    rule = review_bonus()

    first = post(till, "/bonuses/review-written", {"store_id": 1, "card": card, "review_id": "R-17"})
    again = post(till, "/bonuses/review-written", {"store_id": 1, "member_number": 42, "review_id": "R-17"})
    other = post(till, "/bonuses/review-written", {"store_id": 1, "card": card, "review_id": "R-18"})

    assert first.status_code == again.status_code == other.status_code == 200
    assert first.json() == {
        "member_number": 42, "action": "review_written", "reference": "R-17", "points_awarded": 30,
        "explanation": [{"rule_id": rule.pk, "version": 1, "rule": "Review 30", "points": 30}],
        "balance": {"available": 30, "pending": 0}, "replayed": False}
    assert again.json() == first.json() | {"replayed": True}
    assert other.json()["balance"] == {"available": 60, "pending": 0}
    assert PointsEntry.objects.filter(kind="bonus_awarded").count() == 2


def test_given_a_completed_profile_reported_twice_then_one_bonus(till, programme_ready, card):
    EarningRule.objects.create(name="Profile 25", kind="action_bonus", action="profile_completed", bonus_points=25)

    answers = [post(till, "/bonuses/profile-completed", {"store_id": 1, "card": card}).json() for _ in range(2)]

    assert [(a["points_awarded"], a["replayed"]) for a in answers] == [(25, False), (25, True)]
    assert ledger.balance(programme_ready.loyalty_account.pk).available == 25
    assert PointsEntry.objects.get().actor.startswith("api-key:")


def test_given_the_same_review_for_another_member_then_it_is_refused(till, programme_ready, card):
    review_bonus()
    grace = Member.objects.create(customer_id=43, first_name="Grace", join_date="2024-01-01")
    Card.objects.create(barcode=card_barcode(43), member=grace)
    post(till, "/bonuses/review-written", {"store_id": 1, "card": card, "review_id": "R-17"})

    refused = post(till, "/bonuses/review-written", {"store_id": 1, "card": card_barcode(43), "review_id": "R-17"})

    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["field"]) == ("reference_reused", "reference")
    assert PointsEntry.objects.count() == 1


def test_given_no_active_rule_or_a_wrong_request_then_each_refusal_has_its_code(
        till, programme_ready, card, other_store):
    review = {"store_id": 1, "card": card, "review_id": "R-1"}
    other_key = issue_api_key(other_store, "web shop")[1]

    cases = {
        "bonus_not_offered": post(till, "/bonuses/review-written", review),
        "store_not_allowed": post(TillClient(headers={"X-API-Key": other_key}), "/bonuses/review-written", review),
        "unknown_card": post(till, "/bonuses/profile-completed", {"store_id": 1, "card": card_barcode(99)}),
        "missing_identifier": post(till, "/bonuses/profile-completed", {"store_id": 1}),
        "invalid_request": post(till, "/bonuses/review-written", {"store_id": 1, "card": card}),
        "invalid_api_key": post(TillClient(), "/bonuses/profile-completed", {"store_id": 1, "card": card}),
    }

    assert {code: answer.json()["code"] for code, answer in cases.items()} == {code: code for code in cases}
    assert [answer.status_code for answer in cases.values()] == [409, 403, 404, 422, 422, 401]
    assert not PointsEntry.objects.exists()


def test_given_the_same_review_reported_at_the_same_moment_then_it_is_credited_once(
        concurrent_db, programme_ready, store, card):
    review_bonus()
    _, raw = issue_api_key(store, "review site")
    connections.close_all()
    payload = {"store_id": 1, "card": card, "review_id": "R-99"}

    answers = run_together([lambda: post(TillClient(headers={"X-API-Key": raw}), "/bonuses/review-written", payload)] * 4)

    assert [a.status_code for a in answers] == [200] * 4
    assert sorted(a.json()["replayed"] for a in answers) == [False, True, True, True]
    assert PointsEntry.objects.count() == 1
