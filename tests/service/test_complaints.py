"""Complaints through the service layer: recorded with the eight answers, moved through the
workflow, answered against the service levels, compensated with goodwill points through the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from desk_builders import NOW, complaint_answers, member
from django.db import IntegrityError

from clientele.loyalty import ledger
from clientele.loyalty.models import PointsEntry
from clientele.service import errors, services
from clientele.service.models import Complaint, ComplaintEvent, Compensation


def record(actor="sam", at=NOW, **change) -> Complaint:
    return services.record_complaint(services.ComplaintIn(**complaint_answers(**change)), actor, received_at=at)


def test_an_agent_records_a_complaint_with_the_eight_answers_and_its_deadlines(ada, store, soap):
    complaint = record()
    stored = Complaint.objects.get(pk=complaint.pk)
    assert (stored.status, stored.cause.code, stored.product_id, stored.claim_reasonable) == (
        "new", "product_quality", soap.product_id, True)
    # high severity: answered within 8 hours, resolved within 48 (migration service 0002)
    assert stored.first_answer_due == NOW + timedelta(hours=8)
    assert stored.resolution_due == NOW + timedelta(hours=48)
    assert [(e.from_status, e.to_status) for e in stored.events.all()] == [("", "new")]


def test_new_or_returning_is_derived_from_the_history_not_typed(store, soap):
    member(42)
    member(43, frequency=12, monetary="540.00")
    assert record().returning_customer is False  # first contact, no purchase known
    assert record(member_number=43).returning_customer is True  # the nightly profile knows their baskets
    assert record(at=NOW + timedelta(days=1)).returning_customer is True  # complained before


def test_a_complaint_missing_answers_is_refused_field_by_field_and_nothing_written(ada, store, soap):
    with pytest.raises(errors.InvalidComplaint) as refused:
        record(what_happened=" ", served_by="", claim_reasonable=None, cause="weather", product_id=999)
    assert set(refused.value.fields) == {"what_happened", "served_by", "claim_reasonable", "cause", "product_id"}
    assert "price" in refused.value.fields["cause"]  # the valid causes are listed
    assert not Complaint.objects.exists() and not ComplaintEvent.objects.exists()


def test_the_database_refuses_a_complaint_without_its_required_answers(ada):
    from clientele.service.models import ComplaintCause

    with pytest.raises(IntegrityError):
        Complaint.objects.create(member=ada, channel="store", cause=ComplaintCause.objects.first(), severity="low",
                                 what_happened="", how_it_happened="x", why_unhappy="x", served_by="x",
                                 claim_reasonable=True, wanted_resolution="x", returning_customer=False,
                                 received_at=NOW, first_answer_due=NOW, resolution_due=NOW, recorded_by="sam")


@pytest.mark.parametrize("path", [
    ["acknowledged", "in_progress", "resolved", "closed"],
    ["in_progress", "resolved", "reopened", "resolved", "closed", "reopened", "in_progress"],
    ["acknowledged", "resolved"],
])
def test_allowed_transitions_are_kept_one_event_each(ada, store, soap, path):
    complaint = record()
    for status in path:
        services.change_status(complaint.pk, status, "sam")
    complaint.refresh_from_db()
    assert complaint.status == path[-1]
    events = [(e.from_status, e.to_status) for e in complaint.events.all()]
    assert events == list(zip(["", "new", *path[:-1]], ["new", *path]))


@pytest.mark.parametrize("path, refused", [
    ([], "resolved"), ([], "closed"), (["acknowledged"], "new"), (["in_progress"], "closed"),
    (["in_progress", "resolved", "closed"], "in_progress"), ([], "reopened"),
])
def test_refused_transitions_change_nothing(ada, store, soap, path, refused):
    complaint = record()
    for status in path:
        services.change_status(complaint.pk, status, "sam")
    with pytest.raises(errors.TransitionRefused, match="cannot become"):
        services.change_status(complaint.pk, refused, "sam")
    complaint.refresh_from_db()
    assert complaint.status == (path[-1] if path else "new")
    assert complaint.events.count() == len(path) + 1


def test_the_first_answer_and_the_resolution_are_timed_and_a_follow_up_is_set(ada, store, soap):
    complaint = record()
    services.change_status(complaint.pk, "acknowledged", "sam", at=NOW + timedelta(hours=2))
    services.change_status(complaint.pk, "resolved", "sam", at=NOW + timedelta(hours=30))
    complaint.refresh_from_db()
    assert complaint.first_answered_at == NOW + timedelta(hours=2)
    assert complaint.resolved_at == NOW + timedelta(hours=30)
    assert complaint.follow_up_on == (NOW + timedelta(hours=30, days=7)).date()
    assert services.follow_ups(complaint.follow_up_on) == [complaint]
    services.record_resolution_satisfaction(complaint.pk, 4, "sam")
    with pytest.raises(errors.InvalidScore):
        services.record_resolution_satisfaction(complaint.pk, 6, "sam")
    complaint.refresh_from_db()
    assert complaint.resolution_satisfaction == 4


def test_the_queue_shows_the_late_complaints_first(ada, store, soap):
    calm = record(severity="low", at=NOW)  # answer due in 72 hours
    urgent_late = record(severity="critical", at=NOW - timedelta(hours=5))  # answer was due 3 hours ago
    answered_late = record(severity="high", at=NOW - timedelta(hours=60))  # resolution was due 12 hours ago
    services.change_status(answered_late.pk, "in_progress", "sam", at=NOW - timedelta(hours=59))
    resolved = record(severity="high", at=NOW - timedelta(hours=80))
    services.change_status(resolved.pk, "in_progress", "sam")
    services.change_status(resolved.pk, "resolved", "sam")
    queue = services.queue(now=NOW)
    assert [c.pk for c in queue] == [answered_late.pk, urgent_late.pk, calm.pk]
    assert [c.late for c in queue] == [True, True, False]


def test_assignment_to_an_agent_or_a_queue_is_kept(ada, store, soap, agent):
    complaint = record()
    services.assign(complaint.pk, "sue", agent=agent)
    assert [c.pk for c in services.queue(agent=agent)] == [complaint.pk]
    services.assign(complaint.pk, "sue", queue="call centre")  # back to a queue: no agent holds it
    assert services.queue(agent=agent) == []
    assert [c.pk for c in services.queue(queue_name="call centre")] == [complaint.pk]
    assert [e.note for e in complaint.events.all()][1:] == ["assigned to sam", "assigned to call centre"]


def balance(member) -> int:
    return ledger.balance(ledger.account_for_member(member).pk).available


def test_goodwill_points_are_one_ledger_entry_naming_the_complaint_even_when_replayed(ada, store, soap, agent):
    complaint = record()
    first, replayed_first = services.give_goodwill(complaint.pk, 300, agent)
    again, replayed_again = services.give_goodwill(complaint.pk, 300, agent)
    assert (replayed_first, replayed_again, again.pk) == (False, True, first.pk)
    entries = PointsEntry.objects.filter(source=f"goodwill for complaint {complaint.pk}")
    assert [(e.kind, e.amount, e.actor) for e in entries] == [("bonus_awarded", 300, "sam")]
    assert balance(ada) == 300
    with pytest.raises(errors.GoodwillAlreadyGiven):
        services.give_goodwill(complaint.pk, 400, agent)
    assert balance(ada) == 300


def test_goodwill_above_the_agents_limit_needs_a_supervisor(ada, store, soap, agent, supervisor):
    complaint = record()
    with pytest.raises(errors.GoodwillAboveLimit, match="limit of 500"):
        services.give_goodwill(complaint.pk, 800, agent)
    with pytest.raises(errors.GoodwillAboveLimit):
        services.give_goodwill(complaint.pk, 800, agent, approver=agent)  # no approving oneself
    assert balance(ada) == 0 and not Compensation.objects.exists()
    given, _ = services.give_goodwill(complaint.pk, 800, agent, approver=supervisor)
    assert (given.given_by, given.approved_by, balance(ada)) == ("sam", "sue", 800)
    with pytest.raises(errors.GoodwillAboveLimit, match="approver"):
        services.give_goodwill(record().pk, 6000, agent, approver=supervisor)


def test_a_user_without_a_service_role_gives_no_goodwill(ada, store, soap):
    from desk_builders import person

    clerk = person("clerk", None)
    with pytest.raises(errors.GoodwillAboveLimit, match="limit of 0"):
        services.give_goodwill(record().pk, 1, clerk)


def test_refund_notes_are_recorded_and_shown_on_the_customer_360(ada, store, soap, agent):
    from decimal import Decimal

    complaint = record()
    services.give_goodwill(complaint.pk, 100, agent)
    services.compensate(complaint.pk, "refund_note", agent, Decimal("3.49"), "bar refunded")
    with pytest.raises(errors.InvalidComplaint):
        services.compensate(complaint.pk, "refund_note", agent, Decimal("0"))
    with pytest.raises(errors.InvalidComplaint, match="own request"):  # a voucher is an offer: give_voucher
        services.compensate(complaint.pk, "voucher", agent, Decimal("5"))
    shown = services.member_complaints(ada)
    assert [(c["id"], c["status"]) for c in shown] == [(complaint.pk, "new")]
    assert [(g["kind"], g["points"], g["amount"]) for g in shown[0]["compensations"]] == [
        ("points", 100, None), ("refund_note", None, Decimal("3.49"))]
