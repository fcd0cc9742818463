"""Generic CSV import throughput against plain DuckDB reading the same file, in the same run.

    .venv/bin/python benchmarks/bench_csv_import.py [--copies 4] [--runs 3]

The file is the Complete Journey's 1.47M basket lines written as CSV `--copies` times (basket ids
made unique per copy), with 0.1% of rows spoiled so the quarantine path is exercised. Plain DuckDB
is measured two ways: reading the CSV (read_csv, count) and converting it to Parquet (the same kind
of output our import writes). Target (issue 2): our throughput >= 0.5 x plain DuckDB. Each run
measures the reference and our import back to back; the table shows the best of the runs, the
JSON also each run's ratios and their median.

`--typed-failures` also makes 0.1% of the lines negative quantities on a sale and repeats 0.01%
of them: rows the import finds only after typing them, which cost it a second, numbered scan.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from _measure import machine, run_measured_cpu  # noqa: E402

from clientele.lake.completejourney import data_dir  # noqa: E402

CLIENTELE = str(Path(sys.executable).parent / "clientele")


def make_csv(path: Path, copies: int, typed_failures: bool = False) -> int:
    source = data_dir() / "transactions.parquet"
    quantity = "CASE WHEN hash(c, basket_id, product_id) % 1000 = 1 THEN -quantity ELSE quantity END" if typed_failures else "quantity"
    repeats = "WHERE hash(c, basket_id, product_id) % 10000 = 2" if typed_failures else "WHERE false"
    duckdb.sql(f"""
        COPY (
            WITH lines AS (SELECT * FROM read_parquet('{source}'), range({copies}) AS r(c))
            SELECT * FROM (SELECT * FROM lines UNION ALL SELECT * FROM lines {repeats})
        ) TO '{path}.tmp.parquet' (FORMAT parquet)
    """)
    duckdb.sql(f"""
        COPY (
            SELECT c || '-' || basket_id AS basket_id, store_id, transaction_timestamp AS transaction_ts, product_id,
                   {quantity} AS quantity, CASE WHEN hash(c, basket_id, product_id) % 1000 = 0 THEN 'n/a'
                                  ELSE CAST(round(sales_value, 2) AS VARCHAR) END AS sales_value,
                   retail_disc, coupon_disc, coupon_match_disc, household_id
            FROM read_parquet('{path}.tmp.parquet')
        ) TO '{path}' (FORMAT csv, HEADER true)
    """)
    Path(f"{path}.tmp.parquet").unlink()
    return duckdb.sql(f"SELECT count(*) FROM read_csv('{path}')").fetchall()[0][0]


TIMED_STATEMENT = """
import json, sys, time, resource, duckdb
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
started, before = time.perf_counter(), cpu()
con.execute(sys.argv[1]).fetchall()
print(json.dumps([time.perf_counter() - started, cpu() - before]))
"""


def timed(sql: str) -> tuple[float, float]:
    """Wall and CPU seconds of one DuckDB statement, timed inside a child process of its own.

    Not in this process: a child started later would count this process's memory (DuckDB's buffers)
    in its own peak (Linux keeps the pre-exec high-water mark in ru_maxrss), which inflated the
    import's peak memory figure."""
    output = subprocess.run([sys.executable, "-c", TIMED_STATEMENT, sql], check=True, capture_output=True, text=True)
    wall, cpu = json.loads(output.stdout.strip().splitlines()[-1])
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--typed-failures", action="store_true", help="also rows that fail a check once typed, and repeats")
    parser.add_argument("--runs", type=int, default=2, help="reference and import measured back to back this many times")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-csv-"))
    try:
        csv_file = work / "pos.csv"
        # in a child process of its own, like the reference below: this process stays small
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            lines = pool.submit(make_csv, csv_file, args.copies, args.typed_failures).result()
        size_mb = csv_file.stat().st_size / 2**20
        # each run measures the reference and then our import, back to back: a ratio per run
        reads, conversions, ours = [], [], []
        for attempt in range(args.runs):
            reads.append(timed(f"SELECT count(*) FROM read_csv('{csv_file}')"))
            conversions.append(timed(
                f"COPY (SELECT * FROM read_csv('{csv_file}')) TO '{work}/plain-{attempt}.parquet' (FORMAT parquet)"))
            ours.append(run_measured_cpu([CLIENTELE, "import", "transactions", str(csv_file), "--format", "json"],
                                         {"CLIENTELE_HOME": str(work / f"home-{attempt}")}))
        read_only, read_cpu = min(w for w, _ in reads), min(c for _, c in reads)
        to_parquet, to_parquet_cpu = min(w for w, _ in conversions), min(c for _, c in conversions)
        ours_wall, ours_cpu, peak = min(w for w, _, _ in ours), min(c for _, c, _ in ours), max(p for _, _, p in ours)
        per_run = [{"wall_ratio": round(conversion[0] / mine[0], 3), "cpu_ratio": round(conversion[1] / mine[1], 3),
                    "ours_wall": round(mine[0], 2), "ours_cpu": round(mine[1], 2),
                    "duckdb_wall": round(conversion[0], 2), "duckdb_cpu": round(conversion[1], 2)}
                   for conversion, mine in zip(conversions, ours)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = {
        "machine": machine(),
        "lines": lines,
        "csv_mb": round(size_mb),
        "clientele_import_seconds": round(ours_wall, 2),
        "clientele_lines_per_second": round(lines / ours_wall),
        "clientele_peak_mb": round(peak),
        "duckdb_read_csv_seconds": round(read_only, 2),
        "duckdb_read_csv_to_parquet_seconds": round(to_parquet, 2),
        "ratio_vs_read_csv": round(read_only / ours_wall, 3),
        "ratio_vs_read_csv_to_parquet": round(to_parquet / ours_wall, 3),
        "clientele_cpu_seconds": round(ours_cpu, 2),
        "duckdb_read_csv_cpu_seconds": round(read_cpu, 2),
        "duckdb_read_csv_to_parquet_cpu_seconds": round(to_parquet_cpu, 2),
        "cpu_ratio_vs_read_csv": round(read_cpu / ours_cpu, 3),
        "cpu_ratio_vs_read_csv_to_parquet": round(to_parquet_cpu / ours_cpu, 3),
        "runs": per_run,
        "median_wall_ratio_of_runs": statistics.median(r["wall_ratio"] for r in per_run),
        "median_cpu_ratio_of_runs": statistics.median(r["cpu_ratio"] for r in per_run),
    }
    table = Table(title=f"CSV import of {lines:,} lines ({size_mb:,.0f} MB)")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_column("lines/s", justify="right")
    table.add_column("our throughput / theirs", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("by CPU: ours / theirs", justify="right")
    table.add_row("clientele import transactions (validate, dedupe, quarantine, Parquet)", f"{ours_wall:.2f}",
                  f"{lines / ours_wall:,.0f}", "1", f"{ours_cpu:.2f}", "1")
    table.add_row("duckdb read_csv (count)", f"{read_only:.2f}", f"{lines / read_only:,.0f}", f"{read_only / ours_wall:.2f}",
                  f"{read_cpu:.2f}", f"{read_cpu / ours_cpu:.2f}")
    table.add_row("duckdb read_csv -> Parquet", f"{to_parquet:.2f}", f"{lines / to_parquet:,.0f}", f"{to_parquet / ours_wall:.2f}",
                  f"{to_parquet_cpu:.2f}", f"{to_parquet_cpu / ours_cpu:.2f}")
    Console().print(table)
    print(f"peak memory of the import: {peak:,.0f} MB")
    for r in per_run:
        print(f"run: ours {r['ours_wall']} s / {r['ours_cpu']} CPU s, DuckDB CSV -> Parquet {r['duckdb_wall']} s / "
              f"{r['duckdb_cpu']} CPU s: ratio {r['wall_ratio']} by wall, {r['cpu_ratio']} by CPU")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
