"""The back office: every loyalty page opens; a key is shown once when created and can be revoked."""

from __future__ import annotations

import pytest

from clientele.loyalty.models import ApiKey

PAGES = ["programme", "earningrule", "tier", "reward", "apikey", "pointsentry", "basket", "tierchange"]


@pytest.mark.parametrize("page", PAGES)
def test_given_a_staff_user_when_opening_a_loyalty_list_then_it_shows(admin_client, page):
    assert admin_client.get(f"/admin/loyalty/{page}/").status_code == 200


def test_given_members_and_cards_when_listed_in_the_back_office_then_they_show(admin_client, member):
    assert admin_client.get("/admin/members/member/").status_code == 200
    assert admin_client.get(f"/admin/members/member/{member.pk}/change/").status_code == 200
    assert admin_client.get("/admin/members/card/").status_code == 200


def test_given_a_new_key_in_the_admin_then_it_is_shown_once_stored_hashed_and_revocable(admin_client, store):
    response = admin_client.post("/admin/loyalty/apikey/add/", {"store": store.pk, "name": "till 4"}, follow=True)

    shown = [str(m) for m in response.context["messages"]]
    key = ApiKey.objects.get()
    assert any(f"clt_{key.prefix}_" in message for message in shown)
    assert key.key_hash not in "".join(shown)

    admin_client.post("/admin/loyalty/apikey/", {"action": "revoke", "_selected_action": [key.pk]})

    key.refresh_from_db()
    assert key.revoked_at is not None
