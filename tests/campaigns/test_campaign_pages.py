"""The campaign pages of the back office (Django's test client; the browser test is in
tests/backoffice/test_campaign_browser.py): the marketer role, playbooks one click away, launch,
the measurement on the page, refusals shown as messages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from campaign_builders import CUSTOMERS, WINDOW_START, write_baskets
from django.contrib.auth.models import Group, User
from django.test import Client

from clientele.campaigns.models import Campaign


@pytest.fixture
def marketer(db) -> Client:
    user = User.objects.create_user("mia", password="x-long-password")
    user.groups.add(Group.objects.get(name="marketer"))
    client = Client()
    client.force_login(user)
    return client


def test_a_marketer_starts_from_a_playbook_launches_and_reads_the_lift(marketer, lake, members):
    listing = marketer.get("/backoffice/campaigns/")
    assert listing.status_code == 200 and b"win-back-at-risk" in listing.content
    created = marketer.post("/backoffice/campaigns/from-playbook/", {"playbook": "win-back-at-risk",
                                                                     "window_start": str(WINDOW_START)})
    campaign = Campaign.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/backoffice/campaigns/{campaign.id}/"
    assert campaign.owner == "mia" and campaign.window_start == WINDOW_START
    adjusted = marketer.post(f"/backoffice/campaigns/{campaign.id}/adjust/", {
        "message": "Come back", "window_start": str(WINDOW_START), "window_end": str(WINDOW_START + timedelta(days=20)),
        "holdout_share": "0.25", "fixed_cost": "10", "cost_per_contact": "0.1"}, follow=True)
    assert b"Campaign adjusted" in adjusted.content
    marketer.post(f"/backoffice/campaigns/{campaign.id}/launch/")
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.holdout_share == Decimal("0.25")
    write_baskets(lake, [(c, WINDOW_START + timedelta(days=c % 15), 25.0 + c % 9) for c in CUSTOMERS])
    page = marketer.get(f"/backoffice/campaigns/{campaign.id}/").content.decode()
    assert "Final: the window has closed" in page and "Intent-to-treat" in page
    assert "repurchase rate" in page and "95% interval" in page and 'data-metric="spend-cuped"' in page


def test_a_change_after_launch_is_refused_on_the_page(marketer, lake, members):
    marketer.post("/backoffice/campaigns/from-playbook/", {"playbook": "vip-preview", "window_start": str(WINDOW_START)})
    campaign = Campaign.objects.get()
    marketer.post(f"/backoffice/campaigns/{campaign.id}/launch/")
    answer = marketer.post(f"/backoffice/campaigns/{campaign.id}/adjust/", {
        "message": "x", "window_start": str(WINDOW_START), "window_end": str(WINDOW_START + timedelta(days=20)),
        "holdout_share": "0.3", "fixed_cost": "0", "cost_per_contact": "0"}, follow=True)
    assert b"new campaign" in answer.content
    campaign.refresh_from_db()
    assert campaign.holdout_share == Decimal("0.1")


def test_a_role_without_campaigns_is_refused(db, lake):
    user = User.objects.create_user("sam", password="x-long-password")
    user.groups.add(Group.objects.get(name="service agent"))
    client = Client()
    client.force_login(user)
    assert client.get("/backoffice/campaigns/").status_code == 403
