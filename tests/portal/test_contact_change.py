"""A member changing their e-mail or phone in the portal (decision 0108): the new address is written
only once the code sent to it is typed back (the sign-in's codes: hashed, used once, expiring, three
tries, limited); until then the old one signs in and receives the programme's mail."""

from __future__ import annotations

from datetime import timedelta

import portal_builders as build
import pytest
from django.test import Client
from portal_helpers import api_sign_in

from clientele.members.models import Member
from clientele.portal.models import SignInCode

JSON = "application/json"


def change(client: Client, **fields):
    return client.put("/api/portal/profile", fields, content_type=JSON)


def confirm(client: Client, challenge: str, code: str):
    return client.post("/api/portal/profile/confirm", {"challenge": challenge, "code": code}, content_type=JSON)


def ada() -> Member:
    return Member.objects.get(customer_id=build.ADA)


def test_a_new_email_replaces_the_old_one_only_once_the_code_sent_to_it_is_typed_back(ada_api, mailbox):
    asked = change(ada_api, email="Ada.New@Example.org", city="Chicago").json()

    # the code went to the new address; the old one is still hers, and still signs in
    assert asked["changed"] == ["city"] and [c["field"] for c in asked["to_confirm"]] == ["email"]
    assert asked["to_confirm"][0]["sent_to"] == "email" and mailbox.messages[-1][0] == "ada.new@example.org"
    assert "confirmation code is" in mailbox.messages[-1][1]
    assert ada().email == "ada@example.org"
    assert ada_api.get("/api/portal/profile").json()["awaiting_confirmation"][0]["value"] == "ada.new@example.org"
    sent_before = len(mailbox.messages)
    assert Client().post("/api/portal/sign-in", {"identifier": "ada.new@example.org"}, content_type=JSON).status_code == 200
    assert len(mailbox.messages) == sent_before  # the new address names nobody yet: no sign-in code sent to it

    confirmed = confirm(ada_api, asked["to_confirm"][0]["challenge"], mailbox.last_code("ada.new@example.org"))

    assert confirmed.status_code == 200 and confirmed.json()["changed"] == ["email"]
    assert ada().email == "ada.new@example.org"
    assert ada_api.get("/api/portal/profile").json()["awaiting_confirmation"] == []
    assert api_sign_in(Client(), "ada.new@example.org", mailbox, "ada.new@example.org")


def test_a_new_phone_is_confirmed_by_the_code_sent_to_it_by_sms(ada_api, sms_webhook):
    asked = change(ada_api, phone="(312) 555-0199").json()
    challenge = asked["to_confirm"][0]["challenge"]

    assert asked["to_confirm"][0]["sent_to"] == "sms" and sms_webhook[-1][0] == "+13125550199"
    assert ada().phone == "+13125550100"
    assert confirm(ada_api, challenge, build.CODE.search(sms_webhook[-1][1]).group(1)).status_code == 200
    assert ada().phone == "+13125550199"


def test_a_confirmation_code_works_once_three_tries_and_not_after_it_expired(ada_api, mailbox):
    first = change(ada_api, email="one@example.org").json()["to_confirm"][0]["challenge"]
    code = mailbox.last_code("one@example.org")
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    answers = [confirm(ada_api, first, wrong) for _ in range(3)] + [confirm(ada_api, first, code)]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(401, "wrong_code")] * 3 + [(401, "code_expired")]
    assert ada().email == "ada@example.org"

    second = change(ada_api, email="two@example.org").json()["to_confirm"][0]["challenge"]
    code = mailbox.last_code("two@example.org")
    assert confirm(ada_api, second, code).status_code == 200
    assert confirm(ada_api, second, code).json()["code"] == "code_expired"

    third = change(ada_api, email="three@example.org").json()["to_confirm"][0]["challenge"]
    SignInCode.objects.filter(purpose="email", used_at=None).update(created_at=build.now() - timedelta(minutes=11),
                                                                    expires_at=build.now() - timedelta(minutes=1))
    assert confirm(ada_api, third, mailbox.last_code("three@example.org")).json()["code"] == "code_expired"
    assert ada().email == "two@example.org"


