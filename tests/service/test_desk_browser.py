"""The service desk in headless Chromium against a live server: an agent records a complaint from
the customer 360 (each missing answer shown on the form), moves it and gives goodwill points and a
voucher; the queue shows the late first; a member answers a survey on a phone-sized screen, once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from desk_builders import complaint_answers, member, person
from django.contrib.auth.models import Permission

from clientele.loyalty import ledger
from clientele.service import services

PASSWORD = "x-long-password"
#: where the pages are saved for a person to look at (git-ignored), as in tests/backoffice
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "screenshots"


@pytest.fixture
def browser(browser, monkeypatch):
    """The session's chromium (a second Playwright in this thread would be refused: its loop runs)."""
    # the test's own database writes happen while Playwright's loop runs in this thread
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return browser


@pytest.fixture
def desk_agent(transactional_db):
    # without personal data: a view of it is written to the append-only audit log, which the
    # database refuses to flush between transactional tests
    agent = person("sam", "service agent", "add_complaint")
    agent.groups.get().permissions.remove(*Permission.objects.filter(codename="view_personal_data"))
    agent.user_permissions.add(*Permission.objects.filter(content_type__app_label="backoffice",
                                                          codename__in=["view_customer_360", "view_all_stores"]))
    return agent


def logged_in(browser, live_server, username: str):
    page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
    page.goto(f"{live_server.url}/service/complaints/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/service/complaints/")
    return page


def test_an_agent_records_a_complaint_from_the_customer_360_and_compensates_it(browser, live_server, desk_agent,
                                                                             store, soap):
    member(42)
    late = services.record_complaint(services.ComplaintIn(**complaint_answers(severity="critical")), "sue",
                                     received_at=ledger.now_utc() - timedelta(hours=5))
    page = logged_in(browser, live_server, "sam")
    assert page.locator("#queue tbody tr").first.get_attribute("data-complaint") == str(late.pk)
    assert "late" in page.locator("#queue tbody tr").first.inner_text()

    page.goto(f"{live_server.url}/backoffice/members/42/")
    page.locator("#panel-complaints a.button").click()
    page.fill("#id_what_happened", "The soap bar was cracked")
    page.select_option("#id_channel", "store")
    page.click("#complaint-form input[type=submit]")
    assert page.locator("[data-error-for='served_by']").inner_text() == "this answer is required"
    assert page.locator("[data-error-for='wanted_resolution']").is_visible()
    for field, text in (("how_it_happened", "Opened at home"), ("why_unhappy", "Broken bar"),
                        ("served_by", "cashier Lee"), ("wanted_resolution", "A new bar")):
        page.fill(f"#id_{field}", text)
    page.select_option("#id_claim_reasonable", "yes")
    page.fill("#id_product_id", str(soap.product_id))
    page.click("#complaint-form input[type=submit]")
    assert page.locator("[data-field='status']").inner_text() == "New"

    page.select_option("#status", "acknowledged")
    page.click("#status-form input[type=submit]")
    assert page.locator("[data-field='status']").inner_text() == "Acknowledged"
    page.fill("#points", "900")
    page.click("#goodwill-form input[type=submit]")
    assert "above sam's limit of 500" in page.locator(".errornote").inner_text()
    page.fill("#points", "200")
    page.click("#goodwill-form input[type=submit]")
    assert "200 points by sam" in page.locator("#compensations").inner_text()
    assert [row.split("\t")[3] for row in page.locator("#events tbody tr").all_inner_texts()] == ["new", "acknowledged"]
    page.goto(f"{live_server.url}/backoffice/members/42/")
    assert "200 points" in page.locator("#panel-complaints").inner_text()


def test_an_agent_gives_a_voucher_from_the_complaint_page_and_the_customer_360_shows_it(
        browser, live_server, desk_agent, store, soap):
    member(42)
    complaint = services.record_complaint(services.ComplaintIn(**complaint_answers()), "sam")
    page = logged_in(browser, live_server, "sam")
    page.goto(f"{live_server.url}/service/complaints/{complaint.pk}/")
    assert "your limit: 10.00 or 10.00%" in page.locator("#voucher-form").inner_text()
    page.fill("#voucher_value", "25")
    page.click("#voucher-form input[type=submit]")
    assert "above sam's limit of 10.00" in page.locator(".errornote").inner_text()
    page.fill("#voucher_value", "5")
    page.select_option("#voucher_unit", "percent")
    page.fill("#valid_days", "14")
    page.click("#voucher-form input[type=submit]")
    given = page.locator("#compensations").inner_text()
    assert f"Voucher: 5.00% off (offer complaint-{complaint.pk}-voucher" in given and "by sam" in given
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "complaint-voucher.png"), full_page=True)
    page.goto(f"{live_server.url}/backoffice/members/42/")
    assert f"voucher 5.00% off (complaint-{complaint.pk}-voucher, until" in page.locator("#panel-complaints").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "customer-360-voucher.png"), full_page=True)


def test_a_member_answers_a_survey_on_a_phone_once(browser, live_server, transactional_db):
    member(7)
    services.create_survey(services.SurveyIn("winter", "Our store this winter", datetime(2026, 11, 1, tzinfo=timezone.utc),
                                             datetime(2030, 1, 1, tzinfo=timezone.utc), {"quality": 3, "price": 1}), "mia")
    token = services.invite("winter", 1)[0].token
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{live_server.url}/survey/{token}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    phone.check("input[name='rating-quality'][value='5']")
    phone.check("input[name='overall'][value='5']")
    phone.click("button[type=submit]")
    assert "rate price from 1 to 5" in phone.locator("#rating-price .problem").inner_text()
    assert phone.locator("input[name='rating-quality'][value='5']").is_checked()  # what was chosen is kept
    phone.check("input[name='rating-price'][value='4']")
    phone.click("button[type=submit]")
    assert phone.locator("h1").inner_text() == "Thank you"
    phone.goto(f"{live_server.url}/survey/{token}")
    assert "already answered" in phone.locator("[role=alert]").inner_text()
    result = services.survey_results("winter")
    assert (result["answers"], result["attributes"]["price"]["mean"]) == (1, 4.0)
