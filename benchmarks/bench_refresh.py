"""Refresh wall time and peak memory at 1M, 10M and 100M basket lines on DuckDB, and DuckDB vs pandas.

    .venv/bin/python benchmarks/bench_refresh.py --sizes 1m,10m,100m --pandas-size 10m

Each size's synthetic lake is generated once under var/bench/lake-<size> (about 25 MB per million
lines). Every measurement runs in a fresh child process so its peak memory (max RSS) is its own.
The comparison times the same RFM, pyramid, lifecycle and nine-cell computation written with the
package's Ibis functions on DuckDB and written as vectorised pandas, on the same lake.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clientele import analytics
from clientele.analytics.rfm import SegmentGrid
from clientele.engine import connect
from clientele.lake.reader import basket_lines, read_table
from clientele.lake.synth import synthesize
from clientele.refresh import refresh

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"1m": 1_000_000, "10m": 10_000_000, "100m": 100_000_000}
LINES_PER_CUSTOMER = 100  # over the 24 months: about one basket a month, like a chain's card base
WINDOW_DAYS = 365


def child(task: str, lake: Path, memory_limit: str) -> dict:
    """Run one task in a fresh process; return its figures plus wall seconds and peak RSS (MB)."""
    env = dict(os.environ, CLIENTELE_DUCKDB_MEMORY_LIMIT=memory_limit, CLIENTELE_HOME=str(lake.parent))
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", task, "--lake", str(lake)], env=env, stdout=subprocess.PIPE, text=True
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{task} on {lake} failed with status {status}")
    figures = json.loads(output.strip().splitlines()[-1])
    return figures | {"wall_s": round(time.perf_counter() - started, 1), "peak_rss_mb": usage.ru_maxrss // 1024}


def ensure_lake(size: str, lakes: Path = ROOT / "var" / "bench") -> Path:
    lake = lakes / f"lake-{size}"
    if not (lake / "basket_lines").exists():
        started = time.perf_counter()
        products = ROOT / "var" / "lake" / "products" / "products.parquet"
        result = synthesize(lake, SIZES[size] // LINES_PER_CUSTOMER, SIZES[size], products)
        print(f"synthesised {result.lines:,} lines in {time.perf_counter() - started:.0f} s -> {lake}")
    return lake


def run_refresh(lake: Path) -> dict:
    result = refresh(engine="duckdb", lake=lake, restart=True)
    return {"steps": result.seconds, "cpu_steps": result.cpu_seconds, "customers": result.rows["customer_profiles"]}


FORECAST_STEPS = ("forecasts", "next_visits", "next_purchases", "next_categories")


def forecast_steps(lake: Path) -> dict:
    """The refresh's forecasting steps alone, on a lake the refresh already ran on (they read its
    baskets), written to a scratch folder: per step wall and CPU seconds and the process's peak
    memory (MB) once it is done, so a step that raises the peak shows."""
    from clientele import refresh as nightly_refresh

    con = connect("duckdb")
    run = nightly_refresh._Run(con, lake, None, nightly_refresh.RefreshOptions())
    figures = {}
    for name, build in nightly_refresh._steps():
        if name in FORECAST_STEPS:
            started, cpu_started = time.perf_counter(), cpu_seconds()
            nightly_refresh._write(con, build(run), lake / "bench-scratch" / name)
            figures[name] = {"wall_s": round(time.perf_counter() - started, 1),
                             "cpu_s": round(cpu_seconds() - cpu_started, 1),
                             "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                             "rows": con.read_parquet(lake / "bench-scratch" / name / "*.parquet").count().execute()}
    shutil.rmtree(lake / "bench-scratch")  # scratch output: the lake is kept for later runs, not it
    return figures


class StepClock:
    """CPU seconds of this process (all threads) per named step, each from the end of the last one."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.mark = cpu_seconds()

    def done(self, step: str) -> None:
        now = cpu_seconds()
        self.steps[step] = round(now - self.mark, 2)
        self.mark = now


