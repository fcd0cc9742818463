"""One new day refreshed incrementally against the full refresh of the same lake, in the same run.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_incremental_refresh.py \
        --source /work/lakes/synth-100m --work /work/lakes/i24-100m

Copies the synthetic lake `--source` to `--work` (it writes there; `--reuse` keeps a copy made
before), takes its last day out into a file of its own, and then, each in a fresh process (wall
seconds, CPU seconds, peak memory):

1. refreshes days 1..N-1 (a full refresh: no state yet; it keeps the state),
2. puts day N back, as a nightly import does (a new file in the month partition), and refreshes:
   the incremental refresh,
3. refreshes days 1..N in full (`restart`, with the fitted models the incremental refresh used:
   the tables scored with them are compared given the same fitted parameters),
4. compares every result table of 2 and 3 (rows in one and not in the other, every column), and
   every table of their customer-360 files (the ranks ahead too).

Prints a table and the ratio incremental / full; the last line is JSON for machines. Run it under
the shared lock: `flock /work/wt/notes/bench.lock ...`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
DAY_FILE = "import-new-day-0.parquet"
REFRESH_DATE = date(2026, 12, 6)


def child(task: str, lake: Path, memory_limit: str, extra: list[str] | None = None) -> dict:
    """Run one task in a fresh process; its figures plus wall seconds, CPU seconds and peak RSS (MB)."""
    env = dict(os.environ, CLIENTELE_DUCKDB_MEMORY_LIMIT=memory_limit, CLIENTELE_HOME=str(lake.parent))
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--child", task, "--work", str(lake), *(extra or [])],
                               env=env, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{task} on {lake} failed with status {status}")
    figures = json.loads(output.strip().splitlines()[-1])
    return figures | {"wall_s": round(time.perf_counter() - started, 1),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mb": usage.ru_maxrss // 1024}


def run_child(task: str, lake: Path, models: Path | None) -> dict:
    from clientele.refresh import refresh

    if task == "before":
        result = refresh(engine="duckdb", lake=lake, refresh_date=REFRESH_DATE - timedelta(days=1), restart=True)
    elif task == "incremental":
        result = refresh(engine="duckdb", lake=lake, refresh_date=REFRESH_DATE)
    else:
        result = refresh(engine="duckdb", lake=lake, refresh_date=REFRESH_DATE, restart=True, models=models)
    return {"as_of": result.as_of.isoformat(), "mode": result.mode, "steps": result.seconds,
            "cpu_steps": result.cpu_seconds, "customers": result.rows["customer_profiles"],
            "pairs_scored": result.pairs_scored}


def split_last_day(lake: Path) -> date:
    """Take the lake's last day out of its month partition into <lake>/../new-day.parquet; its date."""
    lines = lake / "basket_lines"
    month = sorted(p for p in lines.iterdir() if p.is_dir())[-1]
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    last = con.execute(f"SELECT max(transaction_ts)::DATE FROM read_parquet('{month}/*.parquet')").fetchone()[0]
    aside = lake.parent / "new-day.parquet"
    source = f"read_parquet('{month}/*.parquet')"
    con.execute(f"COPY (SELECT * FROM {source} WHERE transaction_ts >= DATE '{last}') TO '{aside}' "
                "(FORMAT parquet, COMPRESSION zstd)")
    kept = month / "rest.parquet.tmp"
    con.execute(f"COPY (SELECT * FROM {source} WHERE transaction_ts < DATE '{last}') TO '{kept}' "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
    for old in month.glob("*.parquet"):
        old.unlink()
    kept.rename(month / "part-0.parquet")
    return last


def differing_view_rows(con: duckdb.DuckDBPyConnection, first: Path, second: Path) -> dict[str, tuple[int, int]]:
    """Per table of the two customer-360 files (CUSTOMER_TABLES and the ranks ahead): its rows in
    the second, and the rows in one and not the other (every column, duplicates counted; the
    ranks' lists of tied ids compared as sets)."""
    from clientele.analytics.category_ranks import RANKS_AHEAD
    from clientele.analytics.customer_view import CUSTOMER_TABLES

    con.execute("SET enable_progress_bar = false")
    con.execute(f"ATTACH '{first}' AS one (READ_ONLY)")
    con.execute(f"ATTACH '{second}' AS two (READ_ONLY)")
    compared = {}
    for table in [*CUSTOMER_TABLES, RANKS_AHEAD]:
        a, b = (f"(SELECT * REPLACE (list_sort(tied) AS tied) FROM {side}.{table})" if table == RANKS_AHEAD
                else f"{side}.{table}" for side in ("one", "two"))
        rows = con.execute(f"SELECT count(*) FROM {b}").fetchone()[0]
        count = con.execute(f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})) + "
                            f"(SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))").fetchone()[0]
        compared[table] = (rows, count)
    con.execute("DETACH one")
    con.execute("DETACH two")
    return compared


