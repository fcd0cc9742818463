"""Issue 19 in headless Chromium on the served back office: a member's shopping list shown and
printed, its barcode read back from the rendered page by zbar; a manufacturer's login sees its own
anonymised report (and exports it), never another manufacturer's, never a member's page.
Screenshots go to var/artifacts/screenshots/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from screenshots import SCREENSHOTS, screenshot

SETUP = """
import json, django
django.setup()
from clientele.backoffice.services import add_user
from clientele.catalog.models import Product
from clientele.offers.models import ManufacturerAccount, ManufacturerLogin, ShoppingList
from django.contrib.auth.models import User
from site_data import PASSWORD, PRODUCT
ours = Product.objects.get(product_id=PRODUCT).manufacturer_id
theirs = Product.objects.exclude(manufacturer_id=ours).exclude(manufacturer_id=None).values_list(
    "manufacturer_id", flat=True).order_by("manufacturer_id").first()
mine = ManufacturerAccount.objects.get_or_create(manufacturer_id=ours, defaults={"name": "Our Dairy Co"})[0]
other = ManufacturerAccount.objects.get_or_create(manufacturer_id=theirs, defaults={"name": "Other Foods Inc"})[0]
ManufacturerLogin.objects.get_or_create(user=User.objects.get(username="maker"), defaults={"account": mine})
if not User.objects.filter(username="maker2").exists():
    add_user("maker2", PASSWORD, "manufacturer")
ManufacturerLogin.objects.get_or_create(user=User.objects.get(username="maker2"), defaults={"account": other})
listed = ShoppingList.objects.filter(status="current").select_related("member").order_by("member__customer_id").first()
print(json.dumps({"ours": ours, "theirs": theirs, "number": listed.number, "member": listed.member.customer_id}))
"""


@pytest.fixture(scope="module")
def offers_site(site):
    """The served site with its shopping lists generated and two manufacturers, each with a login."""
    site.clientele("lists", "generate")
    done = subprocess.run([sys.executable, "-c", SETUP], env=site.env | {"PYTHONPATH": site.env["PYTHONPATH"] + ":"
                                                                          + str(__import__("pathlib").Path(__file__).parent)},
                          capture_output=True, text=True, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_members_list_is_shown_and_printed_and_its_barcode_scans_back_to_the_list_number(offers_site, site, log_in,
                                                                                          browser):
    marketer = log_in("marketer")
    marketer.goto(f"{site.url}/backoffice/offers/members/{offers_site['member']}/list/")
    assert offers_site["number"] in marketer.locator("h1 + p").inner_text()
    assert marketer.locator(".bo-table tbody tr").count() >= 1
    screenshot(marketer, "offers-member-list")

    marketer.goto(f"{site.url}/admin/offers/shoppinglist/{offers_site['number']}/print/")
    assert marketer.locator("#barcode").get_attribute("data-number") == offers_site["number"]
    assert marketer.locator("#barcode svg").is_visible()
    screenshot(marketer, "offers-printed-list")
    if shutil.which("zbarimg") is None:
        pytest.skip("zbar-tools is not installed: apt-get install -y zbar-tools")
    # The printed page as a printer renders it (4 dots per CSS pixel, about 400 dpi), scanned by zbar.
    printer = browser.new_context(device_scale_factor=4)
    try:
        page = printer.new_page()
        page.set_content(marketer.content())
        image = SCREENSHOTS / "offers-printed-barcode.png"
        page.locator("#barcode").screenshot(path=str(image))
    finally:
        printer.close()
    scanned = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True)
    assert scanned.stdout.split() == [offers_site["number"]]


def test_a_manufacturer_sees_and_exports_only_its_own_anonymised_report(offers_site, site, log_in):
    maker = log_in("maker")
    maker.click(".bo-nav >> text=Your report")
    assert maker.url.startswith(f"{site.url}/backoffice/offers/manufacturer/report/")
    maker.goto(f"{site.url}/backoffice/offers/manufacturer/report/?from=2017-01-01&to=2017-12-31")
    assert "Our Dairy Co" in maker.locator("h1").inner_text()
    shown = maker.locator("#report tbody tr").count()
    assert shown > 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    maker.screenshot(path=str(SCREENSHOTS / "offers-manufacturer-report.png"))  # the top: the report is long
    with maker.expect_download() as download:
        maker.click("#export-csv")
    exported = pd.read_csv(download.value.path())
    expected = subprocess.run([sys.executable, "-m", "clientele", "offers", "report", "--manufacturer",
                               str(offers_site["ours"]), "--from", "2017-01-01", "--to", "2017-12-31", "--out",
                               str(SCREENSHOTS / "ours.csv")], env=site.env, capture_output=True, text=True, timeout=300)
    assert expected.returncode == 0, expected.stderr
    assert exported.equals(pd.read_csv(SCREENSHOTS / "ours.csv"))
    assert len(exported) == shown
    assert not {"customer_id", "member", "household_key"} & set(exported.columns)
    with maker.expect_download() as download:
        maker.click("#export-parquet")
    assert pd.read_parquet(download.value.path()).shape == exported.shape

    # another manufacturer's report: no URL shows it (the page takes no manufacturer from the request)
    maker.goto(f"{site.url}/backoffice/offers/manufacturer/report/?from=2017-01-01&to=2017-12-31"
               f"&manufacturer={offers_site['theirs']}")
    assert "Our Dairy Co" in maker.locator("h1").inner_text()
    assert maker.locator("#report tbody tr").count() == shown
    other = log_in("maker2")
    other.goto(f"{site.url}/backoffice/offers/manufacturer/report/?from=2017-01-01&to=2017-12-31")
    assert "Other Foods Inc" in other.locator("h1").inner_text()

    # nor any member's page
    for path in (f"/backoffice/members/{offers_site['member']}/", f"/backoffice/offers/members/{offers_site['member']}/list/",
                 f"/admin/offers/shoppinglist/{offers_site['number']}/print/", "/backoffice/members/"):
        response = maker.goto(f"{site.url}{path}")
        assert response.status == 403, path
    screenshot(maker, "offers-manufacturer-refused")
