"""The data protection officer's page: an access export downloaded (and the view logged), an
erasure asked by one officer and approved by another; other roles are refused."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from privacy_builders import PERSONAL, PLANTED
from django.contrib.auth.models import Group, User

from clientele.backoffice.models import PersonalDataView
from clientele.members.models import Member
from clientele.privacy.models import ErasureRequest


def person(name: str, role: str) -> User:
    user = User.objects.create_user(name, password="x-long-password", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_the_officer_downloads_the_archive_and_the_view_is_logged(world, client):
    client.force_login(person("dora", "data protection officer"))
    answer = client.post("/backoffice/privacy/export/", {"member": str(PLANTED)})
    assert answer.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content)))
    assert json.loads(archive.read("member.json"))["data"]["identity"][0]["last_name"] == PERSONAL["last_name"]
    assert PersonalDataView.objects.filter(username="dora", customer_id=PLANTED, channel="access export").exists()


def test_one_officer_asks_another_approves_and_the_member_is_erased(world, client):
    client.force_login(person("dora", "data protection officer"))
    client.post("/backoffice/privacy/erasures/", {"member": str(PLANTED), "reason": "letter of 1 December"})
    asked = ErasureRequest.objects.get()
    refused = client.post(f"/backoffice/privacy/erasures/{asked.id}/approve/", follow=True)
    assert b"another person must approve" in refused.content
    client.force_login(person("otto", "data protection officer"))
    page = client.post(f"/backoffice/privacy/erasures/{asked.id}/approve/", follow=True)
    assert f"Member {PLANTED} erased".encode() in page.content
    assert Member.objects.get(customer_id=PLANTED).status == "erased"


@pytest.mark.parametrize("role", ["marketer", "service agent", "analyst"])
def test_other_roles_may_not_export_or_erase(world, client, role):
    client.force_login(person("someone", role))
    assert client.get("/backoffice/privacy/").status_code == 403
    assert client.post("/backoffice/privacy/export/", {"member": str(PLANTED)}).status_code == 403
    assert client.post("/backoffice/privacy/erasures/", {"member": str(PLANTED), "reason": "x"}).status_code == 403


def test_a_member_number_that_is_not_a_number_is_told(world, client):
    client.force_login(person("dora", "data protection officer"))
    page = client.post("/backoffice/privacy/export/", {"member": "12a"}, follow=True)
    assert b"is not a number" in page.content
