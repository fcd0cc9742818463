"""The back office: every loyalty page opens; a key is shown once when created and can be revoked."""

from __future__ import annotations

import pytest
from till_payloads import basket, post

from clientele.loyalty.models import ApiKey, EarningRule, PointsEntry

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


def rule_form(rule: EarningRule, **changes) -> dict:
    """The admin's change form of `rule` as a marketer submits it, with `changes` typed in."""
    fields = {"name": rule.name, "kind": rule.kind, "active": "on" if rule.active else "",
              "points_per_unit": rule.points_per_unit or "", "multiplier": rule.multiplier or "",
              "bonus_points": rule.bonus_points or "", "action": rule.action, "max_points": rule.max_points or "",
              "valid_from": "", "valid_until": "", "store": "", "tier": "", "product": "", "department": "",
              "category": "", "brand_type": rule.brand_type, "days_of_week": "", "time_from": "", "time_until": ""}
    return {name: value for name, value in (fields | changes).items() if value != ""}


def test_given_a_marketer_changing_a_rule_in_the_admin_then_the_history_shows_each_version_and_who(
        admin_client, admin_user, base_rule):
    changed = admin_client.post(f"/admin/loyalty/earningrule/{base_rule.pk}/change/",
                                rule_form(base_rule, points_per_unit="2"))
    refused = admin_client.post(f"/admin/loyalty/earningrule/{base_rule.pk}/change/",
                                rule_form(base_rule, multiplier="2"))

    assert changed.status_code == 302 and refused.status_code == 200  # an invalid rule is not saved
    base_rule.refresh_from_db()
    assert (base_rule.version, base_rule.points_per_unit) == (2, 2)
    latest = base_rule.history.latest()
    assert (latest.version, latest.history_user) == (2, admin_user)
    page = admin_client.get(f"/admin/loyalty/earningrule/{base_rule.pk}/history/").content.decode()
    assert "Points per unit" in page and "1.000" in page and "2.000" in page and admin_user.username in page


def test_given_a_credit_in_the_ledger_then_the_admin_shows_each_rule_version_behind_its_points(
        admin_client, till, programme_ready, card):
    promotion = EarningRule.objects.create(name="Store brand x2", kind="multiplier", multiplier="2",
                                           brand_type="Private")
    post(till, "/baskets", basket(card=card))
    promotion.multiplier = 3
    promotion.save()

    page = admin_client.get(f"/admin/loyalty/pointsentry/{PointsEntry.objects.get().pk}/change/").content.decode()

    assert "Store brand x2 (version 1)" in page and "multiplier=2.00" in page
    assert f"/admin/loyalty/earningrule/{promotion.pk}/history/" in page
