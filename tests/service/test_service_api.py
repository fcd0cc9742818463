"""The service desk through HTTP: the agent's complaint calls, the marketer's survey calls, the
member's survey form; every refusal a problem with its field, never a 500."""

from __future__ import annotations

import pytest
from desk_builders import complaint_answers, member, person
from django.test import Client

from clientele.service.models import Complaint, SurveyAnswer


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict):
    return client.post(f"/api/service{path}", body, content_type="application/json")


@pytest.fixture
def desk(agent) -> Client:
    return logged_in(agent)


def test_an_agent_records_compensates_and_resolves_a_complaint(desk, ada, store, soap):
    created = post(desk, "/complaints", complaint_answers())
    assert created.status_code == 201, created.content
    number = created.json()["id"]
    assert created.json()["returning_customer"] is False and created.json()["status"] == "new"
    for status in ("acknowledged", "in_progress", "resolved"):
        assert post(desk, f"/complaints/{number}/status", {"status": status}).status_code == 200
    goodwill = post(desk, f"/complaints/{number}/goodwill", {"points": 200})
    assert goodwill.json() | {"id": 0} == {"id": 0, "kind": "points", "points": 200, "amount": None,
                                           "percent": None, "offer_code": None, "valid_until": None,
                                           "given_by": "sam", "approved_by": "", "replayed": False}
    assert post(desk, f"/complaints/{number}/goodwill", {"points": 200}).json()["replayed"] is True
    assert post(desk, f"/complaints/{number}/satisfaction", {"score": 5}).json()["resolution_satisfaction"] == 5
    shown = desk.get("/api/service/members/42/complaints").json()
    assert shown[0]["compensations"][0]["points"] == 200


def test_a_complaint_missing_answers_gets_a_problem_per_field(desk, ada, store, soap):
    refused = post(desk, "/complaints", complaint_answers(what_happened="", served_by="", cause="weather"))
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_complaint"
    assert set(refused.json()["fields"]) == {"what_happened", "served_by", "cause"}
    missing = post(desk, "/complaints", {"member_number": 42})
    assert missing.status_code == 422 and {"channel", "what_happened"} <= set(missing.json()["fields"])
    assert not Complaint.objects.exists()


@pytest.mark.parametrize("path, body, status, code", [
    ("/complaints/{id}/status", {"status": "closed"}, 409, "transition_refused"),
    ("/complaints/{id}/goodwill", {"points": 900}, 403, "goodwill_above_limit"),
    ("/complaints/{id}/goodwill", {"points": 0}, 422, "invalid_request"),
    ("/complaints/999/status", {"status": "acknowledged"}, 404, "unknown_complaint"),
    ("/complaints/{id}/assign", {"agent": "nobody"}, 400, "service_error"),
])
def test_refusals_are_problems_with_their_code(desk, ada, store, soap, path, body, status, code):
    number = post(desk, "/complaints", complaint_answers()).json()["id"]
    refused = post(desk, path.format(id=number), body)
    assert (refused.status_code, refused.json()["code"]) == (status, code)


def test_a_supervisor_grants_an_agents_request_above_the_agents_limit(agent, supervisor, ada, store, soap):
    number = post(logged_in(agent), "/complaints", complaint_answers()).json()["id"]
    granted = post(logged_in(supervisor), f"/complaints/{number}/goodwill", {"points": 900, "requested_by": "sam"})
    assert (granted.json()["given_by"], granted.json()["approved_by"]) == ("sam", "sue")


def test_only_service_staff_reach_the_desk(db, ada):
    assert Client().get("/api/service/complaints").status_code == 401
    assert logged_in(person("clerk", None)).get("/api/service/complaints").status_code == 401


def test_the_service_api_is_documented(desk):
    schema = desk.get("/api/service/openapi.json").json()
    assert {"/api/service/complaints", "/api/service/complaints/{complaint_id}/goodwill",
            "/api/service/surveys/{code}/results", "/api/service/answers/{token}",
            "/api/service/win-back-lists"} <= set(schema["paths"])


@pytest.fixture
def marketer(db) -> Client:
    return logged_in(person("mia", "marketer", "add_survey"))


SURVEY = {"code": "winter", "title": "Our store this winter", "opens_at": "2026-11-01T00:00:00Z",
          "closes_at": "2027-01-01T00:00:00Z", "attributes": {"quality": 3, "price": 1}}


def test_a_marketer_runs_a_survey_that_members_answer_through_their_link(marketer, store):
    for number in range(1, 6):
        member(number)
    assert post(marketer, "/surveys", SURVEY).status_code == 201
    invited = post(marketer, "/surveys/winter/invitations", {"sample_size": 3, "seed": 1}).json()
    assert len(invited) == 3 and invited[0]["link"].endswith(f"/survey/{invited[0]['token']}")
    for invitation, score in zip(invited, (5, 4, 4)):
        answer = Client().post(f"/api/service/answers/{invitation['token']}",
                               {"overall": score, "ratings": {"quality": score, "price": 3}},
                               content_type="application/json")
        assert answer.status_code == 201
    again = Client().post(f"/api/service/answers/{invited[0]['token']}", {"overall": 1, "ratings": {}},
                          content_type="application/json")
    assert (again.status_code, again.json()["code"]) == (409, "already_answered")
    results = marketer.get("/api/service/surveys/winter/results").json()
    assert results["answers"] == 3
    assert results["simple_mean"]["mean"] == pytest.approx((4 + 3.5 + 3.5) / 3)
    assert results["weighted_index"]["mean"] == pytest.approx((18 / 4 + 15 / 4 + 15 / 4) / 3)


def test_the_survey_form_is_a_plain_page_that_refuses_a_missing_score_and_a_second_answer(marketer, store):
    member(1)
    post(marketer, "/surveys", SURVEY)
    token = post(marketer, "/surveys/winter/invitations", {"sample_size": 1}).json()[0]["token"]
    page = Client().get(f"/survey/{token}")
    assert page.status_code == 200 and b'name="rating-quality"' in page.content
    incomplete = Client().post(f"/survey/{token}", {"rating-quality": "5", "overall": "5"})
    assert incomplete.status_code == 422 and b"rate price from 1 to 5" in incomplete.content
    assert not SurveyAnswer.objects.exists()
    done = Client().post(f"/survey/{token}", {"rating-quality": "5", "rating-price": "4", "overall": "5"})
    assert done.status_code == 200 and b"Thank you" in done.content
    assert Client().get(f"/survey/{token}").status_code == 409
    assert Client().get("/survey/forged-token").status_code == 404
