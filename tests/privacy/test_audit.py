"""The change log (django-auditlog): every change to members, consents, rules, tiers, offers and
keys, with who and when; personal values never written; append-only by the database; readable
by the data protection officer only."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, User
from django.db import DatabaseError, transaction

from clientele.members.models import Member
from clientele.privacy.consent import record_consent


@pytest.fixture
def member(db) -> Member:
    return Member.objects.create(customer_id=5005, first_name="Ottilie", email="ottilie@example.test",
                                 join_date=date(2025, 1, 1))


def test_a_member_change_is_logged_with_who_and_when_but_without_the_personal_values(member, client):
    member.email = "ottilie.new@example.test"
    member.save()

    entry = LogEntry.objects.get_for_object(member).order_by("-timestamp").first()
    assert entry.action == LogEntry.Action.UPDATE and entry.timestamp
    assert set(entry.changes_dict) == {"email"}
    assert "ottilie" not in str(entry.changes).lower()


def test_consents_rules_tiers_offers_and_keys_are_logged(member):
    from clientele.catalog.models import Store
    from clientele.loyalty.identity import issue_api_key
    from clientele.loyalty.models import EarningRule, Tier

    record_consent(member, "marketing", "email", True, occurred_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
                   source="web", text_version="v1")
    rule = EarningRule.objects.create(name="base", kind="base", points_per_unit=Decimal("1"))
    Tier.objects.create(name="Gold", rank=1)
    key, _ = issue_api_key(Store.objects.create(store_id=9), "till 9")
    logged = {e.content_type.model for e in LogEntry.objects.all()}
    assert {"member", "consentevent", "earningrule", "tier", "apikey"} <= logged
    assert "key_hash" not in str(LogEntry.objects.get_for_object(key).first().changes)
    assert LogEntry.objects.get_for_object(rule).exists()


def test_the_database_refuses_to_delete_or_rewrite_an_entry(member):
    entry = LogEntry.objects.get_for_object(member).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).update(changes={"forged": ["a", "b"]})
    with pytest.raises(DatabaseError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).update(object_repr="someone else")
    assert LogEntry.objects.filter(pk=entry.pk, object_repr="Ottilie").exists()


def test_only_the_data_protection_officer_reads_the_change_log(member, client):
    def person(name: str, role: str) -> User:
        user = User.objects.create_user(name, password="x-long-password", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    client.force_login(person("mara", "marketer"))
    assert client.get("/admin/auditlog/logentry/").status_code == 403
    client.force_login(person("dora", "data protection officer"))
    page = client.get("/admin/auditlog/logentry/")
    assert page.status_code == 200 and b"Ottilie" in page.content
