"""Shared helper of the benchmark scripts: run a command, return its wall time and peak memory."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import time


def run_measured(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of `command` run in a fresh child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, env={**os.environ, **(env or {})}, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: run the biggest measure first or alone
    return wall, max(peak_kb, before) / 1024


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    return f"{platform.node()} · {os.cpu_count()} cores · {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB · Python {platform.python_version()}"