def differing_rows(con: duckdb.DuckDBPyConnection, first: Path, second: Path, table: str) -> tuple[int, int]:
    """Rows of `table` in the results folder `first`, and rows in one of the two folders' tables
    and not in the other's (each read merged, as `read_result` reads it: decision 0124)."""
    from clientele.analytics.results import result_source

    a, b = (f"({result_source(folder, table)})" for folder in (first, second))
    rows = con.execute(f"SELECT count(*) FROM {a}").fetchone()[0]
    differ = con.execute(f"SELECT count(*) FROM ((SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) "
                         f"UNION ALL (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))").fetchone()[0]
    return rows, differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/work/lakes/synth-100m"))
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench" / "incremental" / "lake")
    parser.add_argument("--reuse", action="store_true", help="reuse the copy of a previous run (day split off)")
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--child")
    parser.add_argument("--models", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.work.resolve(), args.models)))
        return
    console, lake = Console(), args.work.resolve()
    if not (args.reuse and (lake.parent / "new-day.parquet").exists()):
        shutil.rmtree(lake.parent, ignore_errors=True)
        lake.parent.mkdir(parents=True)
        started = time.perf_counter()
        shutil.copytree(args.source, lake, ignore=shutil.ignore_patterns("results", "READY"))
        last = split_last_day(lake)
        console.print(f"copied {args.source} and split off {last} in {time.perf_counter() - started:.0f} s")
    shutil.rmtree(lake / "results", ignore_errors=True)
    month = sorted(p for p in (lake / "basket_lines").iterdir() if p.is_dir())[-1]
    (month / DAY_FILE).unlink(missing_ok=True)
    loads = {"start": os.getloadavg()}
    before = child("before", lake, args.memory_limit)
    shutil.copyfile(lake.parent / "new-day.parquet", month / DAY_FILE)
    loads["incremental"] = os.getloadavg()
    incremental = child("incremental", lake, args.memory_limit)
    models = lake.parent / "models"
    shutil.rmtree(models, ignore_errors=True)
    models.mkdir()
    for name in ("models.json", "forecast_models.pkl"):
        shutil.copyfile(lake / "results" / "_state" / name, models / name)
    from clientele.analytics.results import DELTAS
    from clientele.refresh import STEPS

    aside = lake.parent / "results-incremental"
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir()
    for table in STEPS:
        os.replace(lake / "results" / table, aside / table)
        if (lake / "results" / DELTAS / table).exists():  # the night's delta on the kept base (0124)
            (aside / DELTAS).mkdir(exist_ok=True)
            os.replace(lake / "results" / DELTAS / table, aside / DELTAS / table)
    from clientele.analytics.customer_view import VIEW_FILE

    os.replace(lake / "results" / VIEW_FILE, aside / VIEW_FILE)  # the night's 360 file (decision 0130)
    loads["full"] = os.getloadavg()
    full = child("full", lake, args.memory_limit, ["--models", str(models)])
    loads["end"] = os.getloadavg()
    con = duckdb.connect()
    compared = {table: differing_rows(con, aside, lake / "results", table) for table in STEPS}
    compared |= {f"360 file: {table}": rows for table, rows in
                 differing_view_rows(con, aside / VIEW_FILE, lake / "results" / VIEW_FILE).items()}

    table = Table(title=f"One new day ({incremental['as_of']}) on {args.source.name}: incremental against full")
    for column in ("refresh", "mode", "wall s", "CPU s", "peak MB", "slowest steps (s)"):
        table.add_column(column)
    for name, figures in (("days 1..N-1 (full, keeps the state)", before), ("day N, incremental", incremental),
                          ("days 1..N, full", full)):
        slowest = sorted(figures["steps"].items(), key=lambda item: -item[1])[:5]
        table.add_row(name, figures["mode"], f"{figures['wall_s']:.1f}", f"{figures['cpu_s']:.1f}",
                      f"{figures['peak_rss_mb']:,}", ", ".join(f"{k} {v:.1f}" for k, v in slowest))
    console.print(table)
    differ = Table(title="Rows in one refresh and not the other (every column)")
    for column in ("result", "rows", "differ"):
        differ.add_column(column)
    for name, (rows, count) in compared.items():
        differ.add_row(name, f"{rows:,}", f"{count:,}")
    console.print(differ)
    ratio = incremental["wall_s"] / full["wall_s"]
    console.print(f"incremental / full: {ratio:.3f} by wall, {incremental['cpu_s'] / full['cpu_s']:.3f} by CPU; "
                  f"load average {loads}")
    print(json.dumps({"before": before, "incremental": incremental, "full": full, "ratio_wall": round(ratio, 3),
                      "differing_rows": {k: v[1] for k, v in compared.items()}, "loads": loads}))


if __name__ == "__main__":
    main()
