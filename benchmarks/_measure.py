"""Shared helpers of the benchmark scripts: run a command, return its wall time and peak memory;
log a long run's stages as they end (`StageLog`)."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import resource
import subprocess
import sys
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


def reference_python(name: str, pins: list[str]) -> str:
    """The interpreter of a reference tool's own virtual environment, var/bench-venvs/<name>, made
    (once) with exactly `pins` installed: archived or conflicting references (lifetimes, recordlinkage
    with pandas < 3) never enter the project's own environment."""
    from pathlib import Path

    venv = Path(__file__).resolve().parents[1] / "var" / "bench-venvs" / name
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (one time) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        alone = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # not our packages
        subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True, env=alone)
    return str(python)


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    return f"{platform.node()} · {os.cpu_count()} cores · {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB · Python {platform.python_version()}"


def resident_gb() -> tuple[float, float]:
    """This process's resident memory now and at its peak so far, in GB (Linux: /proc/self/status)."""
    now = 0.0
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024 ** 2
    return now, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


class StageLog:
    """One line per stage's start and end, written and flushed at once (to stderr and, if given, a
    file), so that a long run shows where it is and where its time went: the stage's wall and CPU
    seconds, the run's so far, the resident memory now and at peak, and the load average. CPU time
    is the process's, every thread's (DuckDB's included). `note` adds a line with the same figures
    (used for the sub-steps a library logs)."""

    def __init__(self, path: str | None = None):
        self.started, self.cpu_started = time.perf_counter(), cpu_seconds()
        self.file = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115 - kept open
        self.seconds: dict[str, dict[str, float]] = {}

    def note(self, text: str) -> None:
        now, peak = resident_gb()
        line = (f"{time.strftime('%H:%M:%S')} [{time.perf_counter() - self.started:7.1f} s wall, "
                f"{cpu_seconds() - self.cpu_started:7.1f} s cpu, rss {now:.2f} GB, peak {peak:.2f} GB, "
                f"load {os.getloadavg()[0]:.1f}] {text}")
        for stream in filter(None, (sys.stderr, self.file)):
            print(line, file=stream, flush=True)

    @contextlib.contextmanager
    def stage(self, name: str):
        """Time the block as stage `name`: a line at its start and one at its end (also when it fails)."""
        self.note(f"start {name}")
        wall, cpu = time.perf_counter(), cpu_seconds()
        outcome = "end"
        try:
            yield
        except BaseException:
            outcome = "FAILED"
            raise
        finally:
            spent = {"wall": round(time.perf_counter() - wall, 1), "cpu": round(cpu_seconds() - cpu, 1)}
            self.seconds[name] = spent
            self.note(f"{outcome} {name}: {spent['wall']} s wall, {spent['cpu']} s cpu")

    def logging_handler(self) -> logging.Handler:
        """A logging handler that writes each record as a `note` (a library's progress, timed)."""
        log = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                log.note(f"  {record.name}: {record.getMessage()}")

        return Handler()


def serve_app(command: list[str], port: int, env: dict) -> subprocess.Popen:
    """Start a server of the app (`command`, with `env` over this environment) and return it once it
    answers `GET /api/openapi.json` on `port`; a loaded machine may take minutes to import Django."""
    import http.client

    server = subprocess.Popen(command, env=os.environ | env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server on port {port} stopped (exit {server.returncode})")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/api/openapi.json")
            if probe.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"the server on port {port} did not answer within 180 s")
