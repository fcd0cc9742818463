"""The tests' Spark settings against others: CPU of a test selection's whole process tree (Spark's JVM
included), the settings alternated, each run in a fresh process (decision 0131's amendment, 0138).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_test_spark_jvm.py "tests/analytics/test_young_children.py -m spark" --rounds 2

With `--trees A B`, the selection is run alternately in each source tree (a copy of the code before a
change, `git archive`, and this one), each with the Spark settings its own tests/conftest.py sets.

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
_JVM = "--driver-java-options '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC'"
_INTERPRETED = "--conf spark.sql.codegen.wholeStage=false --conf spark.sql.codegen.factoryMode=NO_CODEGEN"
#: "default" runs with PySpark's own (no driver options); the last is what tests/conftest.py sets
SETTINGS = {"default": "pyspark-shell",
            "C1 + serial GC": f"{_JVM} pyspark-shell",
            "C1 + serial GC, SQL interpreted": f"{_JVM} {_INTERPRETED} pyspark-shell"}


def tests_cpu(selection: str, submit_args: str | None, root: Path = ROOT) -> float:
    """CPU seconds of the selection's tests (setup, call, teardown), the JVM included, run in the
    source tree `root` (`submit_args` None: the settings its tests/conftest.py sets)."""
    with tempfile.TemporaryDirectory() as timeline:
        env = dict(os.environ, TIMELINE_DIR=timeline, PYTHONPATH=f"{root / 'src'}:{ROOT / 'benchmarks'}")
        env.pop("PYSPARK_SUBMIT_ARGS", None)
        if submit_args is not None:
            env["PYSPARK_SUBMIT_ARGS"] = submit_args
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "suite_timeline", "-p", "no:cacheprovider",
                        *shlex.split(selection)], cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
        return sum(json.loads(line)["cpu"] for file in Path(timeline).glob("*.jsonl")
                   for line in file.read_text().splitlines() if '"nodeid"' in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("selection", help="pytest's arguments: the tests to run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS),
                        help="the settings to alternate (without --trees)")
    parser.add_argument("--trees", nargs="+", type=Path, help="source trees to alternate, each with its own settings")
    args = parser.parse_args()
    variants = ({str(tree): (None, tree.resolve()) for tree in args.trees} if args.trees
                else {name: (SETTINGS[name], ROOT) for name in args.settings})
    runs = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (submit_args, root) in variants.items():
            runs[name].append(round(tests_cpu(args.selection, submit_args, root), 1))
    table = Table("tree" if args.trees else "JVM", "CPU s per run", title=args.selection)
    for name, figures in runs.items():
        table.add_row(name, ", ".join(map(str, figures)))
    Console().print(table)
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
