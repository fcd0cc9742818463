"""The identity pages in headless Chromium: a data steward imports an online-shop contact file that
overlaps the members, resolves, reads a queued pair side by side, accepts one pair and rejects
another, merges Ada's two memberships by hand (the survivor's points become both balances) and
undoes it. Screenshots go to var/artifacts/screenshots/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from screenshots import screenshot


def points_of(page, site, number: int) -> int:
    page.goto(f"{site.url}/backoffice/members/{number}/")
    return int(page.locator("[data-field='available']").inner_text())


def test_a_data_steward_reviews_pairs_merges_by_hand_and_undoes_it(site, log_in):
    subprocess.run([sys.executable, str(Path(__file__).with_name("site_data.py")), "identity"], env=site.env,
                   check=True, timeout=300)
    site.clientele("identity", "import", str(site.home / "identity-shop.csv"), "--source", "online_shop")
    # a strict upper threshold, so that the small seeded file leaves pairs for the reviewer too
    thresholds = {"CLIENTELE_IDENTITY_AUTO_LINK": "0.999999", "CLIENTELE_IDENTITY_REVIEW_FROM": "0.3"}
    subprocess.run([sys.executable, "-m", "clientele", "identity", "resolve"], env=site.env | thresholds, check=True,
                   capture_output=True, timeout=600)
    page = log_in("steward")
    ada, twin = points_of(page, site, 1), points_of(page, site, 899999)
    assert twin == 120

    page.goto(f"{site.url}/backoffice/identity/")
    assert int(page.locator("[data-count='auto_linked']").inner_text()) > 0
    queued = page.locator("#queue tr[data-pair]")
    waiting = queued.count()
    assert waiting >= 2, "the seeded shop file leaves pairs between the thresholds"
    screenshot(page, "identity-queue")
    first = queued.nth(0).get_attribute("data-pair")
    second = queued.nth(1).get_attribute("data-pair")

    page.goto(f"{site.url}/backoffice/identity/pairs/{first}/")
    assert page.locator("#fields tr[data-field]").count() == 8
    assert page.locator("#fields .agreement").all_inner_texts()  # agree / disagree / missing per field
    screenshot(page, "identity-pair")
    page.click("#accept")
    assert f"Pair {first} accepted" in page.locator(".messagelist").inner_text()
    page.goto(f"{site.url}/backoffice/identity/pairs/{second}/")
    page.click("#reject")
    assert f"Pair {second} rejected" in page.locator(".messagelist").inner_text()
    assert page.locator("#queue tr[data-pair]").count() == waiting - 2
    assert page.locator(f"#decided tr[data-pair='{second}'] .status").inner_text() == "rejected"

    page.goto(f"{site.url}/backoffice/identity/merge/?survivor=1&absorbed=899999")
    assert page.locator("#side-by-side tr[data-field='last_name']").inner_text().count("Lovelace") == 2
    page.fill("#reason", "Ada enrolled twice")
    page.click("#merge button")
    assert "into 1" in page.locator(".messagelist").inner_text()
    assert points_of(page, site, 1) == ada + twin
    # the survivor's 360: its profile's completeness, and the number merged into it
    assert page.locator("[data-field='merged-numbers']").inner_text() == "899999"
    assert 0 < float(page.locator("[data-field='completeness']").inner_text()) <= 1
    screenshot(page, "identity-360-merged")
    page.goto(f"{site.url}/backoffice/identity/")
    page.click("#quality-link")
    counts = {name: page.locator(f"[data-count='{name}']").inner_text() for name in ("members", "stale", "review")}
    assert int(counts["members"]) > 0 and int(counts["review"]) == waiting - 2
    assert page.locator("#bands tr[data-band]").count() == 4
    screenshot(page, "identity-quality")
    page.goto(f"{site.url}/backoffice/identity/merge/?survivor=1&absorbed=1")
    page.click("#merge button")
    assert "cannot be merged into itself" in page.locator(".messagelist").inner_text()

    page.goto(f"{site.url}/backoffice/identity/")
    merge_row = page.locator("#merges tr[data-merge]").first
    assert "Ada enrolled twice" in merge_row.inner_text()
    screenshot(page, "identity-merged")
    merge_row.locator("input[name=reason]").fill("two people after all")
    merge_row.locator("button").click()
    assert "undone" in page.locator(".messagelist").inner_text()
    assert (points_of(page, site, 1), points_of(page, site, 899999)) == (ada, twin)

    marketer = log_in("marketer")
    assert marketer.goto(f"{site.url}/backoffice/identity/").status == 403
