"""The tests' Spark JVM options against the JVM's defaults: CPU of a test selection's whole process
tree (Spark's JVM included), the two alternated, each run in a fresh process (decision 0131's amendment).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_test_spark_jvm.py "tests/analytics/test_young_children.py -m spark" --rounds 2

Prints a table; the last line is JSON for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
#: what tests/conftest.py sets; "default" runs with PySpark's own (no driver options)
SETTINGS = {"default": "pyspark-shell",
            "C1 + serial GC": "--driver-java-options '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' pyspark-shell"}


def tests_cpu(selection: str, submit_args: str) -> float:
    """CPU seconds of the selection's tests (setup, call, teardown), the JVM included."""
    with tempfile.TemporaryDirectory() as timeline:
        env = dict(os.environ, PYSPARK_SUBMIT_ARGS=submit_args, TIMELINE_DIR=timeline,
                   PYTHONPATH=f"{ROOT / 'src'}:{ROOT / 'benchmarks'}")
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "suite_timeline", *shlex.split(selection)],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return sum(json.loads(line)["cpu"] for file in Path(timeline).glob("*.jsonl")
                   for line in file.read_text().splitlines() if '"nodeid"' in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("selection", help="pytest's arguments: the tests to run")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, submit_args in SETTINGS.items():
            runs[name].append(round(tests_cpu(args.selection, submit_args), 1))
    table = Table("JVM", "CPU s per run", title=args.selection)
    for name, figures in runs.items():
        table.add_row(name, ", ".join(map(str, figures)))
    Console().print(table)
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
