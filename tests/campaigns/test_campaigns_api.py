"""The marketers' campaigns API through HTTP: a playbook launched, measured, bad input refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from campaign_builders import CUSTOMERS, WINDOW_END, WINDOW_START, write_baskets
from django.contrib.auth.models import Permission, User
from django.test import Client

CAMPAIGN = {"name": "Win back", "owner": "mia", "goal_metric": "repurchase_rate", "goal_target": "0.05",
            "window_start": str(WINDOW_START), "window_end": str(WINDOW_END), "audience": "lifecycle=decline",
            "channels": ["till"], "message": "We miss you", "holdout_share": "0.2"}


@pytest.fixture
def marketer(db) -> Client:
    user = User.objects.create_user("mia", password="x-long-password")
    user.user_permissions.add(Permission.objects.get(codename="change_campaign"))
    client = Client()
    client.force_login(user)
    return client


def call(client: Client, path: str, body: dict | None = None, method: str = "post"):
    return getattr(client, method)(f"/api/campaigns{path}", body or {}, content_type="application/json")


def test_a_marketer_launches_the_win_back_playbook_and_reads_its_lift(marketer, lake, members):
    playbooks = marketer.get("/api/campaigns/playbooks").json()
    assert "win-back-at-risk" in [p["key"] for p in playbooks]
    created = call(marketer, "/campaigns/from-playbook", {"playbook": "win-back-at-risk", "owner": "mia",
                                                          "window_start": str(WINDOW_START)})
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    launched = call(marketer, f"/campaigns/{campaign_id}/launch")
    assert launched.status_code == 200 and launched.json()["status"] == "running"
    groups = launched.json()["groups"]
    assert groups["treated"] + groups["holdout"] == len([c for c in CUSTOMERS if c % 3 == 0])
    write_baskets(lake, [(c, WINDOW_START + timedelta(days=c % 20), 25.0 + c % 9) for c in CUSTOMERS]
                  + [(c, WINDOW_START - timedelta(days=30), 20.0) for c in CUSTOMERS])
    measured = marketer.get(f"/api/campaigns/campaigns/{campaign_id}/measurement")
    assert measured.status_code == 200, measured.content
    body = measured.json()
    assert body["goal_metric"] == "repurchase_rate" and "95% interval" in body["sentences"][0]
    assert body["lifts"]["spend"]["treated_n"] == groups["treated"]


@pytest.mark.parametrize("change, status, code, field", [
    ({"audience": "lifecycle=declin"}, 422, "bad_audience", "audience"),
    ({"holdout_share": "0.7"}, 422, "invalid_request", "holdout_share"),
    ({"window_end": None}, 422, "invalid_campaign", "window_end"),
    ({"goal_metric": "joy"}, 422, "invalid_request", "goal_metric"),
])
def test_bad_campaigns_are_refused_with_a_problem_naming_the_field(marketer, lake, change, status, code, field):
    answer = call(marketer, "/campaigns", CAMPAIGN | change)
    assert answer.status_code == status, answer.content
    assert answer.json()["code"] == code and answer.json()["field"] == field


def test_a_change_of_audience_after_launch_is_a_409(marketer, lake, members):
    campaign_id = call(marketer, "/campaigns", CAMPAIGN).json()["id"]
    call(marketer, f"/campaigns/{campaign_id}/launch")
    answer = call(marketer, f"/campaigns/{campaign_id}", {"audience": "pyramid=VIP"}, "patch")
    assert answer.status_code == 409 and answer.json()["code"] == "campaign_locked"
    assert call(marketer, "/campaigns/9999/launch").status_code == 404


def test_without_the_permission_the_api_refuses(db, lake):
    user = User.objects.create_user("sam", password="x-long-password")
    client = Client()
    client.force_login(user)
    assert client.get("/api/campaigns/campaigns").status_code == 401
