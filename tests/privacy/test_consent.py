"""Consent as events: the history kept, the current state derived (by when it was given, not when
it arrived), the member's consent fields a cache of it, bad input refused with a clear answer."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from clientele.members.models import Member
from clientele.privacy.consent import consent_history, current_consents, record_consent
from clientele.privacy.errors import BadConsent
from clientele.privacy.models import ConsentEvent

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
TUESDAY = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def member(db) -> Member:
    return Member.objects.create(customer_id=7001, first_name="Ines", email="ines@example.org", join_date=date(2025, 1, 1))


def state(member: Member, purpose: str, channel: str = "") -> bool:
    return next(s.granted for s in current_consents(member) if (s.purpose, s.channel) == (purpose, channel))


def test_a_member_who_never_said_anything_is_profiled_but_gets_no_marketing(member):
    assert state(member, "profiling") is True
    assert not any(state(member, "marketing", c) for c in ("email", "sms", "post"))


def test_each_change_is_an_event_and_the_member_fields_follow_the_latest(member):
    record_consent(member, "marketing", "email", True, occurred_at=MONDAY, source="web", text_version="v1")
    record_consent(member, "marketing", "email", False, occurred_at=TUESDAY, source="service desk", text_version="v2")

    member.refresh_from_db()
    assert member.email_consent is False and member.consent_updated_at == TUESDAY
    history = consent_history(member)
    assert [(h["granted"], h["source"], h["text_version"]) for h in history] == [(True, "web", "v1"),
                                                                              (False, "service desk", "v2")]


def test_a_late_event_that_happened_earlier_does_not_override_the_newer_one(member):
    record_consent(member, "marketing", "sms", False, occurred_at=TUESDAY, source="web", text_version="v2")
    record_consent(member, "marketing", "sms", True, occurred_at=MONDAY, source="import", text_version="v1")

    member.refresh_from_db()
    assert member.sms_consent is False and state(member, "marketing", "sms") is False
    assert ConsentEvent.objects.filter(member=member).count() == 2  # the late one is kept in the history


def test_profiling_withdrawn_is_cached_on_the_member(member):
    record_consent(member, "profiling", "", False, occurred_at=MONDAY, source="till", text_version="v1")
    member.refresh_from_db()
    assert member.profiling_consent is False


@pytest.mark.parametrize("purpose, channel, source, message", [
    ("newsletter", "email", "web", "purpose/channel newsletter/email is not asked"),
    ("profiling", "sms", "web", "purpose/channel profiling/sms is not asked"),
    ("marketing", "", "web", "purpose/channel marketing/- is not asked"),
    ("marketing", "email", "carrier pigeon", "source 'carrier pigeon' is not one of"),
])
def test_unknown_purpose_channel_or_source_is_refused_by_name(member, purpose, channel, source, message):
    with pytest.raises(BadConsent, match=message):
        record_consent(member, purpose, channel, True, occurred_at=MONDAY, source=source, text_version="v1")
    assert not ConsentEvent.objects.exists()


def test_a_time_without_its_zone_or_a_missing_text_version_is_refused(member):
    with pytest.raises(BadConsent, match="time zone"):
        record_consent(member, "marketing", "email", True, occurred_at=datetime(2026, 12, 1), source="web",
                       text_version="v1")
    with pytest.raises(BadConsent, match="text_version"):
        record_consent(member, "marketing", "email", True, occurred_at=MONDAY, source="web", text_version="")


def test_the_database_refuses_a_channel_on_profiling(member):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentEvent.objects.create(member=member, purpose="profiling", channel="email", granted=True,
                                    occurred_at=MONDAY, source="web", text_version="v1")


def test_enrolment_at_the_till_records_the_answers_as_till_events(db):
    from clientele.catalog.models import Store
    from clientele.members.till import enrol_member

    Store.objects.create(store_id=1)
    member, _ = enrol_member(first_name="Ola", email="ola@example.org", email_consent=True, sms_consent=False,
                             joined_on=date(2026, 12, 6))
    events = {(e.channel, e.granted, e.source) for e in ConsentEvent.objects.filter(member=member)}
    assert events == {("email", True, "till"), ("sms", False, "till")}
    member.refresh_from_db()
    assert member.email_consent is True and member.sms_consent is False
