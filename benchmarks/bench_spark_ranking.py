"""The refresh's ranking steps on Spark (local mode) and DuckDB, on a lake of 1M customers: no plan
gathers its rows in one partition, Spark's results equal DuckDB's, and the time of each.

    .venv/bin/python benchmarks/bench_spark_ranking.py --lake var/bench/lake-1mc

The lake (made once with `--customers 1000000 --lines 12000000` when missing, as bench_refresh.py
makes its lakes; drawn by rate, most of its customers have one basket or none, so only 0.34M are
ranked) is refreshed whole on DuckDB first (the figure of reference, and the inputs the
ranking steps read: baskets, category spend, forecasts). Then each ranking step runs on Spark
(CLIENTELE_SPARK_MASTER, default local[2]) from the same inputs, in a copy of the results, with
every physical plan recorded and read by `engine.gathering_operators`; its table is compared
with DuckDB's exactly (floats to 1e-9 relative). Prints figures; asserts nothing.

Every customer ranked (issue 24: at least 1M customers in the 365-day window and in the previous
year-on-year period), 12M lines over 2025, each customer with a basket in February to June:

    .venv/bin/python benchmarks/bench_spark_ranking.py --lake /work/lakes/spark1m/lake \
        --products /work/lakes/products.parquet --months 12 --first-month 2025-01 --everyone-shops-in 1-5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from clientele import refresh as nightly
from clientele.analytics.results import RANKED_AT_READ, read_result, results_dir
from clientele.engine import connect, gathering_operators, recorded_spark_plans
from clientele.lake.synth import synthesize
from suite_timeline import tree_cpu  # CPU seconds of this process and its descendants (Spark's JVM)

ROOT = Path(__file__).resolve().parents[1]
#: The steps that rank over a whole table (decision 0075), and the per-category ones beside them.
RANKING_STEPS = ("rfm", "pyramid", "category_pyramid", "value", "brand_loyalty", "traits", "year_over_year",
                 "narrow_baskets", "category_spend")
REFRESH_DATE = date(2026, 12, 6)


def ensure_lake(lake: Path, customers: int, lines: int, products: Path, months: int, first_month: date,
                everyone_shops_in: list[int] | None) -> None:
    if not (lake / "basket_lines").exists():
        started = time.perf_counter()
        result = synthesize(lake, customers, lines, products, months=months, first_month=first_month,
                            everyone_shops_in=everyone_shops_in)
        print(f"synthesised {result.lines:,} lines, {result.baskets:,} baskets of {customers:,} customers "
              f"in {time.perf_counter() - started:.0f} s")


def month_range(text: str) -> list[int]:
    """'1-5' -> [1, 2, 3, 4, 5]; '3' -> [3]."""
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


@contextmanager
def cpu_per_write(clock: dict[str, float]):
    """Inside the block, the CPU seconds (this process's tree) spent up to each result written,
    since the previous one, in `clock` per folder: a step's queries and its write."""
    write, last = nightly._write, [tree_cpu()]

    def timed(con, table, folder, **options):
        write(con, table, folder, **options)
        now = tree_cpu()
        clock[Path(folder).name] = clock.get(Path(folder).name, 0.0) + now - last[0]
        last[0] = now

    nightly._write = timed
    try:
        yield clock
    finally:
        nightly._write = write


def duckdb_refresh(lake: Path) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
    """The whole refresh on DuckDB: wall and CPU seconds, and rows, per step."""
    started, cpu_started, cpu = time.perf_counter(), tree_cpu(), {}
    with cpu_per_write(cpu):
        result = nightly.refresh(engine="duckdb", lake=lake, refresh_date=REFRESH_DATE, restart=True)
    print(f"DuckDB full refresh: {time.perf_counter() - started:.1f} s wall, {tree_cpu() - cpu_started:.1f} CPU s, "
          f"{result.rows['customer_profiles']:,} customers", flush=True)
    return result.seconds, cpu, result.rows


def spark_steps(lake: Path, steps: list[str]) -> tuple[dict[str, float], dict[str, float], dict[str, list[str]], int]:
    """Run `steps` on Spark into `lake`'s results (its other results are DuckDB's): wall and CPU
    seconds per step, the gathering operators found per step, and how many plans were read."""
    cpu_started = tree_cpu()
    con = connect("spark")
    print(f"Spark session: {tree_cpu() - cpu_started:.1f} CPU s", flush=True)
    # a full refresh's run: each step computed whole from every line (the kept state the DuckDB
    # refresh left would make it a night of no new day, its steps deltas on DuckDB's bases)
    run = nightly._Run(con, lake, None, nightly.RefreshOptions(), full=True)
    seconds, cpu, gathered, plans_read = {}, {}, {}, 0
    for name, build in nightly._steps():
        if name not in steps:
            continue
        started, cpu_started = time.perf_counter(), tree_cpu()
        with recorded_spark_plans(con) as plans:
            nightly._write_result(con, lake, name, build(run), REFRESH_DATE)
            if name in RANKED_AT_READ:  # its rank is computed when read (decision 0128): read on Spark too
                nightly._write(con, read_result(con, name, lake), read_dir(lake) / name)
        seconds[name] = round(time.perf_counter() - started, 1)
        cpu[name] = round(tree_cpu() - cpu_started, 1)
        gathered[name] = [operator for plan in plans for operator in gathering_operators(plan)]
        plans_read += len(plans)
        print(f"Spark {name}: {seconds[name]} s wall, {cpu[name]} CPU s, {len(plans)} plans, "
              f"{len(gathered[name])} gathering operators {gathered[name][:3]}", flush=True)
    return seconds, cpu, gathered, plans_read


def per_step(cpu: dict[str, float]) -> dict[str, float]:
    """CPU seconds per step from those per table written (in order): a work table's or kept
    state's counted in the step written after it."""
    steps, pending = {}, 0.0
    for folder, seconds in cpu.items():
        if folder in nightly.STEPS:
            steps[folder], pending = round(pending + seconds, 2), 0.0
        else:
            pending += seconds
    return steps


def read_dir(lake: Path) -> Path:
    """Where a result ranked when read is written as read (rank included), for the comparison."""
    return lake / "read"


def same_table(spark: Path, duckdb: Path) -> str:
    """'exact', 'equal to 1e-9' or what differs."""
    got, expected = (pq.read_table(folder).to_pandas() for folder in (spark, duckdb))
    keys = [c for c in ("customer_id", "category", "category_code", "trait") if c in expected.columns]
    got = got[list(expected.columns)].sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    if len(got) == len(expected) and all(got[c].equals(expected[c]) for c in expected.columns):
        return "exact"
    try:
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9)
        return "equal to 1e-9"
    except AssertionError as difference:
        return f"DIFFERENT: {str(difference)[:300]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=ROOT / "var" / "bench" / "lake-1mc")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=12_000_000)
    parser.add_argument("--products", type=Path, default=ROOT / "var" / "lake" / "products" / "products.parquet")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--first-month", type=lambda text: date.fromisoformat(f"{text}-01"), default=date(2024, 1, 1))
    parser.add_argument("--everyone-shops-in", type=month_range, default=None,
                        help="months (0 = the first) where every customer shops, e.g. 1-5 (synth.everyone_shops_in)")
    parser.add_argument("--lake-only", action="store_true", help="make the lake and stop")
    parser.add_argument("--duckdb-figures", type=Path, default=None,
                        help="JSON of the DuckDB refresh's figures: written after it, or (when present) "
                             "read instead of refreshing again, the lake's results being that refresh's")
    parser.add_argument("--steps", default=",".join(RANKING_STEPS), help="steps to run on Spark, or 'all'")
    args = parser.parse_args()
    ensure_lake(args.lake, args.customers, args.lines, args.products, args.months, args.first_month,
                args.everyone_shops_in)
    if args.lake_only:
        return
    print(f"load before: {os.getloadavg()}", flush=True)
    if args.duckdb_figures and args.duckdb_figures.exists():  # the lake's results are that refresh's
        figures = json.loads(args.duckdb_figures.read_text())
        duckdb_seconds, duckdb_cpu, rows = figures["duckdb_wall"], figures["duckdb_cpu"], figures["rows"]
        print(f"DuckDB refresh's figures from {args.duckdb_figures}", flush=True)
    else:
        duckdb_seconds, duckdb_cpu, rows = duckdb_refresh(args.lake)
        figures = json.dumps({"duckdb_wall": duckdb_seconds, "duckdb_cpu": duckdb_cpu, "rows": rows}, default=str)
        print(figures, flush=True)
        if args.duckdb_figures:
            args.duckdb_figures.write_text(figures)
        print(f"load after DuckDB: {os.getloadavg()}", flush=True)
    spark_lake = args.lake.parent / f"{args.lake.name}-spark"
    shutil.rmtree(spark_lake, ignore_errors=True)
    spark_lake.mkdir()
    for part in args.lake.iterdir():  # the lake read-only, its results copied
        if part.name == "results":
            shutil.copytree(part, spark_lake / part.name)
        else:
            (spark_lake / part.name).symlink_to(part.resolve())
    steps = list(nightly.STEPS) if args.steps == "all" else args.steps.split(",")
    spark_seconds, spark_cpu, gathered, plans_read = spark_steps(spark_lake, steps)
    print(f"load after: {os.getloadavg()}")
    table = []
    duckdb_con, duckdb_cpu = connect("duckdb"), per_step(duckdb_cpu)
    for step in steps:
        if step in RANKED_AT_READ:  # compared as read, the rank included
            nightly._write(duckdb_con, read_result(duckdb_con, step, args.lake), read_dir(args.lake) / step)
        folder = read_dir if step in RANKED_AT_READ else results_dir
        result = same_table(folder(spark_lake) / step, folder(args.lake) / step)
        table.append({"step": step, "rows": rows[step], "duckdb_s": duckdb_seconds[step],
                      "duckdb_cpu_s": round(duckdb_cpu.get(step, 0.0), 1), "spark_s": spark_seconds[step],
                      "spark_cpu_s": spark_cpu[step], "gathering_operators": len(gathered[step]),
                      "spark_equals_duckdb": result})
        print(f"{step:18} {rows[step]:>10,} rows  DuckDB {duckdb_seconds[step]:7.1f} s {duckdb_cpu.get(step, 0.0):7.1f} CPU s  "
              f"Spark {spark_seconds[step]:7.1f} s {spark_cpu[step]:7.1f} CPU s  "
              f"gathering operators {len(gathered[step])}  {result}", flush=True)
    print(json.dumps({"plans_read": plans_read, "steps": table,
                      "gathered": {k: v[:3] for k, v in gathered.items() if v}}, default=str))


if __name__ == "__main__":
    main()
