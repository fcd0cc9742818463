"""The refresh's ranking steps on Spark (local mode) and DuckDB, on a lake of 1M customers: no plan
gathers its rows in one partition, Spark's results equal DuckDB's, and the time of each.

    .venv/bin/python benchmarks/bench_spark_ranking.py --lake var/bench/lake-1mc

The lake (made once with `--customers 1000000 --lines 12000000` when missing, as bench_refresh.py
makes its lakes) is refreshed whole on DuckDB first (the figure of reference, and the inputs the
ranking steps read: baskets, category spend, forecasts). Then each ranking step runs on Spark
(CLIENTELE_SPARK_MASTER, default local[2]) from the same inputs, in a copy of the results, with
every physical plan recorded and read by `engine.gathering_operators`; its table is compared
with DuckDB's exactly (floats to 1e-9 relative). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from clientele import refresh as nightly
from clientele.analytics.results import results_dir
from clientele.engine import connect, gathering_operators, recorded_spark_plans
from clientele.lake.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
#: The steps that rank over a whole table (decision 0075), and the per-category ones beside them.
RANKING_STEPS = ("rfm", "pyramid", "category_pyramid", "value", "brand_loyalty", "traits", "year_over_year",
                 "narrow_baskets", "category_spend")
REFRESH_DATE = date(2026, 12, 6)


def ensure_lake(lake: Path, customers: int, lines: int) -> None:
    if not (lake / "basket_lines").exists():
        started = time.perf_counter()
        result = synthesize(lake, customers, lines, ROOT / "var" / "lake" / "products" / "products.parquet")
        print(f"synthesised {result.lines:,} lines of {customers:,} customers in {time.perf_counter() - started:.0f} s")


def duckdb_refresh(lake: Path) -> dict[str, float]:
    started = time.perf_counter()
    result = nightly.refresh(engine="duckdb", lake=lake, refresh_date=REFRESH_DATE, restart=True)
    print(f"DuckDB full refresh: {time.perf_counter() - started:.1f} s, {result.rows['customer_profiles']:,} customers")
    return result.seconds


def spark_steps(lake: Path, steps: list[str]) -> tuple[dict[str, float], dict[str, list[str]], int]:
    """Run `steps` on Spark into `lake`'s results (its other results are DuckDB's): seconds per step,
    the gathering operators found per step, and how many plans were read."""
    con = connect("spark")
    run = nightly._Run(con, lake, None, nightly.RefreshOptions())
    seconds, gathered, plans_read = {}, {}, 0
    for name, build in nightly._steps():
        if name not in steps:
            continue
        started = time.perf_counter()
        with recorded_spark_plans(con) as plans:
            table = build(run).mutate(refresh_date=nightly.ibis.date(REFRESH_DATE.isoformat()))
            nightly._write(con, table, results_dir(lake) / name)
        seconds[name] = round(time.perf_counter() - started, 1)
        gathered[name] = [operator for plan in plans for operator in gathering_operators(plan)]
        plans_read += len(plans)
        print(f"Spark {name}: {seconds[name]} s, {len(plans)} plans, {len(gathered[name])} gathering operators")
    return seconds, gathered, plans_read


def same_table(spark: Path, duckdb: Path) -> str:
    """'exact', 'equal to 1e-9' or what differs."""
    got, expected = (pq.read_table(folder).to_pandas() for folder in (spark, duckdb))
    keys = [c for c in ("customer_id", "category", "trait") if c in expected.columns]
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
    parser.add_argument("--steps", default=",".join(RANKING_STEPS), help="steps to run on Spark, or 'all'")
    args = parser.parse_args()
    ensure_lake(args.lake, args.customers, args.lines)
    print(f"load before: {os.getloadavg()}")
    duckdb_seconds = duckdb_refresh(args.lake)
    spark_lake = args.lake.parent / f"{args.lake.name}-spark"
    shutil.rmtree(spark_lake, ignore_errors=True)
    spark_lake.mkdir()
    for part in args.lake.iterdir():  # the lake read-only, its results copied
        if part.name == "results":
            shutil.copytree(part, spark_lake / part.name)
        else:
            (spark_lake / part.name).symlink_to(part.resolve())
    steps = list(nightly.STEPS) if args.steps == "all" else args.steps.split(",")
    spark_seconds, gathered, plans_read = spark_steps(spark_lake, steps)
    print(f"load after: {os.getloadavg()}")
    rows = []
    for step in steps:
        result = same_table(results_dir(spark_lake) / step, results_dir(args.lake) / step)
        rows.append({"step": step, "duckdb_s": duckdb_seconds[step], "spark_s": spark_seconds[step],
                     "gathering_operators": len(gathered[step]), "spark_equals_duckdb": result})
        print(f"{step:18} DuckDB {duckdb_seconds[step]:7.1f} s  Spark {spark_seconds[step]:7.1f} s  "
              f"gathering operators {len(gathered[step])}  {result}")
    print(json.dumps({"plans_read": plans_read, "steps": rows,
                      "gathered": {k: v[:3] for k, v in gathered.items() if v}}, default=str))


if __name__ == "__main__":
    main()
