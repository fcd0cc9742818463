"""The service desk's back-office pages through Django's test client: the complaint form shows each
missing answer, a refused move or grant is shown on the complaint's page, only agents get in."""

from __future__ import annotations

from desk_builders import complaint_answers, person
from django.test import Client

from clientele.service.models import Complaint


def agent_client(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def test_the_complaint_form_shows_each_missing_answer_and_records_a_complete_one(ada, store, soap, agent):
    client = agent_client(agent)
    refused = client.post("/service/complaints/new/", {"member_number": "42", "channel": "store",
                                                      "cause": "product_quality", "severity": "high",
                                                      "what_happened": "Cracked bar"})
    assert refused.status_code == 422
    page = refused.content.decode()
    assert 'data-error-for="served_by"' in page and "this answer is required" in page
    assert not Complaint.objects.exists()
    answers = complaint_answers() | {"claim_reasonable": "yes", "product_id": str(soap.product_id)}
    recorded = client.post("/service/complaints/new/", answers)
    complaint = Complaint.objects.get()
    assert recorded.status_code == 302 and recorded["Location"] == f"/service/complaints/{complaint.pk}/"
    assert complaint.claim_reasonable is True and complaint.served_by == "cashier Lee"


def test_a_refused_move_or_grant_is_shown_on_the_complaints_page(ada, store, soap, agent):
    from clientele.service import services

    complaint = services.record_complaint(services.ComplaintIn(**complaint_answers()), "sam")
    client = agent_client(agent)
    refused = client.post(f"/service/complaints/{complaint.pk}/", {"status": "closed"})
    assert refused.status_code == 409 and "cannot become closed" in refused.content.decode()
    too_many = client.post(f"/service/complaints/{complaint.pk}/", {"points": "9000"})
    assert too_many.status_code == 409 and "limit of 500" in too_many.content.decode()
    assert client.post(f"/service/complaints/{complaint.pk}/", {"points": "20"}).status_code == 302
    assert client.get("/service/complaints/").status_code == 200


def test_only_service_agents_open_the_desk(db):
    clerk = Client()
    clerk.force_login(person("clerk", None))
    assert clerk.get("/service/complaints/").status_code == 403
    assert Client().get("/service/complaints/").status_code == 302  # to the log-in page
