"""Does the refresh give the same results twice? Two refreshes of the same lake, every table compared.

    .venv/bin/python benchmarks/check_repeatable.py [--size 1m] [--lakes var/bench]

Runs `clientele refresh` on DuckDB twice on one synthetic lake of benchmarks/bench_refresh.py (made
if missing), keeps the first run's results aside, and counts per result table the rows that are in
one run and not in the other (EXCEPT ALL both ways, every column compared). Engines add floats in
the order their threads meet the rows, so a refresh that sums money as floats differs between runs
in the last bits, and customers with equal spends swap ranks. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from bench_refresh import ROOT, ensure_lake
from clientele.analytics.results import result_source, results_dir
from clientele.refresh import refresh


def differing_rows(first: Path, second: Path, table: str) -> tuple[int, int]:
    """Rows of `table` in the results folder `first` (its row count) and rows in one run and not in
    the other (each read merged, as `read_result` reads it: decision 0124)."""
    con = duckdb.connect()
    a, b = (f"({result_source(folder, table)})" for folder in (first, second))
    rows = con.execute(f"SELECT count(*) FROM {a}").fetchone()[0]
    differ = con.execute(
        f"SELECT count(*) FROM ((SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) "
        f"UNION ALL (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
    ).fetchone()[0]
    return rows, differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", help="synthetic lake size of bench_refresh (1m, 10m, 100m)")
    parser.add_argument("--lakes", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--keep", action="store_true", help="keep the first run's results in <lake>/results-first-run")
    args = parser.parse_args()
    lake = ensure_lake(args.size, args.lakes)
    kept = lake / "results-first-run"
    day, console = date.today(), Console()
    refresh(engine="duckdb", lake=lake, refresh_date=day, restart=True, console=console)  # its progress bar
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(results_dir(lake), kept)
    refresh(engine="duckdb", lake=lake, refresh_date=day, restart=True, console=console)
    table = Table(title=f"Two refreshes of the {args.size} lake, rows that differ")
    for column in ("result", "rows", "rows that differ"):
        table.add_column(column, justify="left" if column == "result" else "right")
    total = 0
    for folder in sorted(p for p in kept.iterdir() if p.is_dir() and not p.name.startswith("_")):
        rows, differ = differing_rows(kept, results_dir(lake), folder.name)
        total += differ
        table.add_row(folder.name, f"{rows:,}", f"{differ:,}")
    if not args.keep:
        shutil.rmtree(kept)
    console.print(table)
    print(f"rows that differ between the two runs, all tables: {total:,}")


if __name__ == "__main__":
    main()
