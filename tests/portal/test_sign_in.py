"""Signing in without a password (issue 25, part 1): a one-time code through a real SMTP server or
the SMS webhook; codes expire, work once, are limited and lock after wrong tries per member and per
network address; sessions expire and end; nothing personal in URLs or logs; CSRF on every form."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from portal_helpers import api_sign_in
from django.test import Client

from clientele.barcodes import card_barcode
from clientele.portal.models import PortalSession, SignInCode

SIGN_IN, VERIFY = "/api/portal/sign-in", "/api/portal/sign-in/verify"


def ask(client: Client, identifier: str):
    return client.post(SIGN_IN, {"identifier": identifier}, content_type="application/json")


def verify(client: Client, challenge: str, code: str):
    return client.post(VERIFY, {"challenge": challenge, "code": code}, content_type="application/json")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_member_signs_in_by_card_number_with_the_code_sent_to_their_email_and_sees_only_their_account(
        members, mailbox):
    client = Client()
    challenge = ask(client, card_barcode(42)).json()
    code = mailbox.last_code("ada@example.org")
    token = verify(client, challenge["challenge"], code).json()["token"]
    account = client.get("/api/portal/account", headers={"Authorization": f"Bearer {token}"})

    assert challenge["sent_to"] == "email"
    assert account.status_code == 200 and account.json()["member_number"] == 42
    stored = SignInCode.objects.get()
    assert code not in stored.code_hash and challenge["challenge"] not in stored.challenge_hash  # hashed at rest
    assert token not in PortalSession.objects.get().token_hash


def test_a_phone_number_gets_the_code_by_sms_through_the_webhook(members, sms_webhook):
    client = Client()
    challenge = ask(client, "(312) 555-0100").json()
    (phone, text), = sms_webhook
    code = text.split("code is ")[1][:6]

    assert challenge["sent_to"] == "sms" and phone == "+13125550100"
    assert verify(client, challenge["challenge"], code).status_code == 200


def test_a_code_works_once_and_not_after_it_expired(members, mailbox):
    client = Client()
    first = ask(client, "ada@example.org").json()["challenge"]
    code = mailbox.last_code("ada@example.org")
    assert verify(client, first, code).status_code == 200
    again = verify(client, first, code)

    second = ask(client, "ada@example.org").json()["challenge"]
    SignInCode.objects.filter(used_at=None).update(expires_at=SignInCode.objects.get(used_at=None).created_at
                                                   + timedelta(microseconds=1))
    expired = verify(client, second, mailbox.last_code("ada@example.org"))

    assert (again.status_code, again.json()["code"]) == (401, "code_expired")
    assert (expired.status_code, expired.json()["code"]) == (401, "code_expired")


def test_whoever_is_typed_the_answer_is_the_same_and_nobody_unknown_gets_a_message(members, mailbox):
    known = ask(Client(), "ada@example.org")
    unknown = ask(Client(), "nobody@example.org")
    unknown_card = ask(Client(), card_barcode(999))

    assert known.status_code == unknown.status_code == unknown_card.status_code == 200
    assert set(known.json()) == set(unknown.json())
    assert known.json()["sent_to"] == unknown.json()["sent_to"] == unknown_card.json()["sent_to"] == "email"
    assert [to for to, _ in mailbox.messages] == ["ada@example.org"]
    refused = verify(Client(), unknown.json()["challenge"], "123456")
    assert (refused.status_code, refused.json()["code"]) == (401, "wrong_code")


@pytest.mark.parametrize("typed", ["", "not a thing", "2900000000420"])
def test_what_is_neither_a_card_nor_an_email_nor_a_phone_is_refused_saying_what_to_type(members, mailbox, typed):
    answer = ask(Client(), typed)

    assert answer.status_code == 422
    assert answer.json()["field"] == "identifier"


def test_five_wrong_codes_lock_the_member_even_with_the_right_code_and_from_another_address(members, mailbox):
    client = Client(REMOTE_ADDR="10.0.0.1")
    challenge = ask(client, "ada@example.org").json()["challenge"]
    code = mailbox.last_code("ada@example.org")
    answers = [verify(client, challenge, wrong(code)).json()["code"] for _ in range(3)]
    client2 = Client(REMOTE_ADDR="10.0.0.2")
    challenge2 = ask(client2, "ada@example.org").json()["challenge"]
    code2 = mailbox.last_code("ada@example.org")
    answers += [verify(client2, challenge2, wrong(code2)).json()["code"] for _ in range(2)]
    locked = verify(Client(REMOTE_ADDR="10.0.0.3"), challenge2, code2)
    asked_again = ask(Client(REMOTE_ADDR="10.0.0.3"), "ada@example.org")

    assert answers == ["wrong_code"] * 5
    assert (locked.status_code, locked.json()["code"]) == (429, "sign_in_locked")
    assert (asked_again.status_code, asked_again.json()["code"]) == (429, "sign_in_locked")


def test_a_code_tried_three_times_wrong_is_dead(members, mailbox):
    client = Client()
    challenge = ask(client, "ada@example.org").json()["challenge"]
    code = mailbox.last_code("ada@example.org")
    [verify(client, challenge, wrong(code)) for _ in range(3)]

    assert verify(client, challenge, code).json()["code"] == "code_expired"


def test_wrong_codes_from_one_address_lock_that_address_for_every_member(members, mailbox):
    attacker = Client(REMOTE_ADDR="10.9.9.9")
    for who in ("ada@example.org", "bob@example.org", "carol@example.org"):
        challenge = ask(attacker, who).json()["challenge"]
        code = mailbox.last_code(who)
        for _ in range(2):
            verify(attacker, challenge, wrong(code))
    challenge = ask(Client(REMOTE_ADDR="10.1.1.1"), "carol@example.org").json()["challenge"]
    from_attacker = verify(attacker, challenge, mailbox.last_code("carol@example.org"))
    from_carol = verify(Client(REMOTE_ADDR="10.1.1.1"), challenge, mailbox.last_code("carol@example.org"))

    assert from_attacker.json()["code"] == "sign_in_locked"
    assert from_carol.status_code == 200  # Carol herself (2 wrong tries on her, under her limit) gets in


def test_a_member_gets_three_codes_in_fifteen_minutes_then_must_wait(members, mailbox):
    answers = [ask(Client(), "ada@example.org").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert len(mailbox.messages) == 3


def test_a_session_ends_when_it_expires_and_when_the_member_signs_out(members, mailbox):
    client = Client()
    first = api_sign_in(client, "ada@example.org", mailbox, "ada@example.org")
    second = api_sign_in(client, "bob@example.org", mailbox, "bob@example.org")
    PortalSession.objects.filter(member__customer_id=42).update(expires_at=PortalSession.objects.get(
        member__customer_id=42).created_at)
    expired = client.get("/api/portal/account", headers={"Authorization": f"Bearer {first}"})
    client.post("/api/portal/sign-out", headers={"Authorization": f"Bearer {second}"})
    signed_out = client.get("/api/portal/account", headers={"Authorization": f"Bearer {second}"})

    assert expired.status_code == signed_out.status_code == 401


def test_the_mail_server_refusing_the_code_is_said_and_no_usable_code_is_left(members, monkeypatch, free_port):
    from clientele.config import settings

    monkeypatch.setenv("CLIENTELE_SMTP_PORT", str(free_port()))  # nobody listens there
    settings.cache_clear()
    answer = ask(Client(), "ada@example.org")
    settings.cache_clear()

    assert (answer.status_code, answer.json()["code"]) == (503, "code_not_sent")
    assert not SignInCode.objects.exists()


def test_nothing_the_member_typed_nor_the_code_reaches_the_logs_or_a_url(members, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    client = Client()
    page = client.post("/portal/sign-in/", {"identifier": "ada@example.org"})
    code = mailbox.last_code("ada@example.org")
    signed_in = client.post("/portal/sign-in/code/", {"code": wrong(code)})
    signed_in = client.post("/portal/sign-in/code/", {"code": code}, follow=True)
    client.get("/portal/reviews/999999/")

    urls = [page["Location"], *[url for url, _ in signed_in.redirect_chain]]
    # what the application logs (the test's own mail server, `mail.log`, shows what it received)
    logged = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("mail."))
    assert "Unauthorized: /portal/sign-in/code/" in logged
    for secret in ("ada@example.org", code, card_barcode(42), "+13125550100", "Ada"):
        assert secret not in logged
        assert all(secret not in url for url in urls)
    assert signed_in.status_code == 200 and "Hello Ada" in signed_in.content.decode()


def test_every_portal_form_refuses_a_post_without_its_csrf_token(members, mailbox):
    strict = Client(enforce_csrf_checks=True)
    refused = [strict.post(path, {}).status_code for path in (
        "/portal/sign-in/", "/portal/sign-in/code/", "/portal/sign-out/", "/portal/profile/",
        "/portal/profile/consent/", "/portal/profile/erasure/", "/portal/profile/export/", "/portal/feedback/review/",
        "/portal/feedback/complaint/", "/portal/feedback/referred/", "/portal/offers/coffee-clip/activate/")]

    assert refused == [403] * len(refused)
