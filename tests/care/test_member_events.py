"""A community event earns its points once per member (PRODUCT.md §2): the event is data, the
attendance is recorded from the back office or the till API, and the bonus is one ledger entry."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from care_builders import enrol
from django.db import IntegrityError, transaction
from django.test import Client

from clientele.barcodes import card_barcode
from clientele.catalog.models import Store
from clientele.care import errors, services
from clientele.care.models import EventAttendance, MemberEvent
from clientele.loyalty import errors as loyalty_errors
from clientele.loyalty import ledger
from clientele.loyalty.models import PointsEntry
from clientele.members.models import Member

TODAY = date.today()


@pytest.fixture
def tasting(store) -> MemberEvent:
    return services.create_event("wine-tasting", "Wine tasting", TODAY, 150, store_id=1)


def test_taking_part_credits_the_events_points_once_per_member(tasting):
    ada = enrol(42)

    first = services.record_attendance("wine-tasting", "sam", member_number=42)
    again = services.record_attendance("wine-tasting", "lee", member_number=42)

    assert (first["points_awarded"], first["replayed"], first["balance"]["available"]) == (150, False, 150)
    assert (again["points_awarded"], again["replayed"], again["balance"]["available"]) == (150, True, 150)
    entry = PointsEntry.objects.get(account__member=ada)
    assert (entry.kind, entry.amount, entry.idempotency_key) == ("event_bonus", 150, "event:wine-tasting:42")
    attendance = EventAttendance.objects.get()
    assert (attendance.member_id, attendance.points_entry_id, attendance.recorded_by) == (ada.pk, entry.pk, "sam")


def test_each_event_and_each_member_earn_on_their_own(tasting):
    enrol(42), enrol(43)
    services.create_event("cooking-class", "Cooking class", TODAY - timedelta(days=3), 80)

    services.record_attendance("wine-tasting", "sam", member_number=42)
    services.record_attendance("cooking-class", "sam", member_number=42)
    services.record_attendance("wine-tasting", "sam", member_number=43)

    assert ledger.balance(ledger.account_for_member(Member.objects.get(customer_id=42)).pk).available == 230
    assert {row["event"].code: (row["attended"], row["points"]) for row in services.events_with_attendance()} == {
        "wine-tasting": (2, 300), "cooking-class": (1, 80)}


def test_the_database_refuses_a_second_attendance_of_the_same_member_at_the_same_event(tasting):
    enrol(42)
    services.record_attendance("wine-tasting", "sam", member_number=42)
    first = EventAttendance.objects.get()
    account = first.points_entry.account
    other_entry = ledger.credit(account, PointsEntry.Kind.EVENT_BONUS, 1, key="event:other", source="t", actor="t")

    with pytest.raises(IntegrityError), transaction.atomic():
        EventAttendance.objects.create(event=tasting, member=first.member, points_entry=other_entry,
                                       recorded_at=first.recorded_at, recorded_by="x")
    with pytest.raises(IntegrityError), transaction.atomic():  # and the ledger's key: one bonus per member and event
        ledger.credit(account, PointsEntry.Kind.EVENT_BONUS, 150, key="event:wine-tasting:42", source="t", actor="t")


def test_attendance_is_refused_before_the_event_for_an_unknown_event_or_member_and_nothing_is_credited(store):
    enrol(42)
    services.create_event("next-week", "Next week", TODAY + timedelta(days=7), 50)

    with pytest.raises(errors.EventNotStarted, match="attendance is recorded from that day"):
        services.record_attendance("next-week", "sam", member_number=42)
    with pytest.raises(errors.UnknownEvent, match="no member event 'nope'"):
        services.record_attendance("nope", "sam", member_number=42)
    services.create_event("today", "Today", TODAY, 50)
    with pytest.raises(loyalty_errors.UnknownMember):
        services.record_attendance("today", "sam", member_number=999)
    assert not PointsEntry.objects.exists() and not EventAttendance.objects.exists()


@pytest.mark.parametrize("code, name, points, problem", [
    ("wine tasting", "Wine", 10, "not an event code"),
    ("", "Wine", 10, "not an event code"),
    ("wine", " ", 10, "an event has a name"),
    ("wine", "Wine", 0, "at least 1 point"),
])
def test_an_event_is_refused_with_what_is_wrong(db, code, name, points, problem):
    with pytest.raises(errors.InvalidEvent, match=problem):
        services.create_event(code, name, TODAY, points)


def test_an_event_code_is_used_once(tasting):
    with pytest.raises(errors.InvalidEvent, match="already in use"):
        services.create_event("wine-tasting", "Again", TODAY, 10)


def _attend(client: Client, code: str, body) -> tuple[int, dict]:
    response = client.post(f"/api/events/{code}/attendance", json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_the_till_api_records_attendance_once_and_answers_a_replay_with_the_first(tasting, till_key):
    enrol(42)
    client = Client(headers={"X-API-Key": till_key[1]})

    first = _attend(client, "wine-tasting", {"store_id": 1, "member_number": 42})
    again = _attend(client, "wine-tasting", {"store_id": 1, "card": card_barcode(42)})  # the same member, by card

    assert first[0] == 200 and first[1]["points_awarded"] == 150 and first[1]["replayed"] is False
    assert again == (200, first[1] | {"replayed": True})
    assert PointsEntry.objects.filter(kind="event_bonus").count() == 1


def test_the_till_api_refuses_with_a_problem_naming_the_field(tasting, till_key, store):
    enrol(42)
    client = Client(headers={"X-API-Key": till_key[1]})
    Store.objects.create(store_id=2)
    services.create_event("riverside-walk", "Riverside walk", TODAY, 20, store_id=2)

    assert _attend(client, "nope", {"store_id": 1, "member_number": 42}) == (
        404, {"code": "unknown_event", "message": "no member event 'nope'", "field": "event"})
    assert _attend(client, "wine-tasting", {"store_id": 2, "member_number": 42})[1]["code"] == "store_not_allowed"
    refused = _attend(client, "riverside-walk", {"store_id": 1, "member_number": 42})
    assert refused[0] == 422 and refused[1]["field"] == "event"
    assert _attend(client, "wine-tasting", {"store_id": 1, "member_number": "x"})[0] == 422
    assert _attend(client, "wine-tasting", {"store_id": 1, "member_number": 999})[1]["code"] == "unknown_member"
    assert Client().post("/api/events/wine-tasting/attendance", "{}", content_type="application/json").status_code == 401
    assert not PointsEntry.objects.exists()
