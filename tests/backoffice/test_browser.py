"""The back office in headless Chromium, served by granian: each role sees its pages with the real
data and is refused the others; the customer 360 and the dashboard show what the refresh and the
CLI compute; the earning-rule form finds a product by search. Screenshots go to
var/artifacts/screenshots/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from screenshots import screenshot

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def profile_of(site, customer_id: int) -> dict:
    results = site.home / "lake" / "results"
    row = duckdb.sql(f"SELECT * FROM read_parquet('{results}/customer_profiles/*.parquet') "
                     f"WHERE customer_id = {customer_id}")
    return dict(zip(row.columns, row.fetchall()[0]))


def lake_baskets(site, customer_id: int) -> list[tuple]:
    results = site.home / "lake" / "results"
    return duckdb.sql(f"SELECT basket_id, basket_date FROM read_parquet('{results}/baskets/*.parquet') "
                      f"WHERE customer_id = {customer_id} ORDER BY basket_date DESC, basket_id DESC").fetchall()


def test_each_role_sees_its_pages_masked_as_it_must_and_is_refused_the_others(site, log_in):
    agent = log_in("agent")
    agent.fill("#q", "ADA@example.com")
    agent.click(".bo-search button")
    assert agent.url.endswith("/backoffice/members/1/")
    assert agent.locator("[data-field='Last name']").inner_text() == "Lovelace"
    assert agent.locator("[data-field='Phone']").inner_text() == "+13125550100"
    screenshot(agent, "customer-360-service-agent")

    marketer = log_in("marketer")
    marketer.goto(f"{site.url}/backoffice/members/1/")
    identity = marketer.locator("#panel-identity").inner_text()
    assert "Lovelace" not in identity and "ada@example.com" not in identity and "5550100" not in identity
    assert marketer.locator("[data-field='Last name']").inner_text() == "L•••"
    assert marketer.locator("h1").inner_text().startswith("Member 1")
    screenshot(marketer, "customer-360-marketer-masked")

    maker = log_in("maker")
    refused = maker.goto(f"{site.url}/backoffice/members/1/")
    assert refused.status == 403
    assert "Not allowed" in maker.locator("h1").inner_text() and "Traceback" not in maker.content()
    screenshot(maker, "forbidden-manufacturer")
    assert maker.goto(f"{site.url}/backoffice/dashboard/").status == 403

    manager = log_in("manager")
    assert manager.goto(f"{site.url}/backoffice/members/1/").status == 200
    other = json.loads((site.home / "facts.json").read_text())["other_store_member"]
    refused = manager.goto(f"{site.url}/backoffice/members/{other}/")
    assert refused.status == 403 and "another store" in manager.locator(".errornote").inner_text()

    dpo = log_in("dpo")
    dpo.goto(f"{site.url}/backoffice/audit-log/?member=1")
    rows = dpo.locator("table.bo-table tbody tr").all_inner_texts()
    assert any("agent" in row and "customer 360 page" in row for row in rows)
    assert not any("marketer" in row for row in rows)  # a masked view shows no personal data
    screenshot(dpo, "audit-log")


def test_customer_360_shows_what_the_nightly_refresh_computed_and_the_baskets_with_their_lines(site, log_in):
    computed = profile_of(site, 1)
    page = log_in("agent")
    page.goto(f"{site.url}/backoffice/members/1/")

    assert page.locator("[data-field='pyramid_level']").inner_text() == computed["pyramid_level"]
    assert page.locator("[data-field='rfm_segment']").inner_text() == computed["rfm_segment"]
    assert page.locator("[data-field='lifecycle_stage']").inner_text().startswith(computed["lifecycle_stage"])
    assert page.locator("[data-field='predicted_clv']").inner_text().startswith(f"{computed['predicted_clv']:.2f}")
    assert "refresh of 2018-01-02" in page.locator(".bo-refresh").inner_text()
    assert page.locator("[data-field='pending']").inner_text() == "25"  # the till's 25.00 at 1 point per dollar
    page.click("#panel-till_baskets summary")
    assert "ICE CREAM/MILK/SHERBTS" in page.locator("#panel-till_baskets").inner_text()
    expected = lake_baskets(site, 1)
    shown = page.locator("#panel-lake_baskets tbody tr")
    assert shown.count() == min(len(expected), 500) == 51  # household 1: 51 baskets in 2017
    screenshot(page, "customer-360")

    basket_id, basket_date = expected[0]
    page.click(f"#panel-lake_baskets a:text-is('{basket_id}')")
    lines = page.locator("table.bo-table tbody tr")
    lake = site.home / "lake" / "basket_lines"
    in_lake = duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/*/*.parquet') WHERE basket_id = '{basket_id}'")
    assert lines.count() == in_lake.fetchall()[0][0] > 0
    screenshot(page, "lake-basket")


def test_customer_360_shows_the_list_offers_campaigns_and_surveys_of_the_member(site, log_in):
    shopping_list = json.loads(site.clientele("lists", "show", "1", "--format", "json"))
    on_list = sorted(item["product_id"] for department in shopping_list["departments"] for item in department["items"])
    page = log_in("agent")
    page.goto(f"{site.url}/backoffice/members/1/")

    assert shopping_list["number"] in page.locator("#shopping-list").inner_text()
    shown = page.locator("#panel-offers tr[data-product]").evaluate_all("rows => rows.map(r => r.dataset.product)")
    assert sorted(int(product) for product in shown) == on_list and on_list
    reasons = {"due": "Likely to buy soon (forecast)", "cross_sell": "Chosen for the member (brand cell, traits)"}
    first = shopping_list["departments"][0]["items"][0]
    assert reasons[first["reason"]] in page.locator(f"#panel-offers tr[data-product='{first['product_id']}']").inner_text()
    campaign = page.locator("#panel-campaigns tr[data-campaign]")
    assert campaign.count() == 1 and "Everyone, December 2017" in campaign.inner_text()
    assert campaign.locator(".bo-group").inner_text() in ("treated", "holdout")
    survey = page.locator("#panel-surveys tr[data-survey='store-visit']").inner_text()
    assert "How was your shopping?" in survey and "quality 5, price 4" in survey
    page.locator("#panel-offers").scroll_into_view_if_needed()
    screenshot(page, "customer-360-offers-campaigns-surveys")

    marketer = log_in("marketer")  # the marketer sees the member's campaigns and list, not the complaints
    marketer.goto(f"{site.url}/backoffice/members/1/")
    assert marketer.locator("#panel-campaigns tr[data-campaign]").count() == 1
    assert marketer.locator("#panel-offers").count() == 1 and marketer.locator("#panel-complaints").count() == 0


def test_dashboard_figures_equal_the_reports_of_the_command_line(site, log_in):
    report = json.loads(site.clientele("report", "summary", "--format", "json"))
    liability = json.loads(site.clientele("loyalty", "liability", "--format", "json"))
    page = log_in("analyst")
    page.goto(f"{site.url}/backoffice/dashboard/")

    for row in report["pyramid"]:
        cells = page.locator(f"#panel-pyramid tr[data-level='{row['level']}'] td").all_inner_texts()
        assert cells[1] == str(row["customers"]) and cells[3] == row["window_spend"], row
        assert float(cells[4]) == row["window_spend_share"]
    assert page.locator("#pyramid-rule").inner_text().startswith(report["pyramid_rule"]["window_start"])
    assert page.locator("[data-figure='liability_pending']").inner_text() == str(liability["pending"])
    assert page.locator("[data-figure='liability_available']").inner_text() == str(liability["available"])
    assert f"{report['overview']['customers']} customers" in page.locator(".bo-refresh").inner_text()
    assert page.locator("[data-figure='members']").inner_text() == "2469"  # every Complete Journey household
    assert page.locator("canvas[data-chart]").count() == 3
    assert "computed by the nightly refresh" in page.locator("#computed").inner_text()
    moves = page.locator("#panel-refresh-flows tbody tr td:last-child").all_inner_texts()
    assert sum(int(n) for n in moves) == report["overview"]["customers"]  # every customer of the one refresh
    campaign = page.locator("#panel-campaigns tr[data-campaign]").inner_text()
    assert "Everyone, December 2017" in campaign and "Final" in campaign and "%" in campaign
    csv = page.request.get(f"{site.url}/backoffice/dashboard/pyramid.csv")
    assert csv.ok and csv.text().splitlines()[0] == "level,customers,customer_share,window_spend,window_spend_share"
    screenshot(page, "dashboard")


def test_earning_rule_form_finds_a_product_by_search(site, log_in):
    page = log_in("admin")
    page.goto(f"{site.url}/admin/loyalty/earningrule/add/")
    assert page.locator("#id_product option").count() <= 1  # no drop-down of the whole catalogue
    page.click(".field-product .select2-selection")
    page.fill(".select2-search__field", "26738")
    page.click(".select2-results__option:has-text('26738')")
    assert "26738" in page.locator(".field-product .select2-selection__rendered").inner_text()
    categories = page.locator("#id_category option").all_inner_texts()
    assert "ICE CREAM/MILK/SHERBTS" in categories and len(categories) < 1000
    screenshot(page, "earning-rule-form")


@pytest.mark.parametrize("path", ["/api/docs", "/api/backoffice/docs", "/admin/", "/backoffice/", "/backoffice/dashboard/",
                                  "/backoffice/members/1/"])
def test_pages_load_nothing_from_outside_the_server(site, log_in, path):
    page = log_in("agent" if "members" in path else "analyst")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{site.url}{path}")
    page.wait_for_load_state("networkidle")
    assert page.locator("body").inner_text().strip()  # not a blank page
    assert not EXTERNAL.search(page.content())
    assert asked and all(url.startswith(site.url) or url.startswith("data:") for url in asked)
    if path.endswith("/docs"):
        assert page.locator(".swagger-ui .info .title").count() == 1
        screenshot(page, path.strip("/").replace("/", "-"))


def test_a_marketer_counts_previews_and_exports_a_segment_of_consenting_members(site, log_in):
    segment = "pyramid=vip OR rfm=champions OR lifecycle=stability"
    results = site.home / "lake" / "results"
    expected = duckdb.sql(f"SELECT count(*) FROM read_parquet('{results}/customer_profiles/*.parquet') WHERE "
                          "pyramid_level = 'VIP' OR rfm_segment = 'Champions' OR lifecycle_stage = 'stability'")
    page = log_in("marketer")
    page.goto(f"{site.url}/backoffice/segments/")
    page.fill("#id_expression", "pyramid=tsar")
    page.click("#segment-form button")
    assert "VIP" in page.locator("#segment-error").inner_text()  # the error lists the valid values

    page.fill("#id_expression", segment)
    page.click("#segment-form button")
    shown = int(page.locator("[data-figure='customers']").inner_text())
    cli = site.clientele("export", segment, "--ids-only", "--out", str(site.home / "segment.csv"))
    assert shown == expected.fetchall()[0][0] and f"{shown:,} customers" in " ".join(cli.split())
    assert page.locator("#segment-preview tbody tr").count() == min(shown, 20)
    screenshot(page, "segments")
    export = page.request.get(site.url + page.locator("#segment-export").get_attribute("href"))
    # household 1 is in stability and consents to e-mail; a marketer gets what a campaign needs, no names
    assert export.text().splitlines() == ["customer_id,email", "1,ada@example.com"]
