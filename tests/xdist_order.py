"""How `make test` hands the suite to its 2 xdist workers (tests/conftest.py plugs it in; decisions
0127, 0131).

pytest-django runs every transactional test (transaction=True, `transactional_db`, `live_server`)
after the others, because such a test ends by flushing the database, the rows the migrations seed
(roles, complaint causes, goodwill limits...) included. In one process that order holds by itself;
under `--dist loadfile` a file is one unit, so a worker ran the files handed to it after a file
holding a transactional test on a flushed database. Here, under `--dist loadfile`, the workers tell
the scheduler which of their tests are transactional, and it makes the transactional tests of each
file a unit of their own, queued after every file: a worker takes one only once every file has been
handed out, so on its own database (each worker has its own) it has run all its other tests first.
Each transactional test then sees what it sees in one process (the database as the last flush left
it) or, the first on its worker, the seeded database it sees when its file is run alone (decision 0131).

The workers name their transactional tests in a file (the controller collects nothing itself and a
test's id is not to be changed); the controller names the file in each worker's `workerinput`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

#: the prefix of the scope of a file's transactional tests (one unit per file, after every file)
TRANSACTIONAL = "(transactional tests, last)"

#: unit -> its cost in CPU seconds of the worker's whole process tree (its Spark JVM, chromium, the
#: served app included), measured in session 19 on 2 workers (SQLite; offers/test_lists.py, hot_calls and the
#: transactional units on PostgreSQL; decision 0131, docs/benchmarks.md):
#: the units are handed out costliest first so that the last ones, which decide when the run ends,
#: are small. A unit not named goes by its number of tests. Only the order of the hand-out depends on it.
HEAVY: dict[str, float] = {
    "tests/analytics/test_incremental_refresh.py": 511,  # 320 of it the Spark test
    "tests/analytics/test_young_children.py": 191,  # 175 the Spark case (the worker's JVM started)
    "tests/analytics/test_profiling_consent.py": 143,  # its Spark refresh; session 23 (load 4-7), 25 in session 19
    "tests/analytics/test_refresh_and_parity.py": 126,  # 109 the Spark case
    "tests/backoffice/test_browser.py": 104,  # 37 the served site's set-up
    "tests/offers/test_targeting.py": 31,  # 232 before decision 0149, both at load 15-18 (82 in session 19)
    "tests/backoffice/test_care_browser.py": 26,
    "tests/offers/test_lists.py": 17,
    "tests/loyalty/test_hot_calls.py": 15,
    "(transactional tests, last) tests/service/test_desk_browser.py": 15,
    "(transactional tests, last) tests/loyalty/test_concurrency.py": 6,
}


def is_transactional(item: pytest.Item) -> bool:
    """pytest-django's own classification (its pytest_collection_modifyitems): the test flushes the
    database at its end."""
    from django.test import TestCase, TransactionTestCase
    from pytest_django.fixtures import validate_django_db

    test_cls = getattr(item, "cls", None)
    if test_cls and issubclass(test_cls, TransactionTestCase):
        return not issubclass(test_cls, TestCase)
    marker = item.get_closest_marker("django_db")
    if marker:
        transaction, reset_sequences, *_ = validate_django_db(marker)
        if transaction or reset_sequences:
            return True
    fixtures = getattr(item, "fixturenames", [])
    return "transactional_db" in fixtures or "live_server" in fixtures


def unique_ids(items: list[pytest.Item]) -> None:
    """Give each item an id of its own. pytest 9.2 builds a test's id from its function's name and its
    parametrize ids, so schemathesis's one test per API operation (`test[GET /api/...]`) all carry
    the function's bare id: xdist runs one test per id, so the 76 others never ran (the 1,062 of 1,138
    of the lead's 2-worker runs). Such an item gets back the id of its name, as pytest < 9.2 gave it."""
    from _pytest.nodeid import NodeId

    counts = Counter(item.nodeid for item in items)
    for item in items:
        if counts[item.nodeid] > 1 and item.parent is not None:
            item._id = NodeId.parse(f"{item.parent.nodeid}::{item.name}")  # noqa: SLF001
    repeated = sorted(nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1)
    if repeated:
        raise pytest.UsageError(f"xdist would run one test of each of these ids, the others never: {repeated[:5]}")


def name_transactional(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker: write the ids of its transactional tests where the controller reads them."""
    folder = Path(config.workerinput["transactional_ids"])
    ids = [item.nodeid for item in items if is_transactional(item)]
    (folder / f"{config.workerinput['workerid']}.json").write_text(json.dumps(ids))


def ids_folder(config: pytest.Config) -> str:
    """On the controller: the folder the workers write their transactional ids into (one per run)."""
    if not hasattr(config, "_clientele_transactional_ids"):
        config._clientele_transactional_ids = tempfile.mkdtemp(prefix="clientele-xdist-")
    return config._clientele_transactional_ids


def queue_order(unit: tuple[str, dict], position: dict[str, int]) -> tuple:
    """The sort key of a unit (scope, its tests' ids) in the queue: the files first, costliest first
    (HEAVY, then by their number of tests, as xdist does), then the files' transactional tests,
    costliest first too, then in the collection's order (`position`: a test's place in it)."""
    scope, tests = unit
    if scope.startswith(TRANSACTIONAL):
        return (True, -HEAVY.get(scope, 0), position[next(iter(tests))])
    return (False, -HEAVY.get(scope, 0), -len(tests))


def scheduler(config: pytest.Config, log):
    """LoadFileScheduling, except that each file's transactional tests are a unit of their own handed
    out after every file, and the units are handed out costliest first (`queue_order`)."""
    from xdist.scheduler import LoadFileScheduling

    class FilesThenTransactional(LoadFileScheduling):
        transactional: set[str] | None = None
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            if self.transactional is None:  # every worker has finished its collection (schedule())
                folder = Path(ids_folder(config))
                self.transactional = {i for f in folder.glob("*.json") for i in json.loads(f.read_text())}
                shutil.rmtree(folder, ignore_errors=True)
            scope = super()._split_scope(nodeid)
            return f"{TRANSACTIONAL} {scope}" if nodeid in self.transactional else scope

        def _assign_work_unit(self, node) -> None:
            if not self.ordered:  # the queue is complete at the first assignment (schedule())
                self.ordered = True
                position = {nodeid: place for place, nodeid in enumerate(self.collection)}
                units = sorted(self.workqueue.items(), key=lambda unit: queue_order(unit, position))
                self.workqueue.clear()
                self.workqueue.update(units)
            super()._assign_work_unit(node)

    return FilesThenTransactional(config, log)
