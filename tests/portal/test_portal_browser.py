"""Issue 25's "done when", in headless Chromium at a phone's size on the served portal (granian, as
the README serves it): Ada signs in with the code the mail server received, sees her points and tier
progress from her real baskets, shows her card (its barcode read back from the screen by zbar),
activates an offer that the till then applies, completes her profile for the bonus, changes a
consent, and gets nothing of Bob's; a reward she redeems is handed over at a till, shown collected on
her phone and on her customer 360. A screenshot of each page: var/artifacts/screenshots/portal-*.png."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from portal_helpers import Mailbox
from site_setup import AGENT_PASSWORD

from clientele.barcodes import card_barcode

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "artifacts" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def portal(serve_app, free_port):
    """The served portal, its facts, and the mailbox of the SMTP server it sends its codes to."""
    mailbox, smtp_port = Mailbox(), free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    with serve_app(Path(__file__).with_name("site_setup.py"), database="portal", ready="/static/portal/portal.css",
                   env={"CLIENTELE_SMTP_HOST": "127.0.0.1", "CLIENTELE_SMTP_PORT": str(smtp_port)}) as served:
        yield served.url, json.loads(served.setup_output.strip().splitlines()[-1]), mailbox
    smtp.stop()


@pytest.fixture(scope="module")
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def checkout(url: str, key: str, receipt: str, card: str) -> dict:
    """A basket of ground coffee (1003) posted by the till to the served API."""
    body = json.dumps({"store_id": 1, "till_id": "T1", "receipt_number": receipt, "card": card,
                       "transacted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
                       "lines": [{"line_no": 1, "product_id": 1003, "quantity": "1", "unit_price": "6.00"}]}).encode()
    request = urllib.request.Request(f"{url}/api/baskets", body, {"Content-Type": "application/json", "X-API-Key": key})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def test_a_member_on_a_phone_signs_in_with_an_emailed_code_and_uses_the_portal(portal, phone):
    url, facts, mailbox = portal
    phone.goto(f"{url}/portal/")
    assert phone.url == f"{url}/portal/sign-in/"
    shot(phone, "portal-sign-in")
    phone.fill("#identifier", "ada@example.org")
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{url}/portal/sign-in/code/")
    shot(phone, "portal-code")
    phone.fill("#code", mailbox.last_code("ada@example.org"))
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{url}/portal/account/")

    # points and tier progress from her real baskets (3 x 120.40 available, 55.25 pending)
    assert phone.inner_text("#available") == "360" and phone.inner_text("#pending") == "55"
    assert "Silver" in phone.inner_text("#next-tier") and "583.55 more spend" in phone.inner_text("#next-tier")
    assert phone.locator("#history li").count() == 4
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone: no sideways scrolling
    shot(phone, "portal-account")
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg is missing: apt-get install -y zbar-tools")
    barcode = SCREENSHOTS / "portal-card-barcode.png"
    phone.locator("#card-barcode").screenshot(path=str(barcode))
    scanned = subprocess.run(["zbarimg", "--quiet", "--raw", str(barcode)], capture_output=True, text=True)
    assert scanned.stdout.split() == [card_barcode(facts["ada"])]

    phone.click(".pt-nav >> text=List & offers")
    assert phone.locator("#list-barcode").get_attribute("data-number") == facts["list"]
    phone.click("[data-offer=coffee-clip] button")
    assert "Offer activated" in phone.inner_text(".pt-msg")
    assert phone.inner_text("[data-offer=coffee-clip] .pt-ok") == "Activated"
    shot(phone, "portal-list")
    answer = checkout(url, facts["till_key"], "browser-1", card_barcode(facts["ada"]))
    assert [(o["code"], o["discount"]) for o in answer["offers"]] == [("coffee-clip", "1.50")]
    phone.reload()
    assert "1.50" in phone.inner_text("#saved")

    phone.click(".pt-nav >> text=Profile")
    for field, value in {"#last_name": "Lovelace", "#birth_date": "1985-12-10", "#address_line": "12 Main Street",
                         "#postal_code": "60601", "#city": "Chicago"}.items():
        phone.fill(field, value)
    phone.click("#profile-form button[type=submit]")
    assert "200 bonus points" in phone.inner_text(".pt-msg")
    phone.click("#consent-marketing-email button")
    assert phone.inner_text("#consent-marketing-email small").startswith("Yes")
    shot(phone, "portal-profile")
    phone.click(".pt-nav >> text=Points")
    assert phone.inner_text("#available") == "560"  # the profile bonus

    phone.click(".pt-nav >> text=Feedback")
    assert len(phone.inner_text("#referral-code")) == 8
    shot(phone, "portal-feedback")
    response = phone.goto(f"{url}/portal/reviews/{facts['bob_review']}/")
    assert response.status == 404 and "Bob" not in phone.content()
    shot(phone, "portal-not-yours")


def signed_in(phone, url: str, identifier: str, mailbox, to: str):
    """The phone's page signed in with `identifier` and the code mailed to `to`, on the account page."""
    phone.goto(f"{url}/portal/sign-in/")
    phone.fill("#identifier", identifier)
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{url}/portal/sign-in/code/")
    phone.fill("#code", mailbox.last_code(to))
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{url}/portal/account/")
    return phone


