"""The portal's nightly purge (decision 0109): sign-in codes, wrong codes and sessions ended more
than CLIENTELE_PORTAL_RECORDS_DAYS ago are deleted, in batches; what the limits still count and
live sessions stay; a new address nobody confirmed is forgotten once its code expired; run again,
it deletes nothing."""

from __future__ import annotations

from datetime import timedelta

import portal_builders as build
import pytest
from django.test import Client
from typer.testing import CliRunner

from clientele.cli import app
from clientele.members.models import Member
from clientele.portal.housekeeping import purge_sign_in_records
from clientele.portal.models import PortalSession, SignInCode, SignInFailure


def code(member, ended_days_ago: float, **fields) -> SignInCode:
    expires = build.now() - timedelta(days=ended_days_ago)
    return SignInCode.objects.create(challenge_hash=f"c{SignInCode.objects.count()}", code_hash="h", member=member,
                                     client="k", created_at=expires - timedelta(minutes=10), expires_at=expires,
                                     **fields)


def session(member, ended_days_ago: float, signed_out_days_ago: float | None = None) -> PortalSession:
    expires = build.now() - timedelta(days=ended_days_ago)
    return PortalSession.objects.create(
        token_hash=f"t{PortalSession.objects.count()}", member=member, created_at=expires - timedelta(hours=2),
        expires_at=expires,
        signed_out_at=None if signed_out_days_ago is None else build.now() - timedelta(days=signed_out_days_ago))


@pytest.fixture
def ada(members) -> Member:
    return Member.objects.get(customer_id=build.ADA)


def test_records_ended_more_than_thirty_days_ago_are_deleted_and_the_rest_kept(ada):
    old_codes = [code(ada, 31), code(None, 45)]  # a decoy's too
    kept_codes = [code(ada, 29), code(ada, -0.005)]  # within the audit window; still valid
    SignInFailure.objects.bulk_create([SignInFailure(member=ada, client="k", at=build.now() - timedelta(days=d))
                                       for d in (40, 31, 1, 0)])
    old_sessions = [session(ada, 31), session(ada, -0.05, signed_out_days_ago=31)]
    kept_sessions = [session(ada, 2), session(ada, -0.05), session(ada, -0.05, signed_out_days_ago=3)]

    purged = purge_sign_in_records(batch=1)  # one row per transaction: every batch boundary crossed

    assert purged == {"codes": 2, "wrong codes": 2, "sessions": 2, "addresses blanked": 0}
    assert set(SignInCode.objects.values_list("pk", flat=True)) == {c.pk for c in kept_codes}
    assert SignInFailure.objects.count() == 2
    assert set(PortalSession.objects.values_list("pk", flat=True)) == {s.pk for s in kept_sessions}
    assert not any(SignInCode.objects.filter(pk=c.pk).exists() for c in old_codes)
    assert not any(PortalSession.objects.filter(pk=s.pk).exists() for s in old_sessions)
    assert purge_sign_in_records() == {"codes": 0, "wrong codes": 0, "sessions": 0, "addresses blanked": 0}


def test_the_new_address_of_a_code_expired_or_used_is_forgotten_and_a_waiting_one_kept(ada):
    expired = code(ada, 0.001, purpose="email", new_value="old.try@example.org")
    used = code(ada, -0.005, purpose="phone", new_value="+13125550199", used_at=build.now())
    waiting = code(ada, -0.005, purpose="email", new_value="ada.new@example.org")

    assert purge_sign_in_records()["addresses blanked"] == 2
    assert [SignInCode.objects.get(pk=c.pk).new_value for c in (expired, used, waiting)] == [
        "", "", "ada.new@example.org"]
    assert purge_sign_in_records()["addresses blanked"] == 0


def test_the_days_kept_are_configured(ada, monkeypatch):
    from clientele.config import settings

    code(ada, 3)
    monkeypatch.setenv("CLIENTELE_PORTAL_RECORDS_DAYS", "2")
    settings.cache_clear()
    try:
        assert purge_sign_in_records()["codes"] == 1
    finally:
        settings.cache_clear()


def test_a_purge_leaves_the_sign_in_limits_counting_and_a_member_signed_in(ada, mailbox):
    answers = [Client().post("/api/portal/sign-in", {"identifier": "ada@example.org"}, content_type="application/json")
               for _ in range(3)]
    token = Client().post("/api/portal/sign-in/verify", {"challenge": answers[-1].json()["challenge"],
                                                         "code": mailbox.last_code("ada@example.org")},
                          content_type="application/json").json()["token"]

    purge_sign_in_records()

    again = Client().post("/api/portal/sign-in", {"identifier": "ada@example.org"}, content_type="application/json")
    assert again.json()["code"] == "too_many_codes"
    assert Client(headers={"Authorization": f"Bearer {token}"}).get("/api/portal/account").status_code == 200


def test_the_command_prints_what_it_deleted(ada):
    code(ada, 31)
    session(ada, 40)

    result = CliRunner().invoke(app, ["portal", "purge", "--batch", "10"])
    again = CliRunner().invoke(app, ["portal", "purge"])
    refused = CliRunner().invoke(app, ["portal", "purge", "--batch", "0"])

    assert result.exit_code == 0, result.output
    assert "Portal sign-in records purged: 1 codes, 0 wrong codes, 1 sessions, 0 addresses blanked" in " ".join(
        result.output.split())
    assert "0 codes, 0 wrong codes, 0 sessions" in again.output
    assert refused.exit_code == 2 and "--batch" in refused.output