def duckdb_core(lake: Path) -> dict:
    """RFM, pyramid, lifecycle and nine cells with the package's functions on DuckDB."""
    clock = StepClock()
    con = connect("duckdb")
    lines = basket_lines(con, lake)
    baskets = con.create_table("baskets", analytics.baskets(lines), temp=True)
    as_of = analytics.last_day(baskets)
    since = as_of - timedelta(days=WINDOW_DAYS - 1)
    clock.done("read lines, baskets")
    rows = {"rfm": analytics.rfm(baskets, as_of, WINDOW_DAYS).to_pyarrow().num_rows}
    clock.done("rfm")
    rows["pyramid"] = analytics.customer_pyramid(baskets, as_of, WINDOW_DAYS).to_pyarrow().num_rows
    clock.done("pyramid")
    rows["lifecycle"] = analytics.current_stage(analytics.lifecycle_history(baskets, as_of)).to_pyarrow().num_rows
    clock.done("lifecycle")
    spend = analytics.category_spend(lines, read_table(con, "products", lake), since)
    rows["nine_cells"] = analytics.nine_cells(spend).to_pyarrow().num_rows
    clock.done("nine cells")
    return rows | {"cpu_steps": clock.steps}


def pandas_lines(lake: Path, columns: list[str]) -> pd.DataFrame:
    """The identified customers' lines with `columns` and `spend` (float64 currency units).

    The money column is a Parquet decimal: it is cast to float64 in Arrow, as one vectorised step,
    rather than letting pandas build one Python Decimal per line and convert them (4x slower).
    """
    read = pq.read_table(lake / "basket_lines", columns=[*columns, "sales_value"], partitioning="hive")
    read = read.set_column(read.schema.get_field_index("sales_value"), "spend", read["sales_value"].cast(pa.float64()))
    lines = read.to_pandas()
    return lines[lines.customer_id.notna()]


def pandas_baskets(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timestamp]:
    """One row per basket (customer_id, basket_id, day, spend) and the day of the latest one."""
    baskets = lines.groupby(["customer_id", "basket_id"], sort=False).agg(
        ts=("transaction_ts", "min"), spend=("spend", "sum")
    ).reset_index()
    baskets["day"] = baskets.ts.dt.normalize()
    return baskets, pd.Timestamp(baskets.day.max())


def pandas_score(values: pd.Series, buckets: int, by=None) -> pd.Series:
    """1..buckets by rank, equal values sharing a score (as `analytics.baskets.ranked_score`)."""
    ranks = (values.groupby(by).rank(method="min") if by is not None else values.rank(method="min")) - 1
    counts = values.groupby(by).transform("count") if by is not None else len(values)
    return np.floor(ranks * buckets / counts).astype("int32") + 1


