"""The data protection officer's page in headless Chromium: an access export downloaded as one
archive, an erasure asked by one officer and approved by another (never by the one who asked), the
audit trail of who viewed a member, and the page refused to a marketer. Screenshots go to
var/artifacts/screenshots/."""

from __future__ import annotations

import json
import zipfile

from screenshots import screenshot

SEEN, ERASED = 11, 21  # two of the site's households


def test_the_officer_exports_one_member_erases_another_with_a_second_approval_and_reads_who_viewed(
        site, log_in, tmp_path):
    agent = log_in("agent")
    agent.goto(f"{site.url}/backoffice/members/{SEEN}/")  # a view of personal data, for the trail

    officer = log_in("dpo")
    officer.goto(f"{site.url}/backoffice/privacy/")
    officer.fill("#export-member", str(SEEN))
    with officer.expect_download() as download:
        officer.click("#export")
    archive = tmp_path / "access.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as opened:
        assert "member.json" in opened.namelist()
        document = json.loads(opened.read("member.json"))
        assert document["member"] == SEEN and document["data"]["identity"][0]["customer_id"] == SEEN

    officer.fill("#erase-member", str(ERASED))
    officer.fill("#reason", "the member asked in writing")
    officer.click("#request-erasure")
    assert f"for member {ERASED}" in officer.locator(".messagelist").inner_text()
    asked = officer.locator("#erasures tbody tr").filter(has_text="the member asked in writing")
    assert asked.locator("button.approve").count() == 0  # the one who asked cannot approve
    screenshot(officer, "privacy-erasure-asked")

    second = log_in("dpo2")
    second.goto(f"{site.url}/backoffice/privacy/")
    second.locator("#erasures tbody tr").filter(has_text="the member asked in writing").locator("button.approve").click()
    assert f"Member {ERASED} erased" in second.locator(".messagelist").inner_text()
    screenshot(second, "privacy-erased")
    assert "Carried out" in second.locator("#erasures tbody tr").filter(has_text="the member asked in writing").inner_text()

    officer.goto(f"{site.url}/backoffice/audit-log/?member={SEEN}")
    assert "agent" in officer.locator("table.bo-table").inner_text()
    screenshot(officer, "privacy-audit-trail")

    marketer = log_in("marketer")
    assert marketer.goto(f"{site.url}/backoffice/privacy/").status == 403
