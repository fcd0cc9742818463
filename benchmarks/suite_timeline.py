"""pytest plugin (`-p suite_timeline`, with benchmarks/ on PYTHONPATH): per test phase, the wall clock and
the CPU seconds of the process's whole tree (the worker, its reaped children and every live descendant:
Spark's JVM, chromium, granian, which `/usr/bin/time` leaves out). One JSON line per phase in
$TIMELINE_DIR/<worker>.jsonl (decision 0131; written by fastsuite3)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

TICK = os.sysconf("SC_CLK_TCK")
SELF = os.getpid()


def _stat(pid: int):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    # fields[0] is state (field 3); utime=14, stime=15, cutime=16, cstime=17 -> index 11..14
    return [int(x) for x in fields[11:15]]


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    kids.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return kids


def tree_cpu() -> float:
    """CPU seconds (user+sys) of this process, its reaped children and all live descendants."""
    u, s, cu, cs = _stat(SELF)
    total = u + s + cu + cs
    todo = _children(SELF)
    while todo:
        pid = todo.pop()
        try:
            total += sum(_stat(pid))
        except (OSError, ValueError):
            continue
        todo.extend(_children(pid))
    return total / TICK


class Timeline:
    def __init__(self, config):
        worker = getattr(config, "workerinput", {}).get("workerid", "main")
        folder = Path(os.environ["TIMELINE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        self.worker = worker
        self.out = open(folder / f"{worker}.jsonl", "a", buffering=1)
        self.write({"event": "start", "t": time.time(), "cpu": tree_cpu()})

    def write(self, row):
        row["worker"] = self.worker
        self.out.write(json.dumps(row) + "\n")

    def _phase(self, item, when):
        t0, c0 = time.time(), tree_cpu()
        yield
        t1, c1 = time.time(), tree_cpu()
        self.write({"event": when, "nodeid": item.nodeid, "t0": t0, "t1": t1, "cpu": c1 - c0})

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        yield from self._phase(item, "setup")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        yield from self._phase(item, "call")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item):
        yield from self._phase(item, "teardown")

    def pytest_collection_finish(self, session):
        self.write({"event": "collected", "t": time.time(), "cpu": tree_cpu(), "n": len(session.items)})

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config):
        self.write({"event": "end", "t": time.time(), "cpu": tree_cpu()})
        self.out.close()


def pytest_configure(config):
    if getattr(config, "workerinput", None) is not None or not config.getoption("numprocesses", None):
        config.pluginmanager.register(Timeline(config), "clientele-timeline")
