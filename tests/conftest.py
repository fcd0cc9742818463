"""Shared fixtures: real lakes in temporary folders, real slices of the Complete Journey, the browser and
the app served by granian for the browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from clientele.config import settings

ROOT = Path(__file__).resolve().parents[1]

# The tests' Spark JVMs compile with C1 alone and collect with the serial collector: a test's Spark
# work is small and short, and a third of its JVM's CPU went to C2 compiling and to the parallel
# collector's threads (the young children's Spark case: 166-172 CPU s by default, 119 so; decision
# 0131). The JIT level changes no result (Java's floating point is strict). Their Spark SQL
# evaluates its expressions interpreted, generating and compiling no Java code per query (whole-stage
# codegen off, the expression factories' NO_CODEGEN): on a test's few hundred rows, compiling each
# query's generated classes cost more than running them (decision 0138). Spark's own tests run
# both paths for the same results. The product's sessions keep the defaults.
os.environ.setdefault("PYSPARK_SUBMIT_ARGS", " ".join((
    "--driver-java-options '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC'",
    "--conf spark.sql.codegen.wholeStage=false --conf spark.sql.codegen.factoryMode=NO_CODEGEN",
    "pyspark-shell")))

# scikit-learn's OpenMP loops (the gradient boosting of the coupon targeting and the next basket) on
# one thread: `make test` runs 2 workers on 2 cores, and each worker's OpenMP team of 2 threads
# spin-waits for a core the other worker (or anything else) holds. test_targeting.py's two model
# tests cost 106 and 104 CPU s on a loaded machine with 2 threads, 9.4 and 6.3 with one (decision
# 0149). The targeting benchmark is run with OMP_NUM_THREADS=1 too (docs/benchmarks.md); no test
# compares a model's scores with stored figures, only with each other's in the same run.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config: pytest.Config) -> None:
    """The users the tests make get their passwords hashed with MD5, as Django's testing docs advise
    ("Speeding up the tests"): the product's PBKDF2 costs 0.6 CPU s a hash by design (its 1,000,000
    iterations), paid on every back-office user a fixture creates, and no test is about the hash's
    strength. The product's hashers stay in the list after it, so a hash they made still checks.
    The app served to the browser tests does the same (tests/served_settings.py)."""
    from django.conf import settings as django_settings

    if django_settings.configured:
        django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                            *django_settings.PASSWORD_HASHERS]


#: A small real slice of the Complete Journey: 40 households of every size of spender.
SLICE_CUSTOMERS = [
    1, 7, 15, 42, 100, 207, 305, 400, 451, 500, 613, 707, 718, 801, 900, 1000, 1023, 1029, 1111, 1200,
    1300, 1430, 1453, 1489, 1519, 1609, 1653, 1700, 1715, 1800, 1900, 2000, 2105, 2200, 2322, 2400,
    2450, 2469, 3, 9,
]


@pytest.fixture(scope="session")
def slice_customers() -> list[int]:
    """The household numbers of the real slice used across the suite."""
    return list(SLICE_CUSTOMERS)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Clientele home (lake, quarantine, spill folder) for one test."""
    monkeypatch.setenv("CLIENTELE_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("CLIENTELE_LAKE", raising=False)
    settings.cache_clear()
    yield tmp_path / "var"
    settings.cache_clear()


@pytest.fixture(scope="session")
def cj_slice_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake holding the real baskets of SLICE_CUSTOMERS, with the reference tables."""
    from clientele.lake.completejourney import import_to_lake
    from clientele.lake.store import Lake

    root = tmp_path_factory.mktemp("cj-slice") / "lake"
    import_to_lake(lake=Lake(root), customers=SLICE_CUSTOMERS)
    return root


@pytest.fixture(scope="session")
def spark_engine():
    """An Ibis connection to Spark in local mode, shared by the whole session (slow to start)."""
    from clientele.engine import connect

    return connect("spark")


@pytest.fixture(scope="session")
def shop_baskets():
    """A year of baskets (to 2017-12-31) of 300 customers buying as the Pareto/NBD says: each at
    their own Poisson rate until an exponential lifetime ends, each with their own typical spend.
    Columns of the refresh's baskets table: customer_id, basket_date, spend."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    start = pd.Timestamp("2017-12-31") - pd.Timedelta(days=364)
    rows = []
    for customer in range(1, 301):
        first = rng.integers(0, 120)
        rate = rng.gamma(2.0, 1 / 30)  # baskets per day: one every 15 days on average
        lifetime = rng.exponential(250.0)
        typical_spend = rng.gamma(4.0, 10.0)
        day = first
        while day <= min(364, first + lifetime):
            rows.append((customer, (start + pd.Timedelta(days=int(day))).date(), typical_spend * rng.gamma(8.0, 1 / 8)))
            day += max(1, int(rng.exponential(1 / rate)))
    return pd.DataFrame(rows, columns=["customer_id", "basket_date", "spend"])


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright, one for the whole session: Playwright's sync API runs
    one instance per thread, so every browser test (back office, portal) shares this one."""
    chromium_path = "/usr/bin/chromium"
    if not Path(chromium_path).exists():
        raise RuntimeError(f"{chromium_path} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # between its calls Playwright marks its loop as running in this thread: without this, the
        # database work of every later test on this process would be refused as async code's
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test gets an id of its own (xdist runs one test per id); under `make test`'s xdist
    (`--dist loadfile`) each worker names its transactional tests for the scheduler below
    (tests/xdist_order.py says why)."""
    from xdist_order import name_transactional, unique_ids

    unique_ids(items)
    if "transactional_ids" in getattr(config, "workerinput", {}):
        name_transactional(config, items)


def pytest_configure_node(node) -> None:
    """xdist's controller tells its workers (whose `dist` option reads "no") where to name them."""
    if node.config.getoption("dist") == "loadfile":
        from xdist_order import ids_folder

        node.workerinput["transactional_ids"] = ids_folder(node.config)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile`, with the transactional tests one unit handed out last (tests/xdist_order.py)."""
    if config.getoption("dist") == "loadfile":
        from xdist_order import scheduler

        return scheduler(config, log)
    return None


def _xdist_worker() -> str:
    """The pytest-xdist worker running this process ("gw0", "gw1"...), "" when the suite runs in one
    process (`make test` runs it on several: whatever a test names outside its tmp_path carries it)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def _own_database(env: dict, suffix: str) -> None:
    """On PostgreSQL, a fresh database of its own (<name>_<suffix>, and _<worker> under xdist, as
    pytest-django names the test database), never the one the tests use nor another worker's; on
    SQLite the served app's home holds its own."""
    url = env.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        env.pop("DATABASE_URL", None)
        return
    import psycopg

    server, _, name = url.rpartition("/")
    own = "_".join(part for part in (name, suffix, _xdist_worker()) if part)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{own}"')
    env["DATABASE_URL"] = f"{server}/{own}"


#: how long a served app may take to answer its first request
SERVER_START_SECONDS = 180


@contextmanager
def _serving(home: Path, setup: Path, database: str, ready: str, extra_env: dict):
    env = os.environ | {"CLIENTELE_HOME": str(home), "PYTHONPATH": f"{ROOT / 'src'}:{setup.parent}:{ROOT / 'tests'}",
                        "DJANGO_SETTINGS_MODULE": "served_settings"} | extra_env
    env.pop("CLIENTELE_LAKE", None)
    _own_database(env, database)
    prepared = subprocess.run([sys.executable, str(setup)], env=env, capture_output=True, text=True, timeout=600)
    if prepared.returncode != 0:
        raise RuntimeError(f"{setup.name} failed: {prepared.stderr}")
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("granian")), "--interface", "wsgi",
                               "clientele.site.wsgi:application", "--workers", "1", "--blocking-threads", "2",
                               "--host", "127.0.0.1", "--port", str(port), "--no-ws"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        # by a deadline, not a count of tries: on a loaded machine (CI, both suites side by side) the
        # server's start took longer than 100 refused connections, and the test then met a closed port
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{url}{ready}", timeout=5)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"granian stopped: {server.stderr.read().decode()}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"granian did not answer {url}{ready} in {SERVER_START_SECONDS} s") from None
                time.sleep(0.2)
        yield Served(url, env, home, prepared.stdout)
    finally:
        server.terminate()
        server.wait(timeout=10)


class Served:
    """The app served by granian: its URL, the environment of its database and home (for commands
    run on them), and what its setup script printed."""

    def __init__(self, url: str, env: dict, home: Path, setup_output: str):
        self.url, self.env, self.home, self.setup_output = url, env, home, setup_output

    def clientele(self, *args: str) -> str:
        """The output of a `clientele` command run on the served app's database and lake."""
        done = subprocess.run([sys.executable, "-m", "clientele", *args], env=self.env, capture_output=True,
                              text=True, timeout=300, check=True)
        return done.stdout


@pytest.fixture(scope="session")
def free_port():
    """free_port() -> a TCP port nobody listens on yet, on 127.0.0.1 (for a server a test starts)."""
    return _free_port


@pytest.fixture(scope="session")
def serve_app(tmp_path_factory):
    """serve_app(setup, database=..., ready=..., env={...}): a context manager serving the app as the
    README does (granian, one worker) on a database and home of its own that the script `setup`
    prepares first (on PostgreSQL a fresh database <DATABASE_URL's name>_<database>[_<xdist worker>]); it yields a
    `Served` once `ready` (a path) answers, and stops the server when left."""

    def serve(setup: Path, *, database: str, ready: str, env: dict | None = None):
        return _serving(tmp_path_factory.mktemp(database) / "var", setup, database, ready, env or {})

    return serve
