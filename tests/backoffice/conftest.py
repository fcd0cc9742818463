"""The browser tests' served back office: a real granian serving the app, as the README says, on a
database and lake of its own prepared by `site_data.py`; Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Site:
    url: str
    env: dict
    home: Path

    def clientele(self, *args: str) -> str:
        """The output of a `clientele` command run on the served site's database and lake."""
        done = subprocess.run([sys.executable, "-m", "clientele", *args], env=self.env, capture_output=True,
                              text=True, timeout=300, check=True)
        return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _own_database(env: dict) -> None:
    """On PostgreSQL, a fresh database of its own (<name>_browser), never the one the tests use."""
    url = env.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        env.pop("DATABASE_URL", None)
        return
    import psycopg

    server, _, name = url.rpartition("/")
    browser_db = f"{name}_browser"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{browser_db}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{browser_db}"')
    env["DATABASE_URL"] = f"{server}/{browser_db}"


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Site:
    home = tmp_path_factory.mktemp("served") / "var"
    env = os.environ | {"CLIENTELE_HOME": str(home), "PYTHONPATH": str(ROOT / "src"),
                        "DJANGO_SETTINGS_MODULE": "clientele.site.settings"}
    env.pop("CLIENTELE_LAKE", None)
    _own_database(env)
    subprocess.run([sys.executable, str(Path(__file__).with_name("site_data.py"))], env=env, check=True, timeout=600)
    port = _free_port()
    granian = Path(sys.executable).with_name("granian")
    server = subprocess.Popen([str(granian), "--interface", "wsgi", "clientele.site.wsgi:application", "--workers", "1",
                               "--blocking-threads", "2", "--host", "127.0.0.1", "--port", str(port), "--no-ws"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/static/admin/css/base.css", timeout=1)
            break
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"granian stopped: {server.stderr.read().decode()}") from None
            time.sleep(0.2)
    yield Site(url, env, home)
    server.terminate()
    server.wait(timeout=10)


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