def pandas_rfm_segments(window: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per customer of the window's baskets: recency, frequency, monetary and the RFM segment."""
    rfm = window.groupby("customer_id").agg(last=("day", "max"), frequency=("spend", "size"), monetary=("spend", "sum"))
    rfm["recency_days"] = (as_of - rfm["last"]).dt.days
    r, f, m = pandas_score(-rfm.recency_days, 5), pandas_score(rfm.frequency, 5), pandas_score(rfm.monetary, 5)
    fm = (f + m + 1) // 2
    names = {r * 10 + fm: name for name, cells in SegmentGrid().cells.items() for r, fm in cells}
    rfm["rfm_segment"] = (r * 10 + fm).map(names)
    return rfm


def pandas_core(lake: Path) -> dict:
    """The same four results written as vectorised pandas (no loops over customers or rows)."""
    clock = StepClock()
    lines = pandas_lines(lake, ["basket_id", "customer_id", "transaction_ts", "product_id"])
    baskets, as_of = pandas_baskets(lines)
    since = as_of - pd.Timedelta(days=WINDOW_DAYS - 1)
    window = baskets[(baskets.day >= since) & (baskets.day <= as_of)]
    clock.done("read lines, baskets")

    rfm = pandas_rfm_segments(window, as_of)
    clock.done("rfm")

    capped = window.spend.clip(upper=window.spend.quantile(0.99))
    pyramid = (capped.groupby(window.customer_id).sum() / (WINDOW_DAYS / 30.0)).rename("monthly_value").reset_index()
    pyramid = pyramid.sort_values(["monthly_value", "customer_id"], ascending=[False, True])
    rank, n = np.arange(1, len(pyramid) + 1), len(pyramid)
    pyramid["pyramid_level"] = np.select(
        [rank <= round(n * 0.01), rank <= round(n * 0.05), rank <= round(n * 0.20)], ["VIP", "major", "medium"], "small"
    )

    clock.done("pyramid")

    # lifecycle: a customers x complete-months matrix of spend; rolling sums along the months axis
    done = baskets[baskets.day < as_of.to_period("M").to_timestamp() + pd.offsets.MonthBegin(int(as_of.is_month_end))]
    months = done.assign(month=done.day.dt.to_period("M")).pivot_table(
        index="customer_id", columns="month", values="spend", aggfunc="sum"
    )
    bought = months.notna().to_numpy()
    spend = months.fillna(0.0).to_numpy()
    started = np.cumsum(bought, axis=1) > 0
    tenure = np.cumsum(started, axis=1)

    def trailing(matrix: np.ndarray, width: int) -> np.ndarray:
        total = np.cumsum(matrix, axis=1, dtype="float64")
        total[:, width:] = total[:, width:] - total[:, :-width]
        return total

    recent, last9 = trailing(spend, 3), trailing(spend, 9)
    prior_months = np.minimum(tenure, 9) - np.minimum(tenure, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        prior = last9 - recent
        trend = np.where((prior_months > 0) & (prior > 0), (recent / 3) / (prior / prior_months), np.nan)
    active_recent, active_lapse = trailing(bought, 3), trailing(bought, 2)
    stage = np.select(
        [active_lapse == 0, tenure <= 3, trend < 0.7, np.isnan(trend) | (trend >= 1.2), active_recent < 3],
        ["lapsed", "exploration", "decline", "formation", "formation"], "stability",
    )
    stage = np.where(started, stage, "")
    stable_months = (stage == "stability").sum(axis=1)
    lifecycle = pd.DataFrame({"lifecycle_stage": stage[:, -1], "stable_months": stable_months}, index=months.index)
    clock.done("lifecycle")

    products = pd.read_parquet(lake / "products", columns=["product_id", "category", "brand_type"])
    recent_lines = lines[lines.transaction_ts >= since].merge(products.dropna(subset=["category"]), on="product_id")
    recent_lines["store_spend"] = np.where(recent_lines.brand_type == "Private", recent_lines.spend, 0.0)
    cells = recent_lines.groupby(["customer_id", "category"]).agg(
        category_spend=("spend", "sum"), store_spend=("store_spend", "sum")
    ).reset_index()
    cells = cells[cells.category_spend > 0]
    share = (cells.store_spend / cells.category_spend).clip(0, 1)
    cells["brand_loyalty"] = np.select([share <= 0.3, share >= 0.7], ["national", "store"], "switcher")
    tercile = pandas_score(cells.category_spend, 3, by=cells.category) - 1
    cells["usage"] = np.select([tercile == 0, tercile == 1], ["low", "medium"], "high")
    clock.done("nine cells")
    return {"rfm": len(rfm), "pyramid": len(pyramid), "lifecycle": len(lifecycle), "nine_cells": len(cells),
            "cpu_steps": clock.steps}


def cpu_seconds() -> float:
    """CPU seconds this process used so far, all its threads: on a machine shared with others, a
    steadier measure of work than wall time (DuckDB uses both cores, pandas mostly one)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def duckdb_rfm(lake: Path) -> dict:
    """The issue's reference measurement: plain RFM (last day, baskets, spend per customer) from the
    lines, on DuckDB."""
    con = connect("duckdb")
    lines = basket_lines(con, lake)
    rfm = analytics.rfm(con.create_table("baskets", analytics.baskets(lines), temp=True),
                        analytics.last_day(lines), WINDOW_DAYS)
    return {"rfm": rfm.to_pyarrow().num_rows}


def pandas_rfm(lake: Path) -> dict:
    """The same plain RFM in vectorised pandas (the first two steps of `pandas_core`)."""
    lines = pandas_lines(lake, ["basket_id", "customer_id", "transaction_ts"])
    baskets, as_of = pandas_baskets(lines)
    del lines  # at 100M lines, the lines and the baskets together would double the peak
    window = baskets[baskets.day > as_of - pd.Timedelta(days=WINDOW_DAYS)]
    return {"rfm": len(pandas_rfm_segments(window, as_of))}


CHILD_TASKS = {"refresh": run_refresh, "forecast-steps": forecast_steps, "duckdb-core": duckdb_core,
               "pandas-core": pandas_core, "duckdb-rfm": duckdb_rfm, "pandas-rfm": pandas_rfm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,10m,100m")
    parser.add_argument("--pandas-size", default="10m", help="size of the DuckDB vs pandas comparison ('' to skip)")
    parser.add_argument("--rfm-size", default="",
                        help="also time plain RFM alone in DuckDB and pandas at this size (the issue's reference: "
                             "4.9 s against 23.9 s at 100M lines)")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit of the refresh")
    parser.add_argument("--lakes", type=Path, default=ROOT / "var" / "bench",
                        help="folder of the lake-<size> lakes (the results are written inside each lake)")
    parser.add_argument("--forecast-steps", action="store_true",
                        help="after each refresh, run its forecasting steps alone (seconds, CPU, memory per step)")
    parser.add_argument("--child", choices=sorted(CHILD_TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        started, cpu_started = time.perf_counter(), cpu_seconds()
        figures = CHILD_TASKS[args.child](args.lake)
        print(json.dumps(figures | {"compute_s": round(time.perf_counter() - started, 1),
                                    "cpu_s": round(cpu_seconds() - cpu_started, 1)}))
        return
    print(f"bench_refresh {date.today()} on {os.cpu_count()} cores")
    for size in [s for s in args.sizes.split(",") if s]:
        lake = ensure_lake(size, args.lakes)
        figures = child("refresh", lake, args.memory_limit)
        print(f"refresh {size:>5} lines: {figures['wall_s']:7.1f} s wall, {figures['compute_s']:.1f} s after imports, "
              f"peak {figures['peak_rss_mb']:,} MB, {figures['cpu_s']} CPU s, "
              f"{figures['customers']:,} customers; slowest steps "
              + ", ".join(f"{k} {v}s" for k, v in sorted(figures["steps"].items(), key=lambda kv: -kv[1])[:3])
              + "; forecasting steps (wall / CPU s) "
              + ", ".join(f"{k} {figures['steps'][k]} / {figures['cpu_steps'][k]}" for k in FORECAST_STEPS))
        if args.forecast_steps:
            steps = child("forecast-steps", lake, args.memory_limit)
            print(f"forecasting steps alone {size:>5} lines: " + ", ".join(
                f"{k} {v['wall_s']} s / {v['cpu_s']} CPU s, {v['rows']:,} rows, peak {v['peak_rss_mb']:,} MB"
                for k, v in steps.items() if k in FORECAST_STEPS) + f" (whole child: peak {steps['peak_rss_mb']:,} MB)")
    if args.pandas_size:
        lake = ensure_lake(args.pandas_size, args.lakes)
        duck = child("duckdb-core", lake, args.memory_limit)
        pandas = child("pandas-core", lake, args.memory_limit)
        same = {k: duck[k] for k in ("rfm", "pyramid", "lifecycle", "nine_cells")} == {
            k: pandas[k] for k in ("rfm", "pyramid", "lifecycle", "nine_cells")}
        print(f"RFM + pyramid + lifecycle + nine cells on {args.pandas_size} lines (compute after imports): "
              f"DuckDB {duck['compute_s']} s (peak {duck['peak_rss_mb']:,} MB), "
              f"pandas {pandas['compute_s']} s (peak {pandas['peak_rss_mb']:,} MB): "
              f"pandas / DuckDB = {pandas['compute_s'] / duck['compute_s']:.1f}x; CPU seconds DuckDB {duck['cpu_s']}, "
              f"pandas {pandas['cpu_s']} ({pandas['cpu_s'] / duck['cpu_s']:.1f}x); same row counts: {same} "
              f"(DuckDB {duck}, pandas {pandas})")
        print("CPU seconds per step, DuckDB / pandas (ratio): " + ", ".join(
            f"{step} {duck['cpu_steps'][step]} / {cpu} ({cpu / max(duck['cpu_steps'][step], 0.01):.1f}x)"
            for step, cpu in pandas["cpu_steps"].items()))

    if args.rfm_size:
        lake = ensure_lake(args.rfm_size, args.lakes)
        duck, pandas = child("duckdb-rfm", lake, args.memory_limit), child("pandas-rfm", lake, args.memory_limit)
        print(f"plain RFM on {args.rfm_size} lines (compute after imports): DuckDB {duck['compute_s']} s, "
              f"{duck['cpu_s']} CPU s, peak {duck['peak_rss_mb']:,} MB; pandas {pandas['compute_s']} s, "
              f"{pandas['cpu_s']} CPU s, peak {pandas['peak_rss_mb']:,} MB: pandas / DuckDB = "
              f"{pandas['compute_s'] / duck['compute_s']:.1f}x by wall, {pandas['cpu_s'] / duck['cpu_s']:.1f}x by CPU; "
              f"customers {duck['rfm']:,} / {pandas['rfm']:,}")


if __name__ == "__main__":
    main()
