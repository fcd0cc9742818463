"""Shared helper of the benchmark scripts: run a command, return its wall time and peak memory."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import time


def run_measured(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of `command` run in a fresh child process."""
    wall, _, peak = run_measured_cpu(command, env)
    return wall, peak


def run_measured_cpu(command: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak resident memory (MB) of `command`.

    CPU seconds drift less than wall time on a shared machine. The figures are this child's own
    (os.wait4), not the largest of every child so far. Linux counts in a child's peak the memory
    of its parent when it was started: measure from a process that holds little.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), command)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU seconds (user + system) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    return f"{platform.node()} · {os.cpu_count()} cores · {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB · Python {platform.python_version()}"
