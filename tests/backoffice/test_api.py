"""The back-office API: per-user tokens, the same roles and masking as the pages, readable refusals."""

from __future__ import annotations

from datetime import date

import pytest

from clientele.backoffice.dashboard import store_nightly
from clientele.backoffice.models import PersonalDataView
from clientele.backoffice.services import add_user, issue_token
from clientele.catalog.models import Store
from clientele.config import settings
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.ledger import liability
from clientele.loyalty.models import Programme
from clientele.members.models import Member

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(home) -> Member:
    Store.objects.create(store_id=1)
    Programme.current()  # the programme's settings as stored (a point value read back with four decimals)
    return Member.objects.create(customer_id=42, first_name="Ada", last_name="Lovelace", email="ada@example.com",
                                 join_date=date(2024, 1, 5), home_store_id=1)


def bearer(username: str, role: str) -> dict:
    _, raw = issue_token(add_user(username, "Secret-pass-42", role), "integration")
    return {"Authorization": f"Bearer {raw}"}


def test_a_service_agents_token_reads_a_members_360_data_and_the_view_is_audited(client, ada):
    answer = client.get("/api/backoffice/members/42", headers=bearer("agent", "service agent"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["identity"]["Last name"] == "Lovelace" and body["consent"]["profiling"] is True
    assert list(PersonalDataView.objects.values_list("username", "channel")) == [("agent", "api: member 360")]


def test_an_analysts_token_gets_members_masked_and_leaves_no_audit_entry(client, ada):
    headers = bearer("analyst", "analyst")
    found = client.get("/api/backoffice/members", {"q": "ada@example.com"}, headers=headers).json()
    detail = client.get("/api/backoffice/members/42", headers=headers).json()

    assert found == {"data": [{"member_number": 42, "name": "Member 42", "home_store": 1, "status": "active"}],
                     "count": 1}
    assert detail["identity"]["E-mail"] == "a•••@•••" and "Lovelace" not in str(detail)
    assert not PersonalDataView.objects.exists()


def test_the_dashboard_call_reports_the_liability_of_the_command_line(client, ada):
    figures = client.get("/api/backoffice/dashboard", headers=bearer("analyst", "analyst")).json()
    assert figures["points"]["liability"] == liability(date.today())
    assert figures["members"]["members"] == 1


def test_refusals_are_readable_problems(client, ada):
    maker = bearer("maker", "manufacturer")
    _, till_key = issue_api_key(Store.objects.get(), "till 1")
    refused = client.get("/api/backoffice/members/42", headers=maker)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.get("/api/backoffice/dashboard", headers=maker).status_code == 403
    for headers in ({}, {"Authorization": f"Bearer {till_key}"}):
        assert client.get("/api/backoffice/members/42", headers=headers).json()["code"] == "invalid_token"
    agent = bearer("agent", "service agent")
    assert client.get("/api/backoffice/members/7", headers=agent).json()["code"] == "not_found"
    assert client.get("/api/backoffice/members", {"q": "x" * 300}, headers=agent).json()["code"] == "malformed_search"
    backwards = client.get("/api/backoffice/dashboard", {"from": "2018-01-02", "to": "2018-01-01"},
                           headers=bearer("analyst", "analyst"))
    assert backwards.status_code == 400 and "before it starts" in backwards.json()["message"]


def test_the_dashboard_shows_the_figures_the_nightly_refresh_stored_and_computes_any_other_period(client, ada):
    results = settings().lake_path / "results"
    results.mkdir(parents=True)
    (results / "_refresh.json").write_text('{"refresh_date": "2018-01-02", "as_of": "2018-01-01"}')
    store_nightly(date(2018, 1, 2))
    Member.objects.create(customer_id=43, first_name="Charles", last_name="Babbage", join_date=date(2017, 12, 10))
    analyst = bearer("analyst", "analyst")

    stored = client.get("/api/backoffice/dashboard", headers=analyst).json()
    other = client.get("/api/backoffice/dashboard", {"from": "2017-12-01", "to": "2017-12-28"}, headers=analyst).json()

    assert stored["nightly"] is True and stored["period"] == {"from": "2017-12-05", "to": "2018-01-01"}
    assert stored["members"]["members"] == 1  # as the refresh counted them; the new member after the next one
    assert other["nightly"] is False and other["members"] == {"members": 2, "new": 1, "active": None, "lapsed": None}
    (results / "_refresh.json").write_text('{"refresh_date": "2018-01-03", "as_of": "2018-01-02"}')
    assert client.get("/api/backoffice/dashboard", headers=analyst).json()["nightly"] is False  # a newer refresh