def test_a_second_change_makes_the_first_code_useless(ada_api, mailbox):
    first = change(ada_api, email="first@example.org").json()["to_confirm"][0]["challenge"]
    first_code = mailbox.last_code("first@example.org")
    change(ada_api, email="second@example.org")

    assert confirm(ada_api, first, first_code).json()["code"] == "code_expired"
    assert ada().email == "ada@example.org"
    assert [w["value"] for w in ada_api.get("/api/portal/profile").json()["awaiting_confirmation"]] == [
        "second@example.org"]


def test_a_confirmation_code_neither_signs_in_nor_confirms_for_another_member_and_a_sign_in_code_confirms_nothing(
        ada_api, bob_api, mailbox):
    challenge = change(ada_api, email="ada.elsewhere@example.org").json()["to_confirm"][0]["challenge"]
    code = mailbox.last_code("ada.elsewhere@example.org")
    sign_in = Client().post("/api/portal/sign-in", {"identifier": "ada@example.org"}, content_type=JSON).json()

    as_sign_in = Client().post("/api/portal/sign-in/verify", {"challenge": challenge, "code": code}, content_type=JSON)
    by_bob = confirm(bob_api, challenge, code)
    sign_in_code = confirm(ada_api, sign_in["challenge"], mailbox.last_code("ada@example.org"))

    assert (as_sign_in.status_code, by_bob.status_code, sign_in_code.status_code) == (401, 401, 401)
    assert Member.objects.get(customer_id=build.BOB).email == "bob@example.org"
    assert ada().email == "ada@example.org"
    assert confirm(ada_api, challenge, code).status_code == 200  # still hers to confirm


def test_codes_to_new_addresses_are_limited_per_member_and_the_refusal_names_the_field(ada_api, mailbox):
    answers = [change(ada_api, email=f"try{n}@example.org") for n in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert (answers[-1].json()["code"], answers[-1].json()["field"]) == ("too_many_codes", "email")
    assert Client().post("/api/portal/sign-in", {"identifier": "ada@example.org"},
                         content_type=JSON).status_code == 200  # signing in has limits of its own


@pytest.mark.parametrize("body", [{"challenge": "x\x00", "code": "123456"}, {"challenge": "x", "code": "12\x1f"},
                                  {"challenge": "", "code": "123456"}, {"code": "123456"}])
def test_a_confirmation_with_a_control_character_or_nothing_is_refused_with_its_field(ada_api, body):
    answer = ada_api.post("/api/portal/profile/confirm", body, content_type=JSON)

    assert answer.status_code == 422 and answer.json()["code"] == "invalid_request"
    assert answer.json()["field"] in ("challenge", "code")


def test_on_the_profile_page_a_new_email_waits_for_its_code_then_replaces_the_old_one(members, mailbox):
    page = Client()
    page.post("/portal/sign-in/", {"identifier": "ada@example.org"})
    page.post("/portal/sign-in/code/", {"code": mailbox.last_code("ada@example.org")})

    saved = page.post("/portal/profile/", {"email": "ada.page@example.org"}, follow=True).content.decode()
    assert "We sent a code to your new e-mail address" in saved and 'id="confirm-email"' in saved
    assert ada().email == "ada@example.org"
    code = mailbox.last_code("ada.page@example.org")
    wrong = page.post("/portal/profile/confirm/", {"field": "email", "code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 401 and "not the code we sent" in wrong.content.decode()

    done = page.post("/portal/profile/confirm/", {"field": "email", "code": code}, follow=True).content.decode()

    assert "Your new e-mail address is confirmed" in done and 'id="confirm-email"' not in done
    assert ada().email == "ada.page@example.org"


def test_an_address_waiting_for_its_code_is_in_the_members_export_and_gone_with_an_erasure(ada_api, mailbox, home):
    import io
    import json
    import zipfile

    from clientele.privacy import erasure

    change(ada_api, email="ada.waiting@example.org")
    exported = ada_api.post("/api/portal/privacy/export")
    document = json.loads(zipfile.ZipFile(io.BytesIO(b"".join(exported.streaming_content))).read("member.json"))
    asked = ada_api.post("/api/portal/privacy/erasure", {"reason": "leaving"}, content_type=JSON).json()
    erasure.approve_erasure(asked["request_id"], approved_by="dpo")
    erasure.carry_out(asked["request_id"])

    assert [(row["purpose"], row["new_value"]) for row in document["data"]["contact_changes_asked"]] == [
        ("email", "ada.waiting@example.org")]
    assert not SignInCode.objects.filter(new_value="ada.waiting@example.org").exists()