def test_a_member_on_a_phone_redeems_a_reward_once_with_a_double_tap_and_sees_its_voucher(portal, browser):
    url, facts, mailbox = portal
    context = browser.new_context(**PHONE)
    phone = signed_in(context.new_page(), url, card_barcode(facts["ada"]), mailbox, "ada@example.org")
    before = int(phone.inner_text("#available"))
    assert "more points" in phone.inner_text("#rewards [data-reward=COOKING-CLASS]")

    phone.dblclick("#rewards [data-reward=BAG] button")  # two submits of one redemption
    phone.wait_for_selector("#vouchers")

    assert int(phone.inner_text("#available")) == before - 300
    assert phone.locator("#vouchers li").count() == 1
    voucher = phone.inner_text("#vouchers [data-reward=BAG] .pt-voucher")
    assert len(voucher) == 10 and f"show voucher {voucher} at the till" in phone.inner_text(".pt-msg")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "portal-reward")

    handed = collect(url, facts["till_key"], voucher, "T3")  # the cashier types the voucher off the phone
    phone.reload()

    assert (handed["reward"], handed["replayed"]) == ("Reusable shopping bag", False)
    assert "Collected" in phone.inner_text("#vouchers [data-reward=BAG]")
    assert phone.locator("#vouchers .pt-voucher").count() == 0  # the code is spent: no longer shown
    shot(phone, "portal-reward-collected")
    context.close()

    agent = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    agent.goto(f"{url}/backoffice/")
    agent.fill("#id_username", "agent")
    agent.fill("#id_password", AGENT_PASSWORD)
    agent.click("input[type=submit]")
    agent.goto(f"{url}/backoffice/members/{facts['ada']}/")
    row = agent.inner_text("#redemptions tbody tr:first-child")

    assert "Reusable shopping bag" in row and "store 1, till T3" in row
    assert f"\u2022\u2022\u2022{voucher[-3:]}" in row and voucher not in agent.content()
    agent.locator("#redemptions").scroll_into_view_if_needed()
    shot(agent, "portal-reward-on-customer-360")
    agent.context.close()


def collect(url: str, key: str, voucher: str, till: str) -> dict:
    """The till's collection of a portal voucher, on the served API."""
    body = json.dumps({"store_id": 1, "till_id": till}).encode()
    request = urllib.request.Request(f"{url}/api/vouchers/{voucher.lower()}/collect", body,
                                     {"Content-Type": "application/json", "X-API-Key": key})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def test_a_member_on_a_phone_confirms_a_new_email_with_the_code_sent_to_it(portal, browser):
    url, facts, mailbox = portal
    context = browser.new_context(**PHONE)
    phone = signed_in(context.new_page(), url, "bob@example.org", mailbox, "bob@example.org")
    phone.click(".pt-nav >> text=Profile")
    phone.fill("#email", "bob.new@example.org")
    phone.click("#profile-form button[type=submit]")

    assert "We sent a code to your new e-mail address" in phone.inner_text(".pt-msg")
    assert phone.input_value("#email") == "bob@example.org"  # the old one until confirmed
    assert "bob.new@example.org" in phone.inner_text("#confirm-email")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "portal-confirm-email")
    phone.fill("#confirm-email-code", mailbox.last_code("bob.new@example.org"))
    phone.click("#confirm-email button[type=submit]")

    assert "Your new e-mail address is confirmed" in phone.inner_text(".pt-msg")
    assert phone.input_value("#email") == "bob.new@example.org" and phone.locator("#confirm-email").count() == 0
    context.close()
