"""The browser tests' served back office: a real granian serving the app, as the README says, on a
database and lake of its own prepared by `site_data.py`; Debian's chromium driven by Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def site(serve_app):
    with serve_app(Path(__file__).with_name("site_data.py"), database="browser",
                   ready="/static/admin/css/base.css") as served:
        yield served


@pytest.fixture
def log_in(browser, site):
    """log_in(username) -> a Playwright page of a new browser context, logged in as that user."""
    from site_data import PASSWORD

    contexts = []

    def open_as(username: str):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{site.url}/backoffice/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{site.url}/backoffice/")
        return page

    yield open_as
    for context in contexts:
        context.close()

