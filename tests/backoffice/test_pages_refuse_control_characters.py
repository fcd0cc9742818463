"""A NUL character in what a browser sends to a page (PostgreSQL's text cannot store one), or any
other control character but tab and line breaks, is refused with a 400 naming the field before any
view reads it, never a 500 nor a name holding an escape (decision 0104)."""

from __future__ import annotations

import pytest

from clientele.care.models import MemberEvent
from clientele.service.forms import ComplaintForm
from clientele.service.models import Complaint

pytestmark = pytest.mark.django_db


def test_a_search_holding_a_nul_is_refused_naming_its_parameter(admin_client):
    answer = admin_client.get("/backoffice/members/", {"q": "Love\x00lace"})

    assert (answer.status_code, answer.content.decode().split(":")[0]) == (400, "q")


def test_a_page_reading_its_form_without_a_django_form_refuses_a_nul_and_writes_nothing(admin_client):
    answer = admin_client.post("/backoffice/care/events/", {"action": "create", "code": "wine", "name": "Wine\x00",
                                                            "held_on": "2026-12-24", "bonus_points": "50"})

    assert (answer.status_code, answer.content.decode().split(":")[0]) == (400, "name")
    assert not MemberEvent.objects.exists()


def test_a_django_form_refuses_a_nul_in_its_text_and_so_does_its_page(admin_client):
    # Django's CharField refuses it (ProhibitNullCharactersValidator); the page refuses it before the form.
    form = ComplaintForm({"member_number": "42", "what_happened": "Late\x00"})

    assert not form.is_valid() and form.errors["what_happened"] == ["Null characters are not allowed."]
    answer = admin_client.post("/service/complaints/new/", {"member_number": "42", "what_happened": "Late\x00"})
    assert (answer.status_code, answer.content.decode().split(":")[0]) == (400, "what_happened")
    assert not Complaint.objects.exists()


@pytest.mark.parametrize("character", ["\x1b", "\x1f", "\x08", "\x7f"])
def test_another_control_character_in_a_form_is_refused_and_nothing_written(admin_client, character):
    answer = admin_client.post("/backoffice/care/events/", {"action": "create", "code": "wine",
                                                            "name": f"Wine{character}[31m",
                                                            "held_on": "2026-12-24", "bonus_points": "50"})

    assert answer.status_code == 400
    assert answer.content.decode().startswith(f"name: holds a control character (0x{ord(character):02x})")
    assert not MemberEvent.objects.exists()


def test_a_pages_text_keeps_its_line_breaks_and_tabs(admin_client):
    answer = admin_client.get("/backoffice/members/", {"q": "Love\tlace"})
    assert answer.status_code == 200

    answer = admin_client.post("/service/complaints/new/", {"member_number": "42",
                                                            "what_happened": "Late.\r\n\tTwice, Ünal said: 遅い"})
    assert answer.status_code != 400
