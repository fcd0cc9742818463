"""Where the per customer x product steps' CPU goes, and how many pairs a bound on the cut would spare.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_pair_steps.py --lake /work/lakes/i24pairs/inc-20m/lake

Reads a lake whose last refresh kept its state (results/_state: the purchase cycles, the shopping-day
cycles and the fitted calibration; e.g. the lake `bench_incremental_refresh.py` leaves) and times,
in this process (CPU seconds of every thread: DuckDB's and numpy's), the parts of what the refresh's
next_purchases and next_categories steps do after the cycles are rolled:

1. the scan of the purchase cycles, 2. the products' priors and the pooled spread (one aggregation
of every pair), 3. every pair scored (its probability), 4. every pair's forecast written to the
work table, 5. next_purchases and 6. next_categories cut from it.

Then how many pairs an exact pruning could leave out (decision 0116): the pairs of the customer x
category groups whose probability can reach the cut, under the bound that a pair's cycle
probability is at most 1 (the calibrated probability is then bounded by the customer's visit
probability and the pair's purchase days alone), against the groups that reach it given every
pair's probability. The last line is JSON for machines.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from datetime import date
from pathlib import Path

import ibis
import pandas as pd

from clientele import refresh_state as kept
from clientele.engine import connect
from clientele.forecasting import nightly
from clientele.forecasting.next_purchase import _log_normal_cycles, visit_forecasts, cycles_from_sums
from clientele.lake.reader import read_table

FORECAST_COLUMNS = ("customer_id", "product_id", "probability", "expected_date", "typical_cycle_days",
                    "last_purchase", "purchase_days", "recent_purchases")


def timed(figures: dict, label: str, work):
    """Run `work()`, print and record its CPU and wall seconds; its result."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    figures[label] = {"cpu_s": round(time.process_time() - cpu, 2), "wall_s": round(time.perf_counter() - wall, 2)}
    print(f"{label:55s} CPU {figures[label]['cpu_s']:7.2f} s  wall {figures[label]['wall_s']:7.2f} s", flush=True)
    return result


def groups_reaching(pairs: ibis.Table, term: ibis.Value, cut: float) -> ibis.Table:
    """Of `pairs` (customer_id, category), the customer x category groups whose sum of `term` is at
    least `cut`: their count and their pairs'."""
    grouped = pairs.mutate(term=term).group_by(["customer_id", "category"]).aggregate(
        total=lambda t: t.term.sum(), pairs=lambda t: t.count())
    reaching = grouped.filter(grouped.total >= cut)
    return reaching.aggregate(groups=reaching.count(), pairs=reaching.pairs.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True)
    lake = parser.parse_args().lake.resolve()
    con = connect("duckdb")
    as_of = date.fromisoformat(kept.load_watermark(lake)["as_of"])
    morning = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    calibration = kept.load_models(kept.state_dir(lake))["calibration"]
    options = nightly.ForecastOptions()
    work = lake.parent / "pair-steps"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    figures: dict = {}

    stored = kept.read_state(con, lake, "product_cycles")
    # the cutoff the refresh scores at (the day after as_of): cycles_from_sums ages the purchase days to it
    cycles = cycles_from_sums(stored, kept.cutoff(as_of))
    visit_cycles = cycles_from_sums(kept.read_state(con, lake, "visit_cycles"), kept.cutoff(as_of))
    products = read_table(con, "products", lake)
    pairs = timed(figures, "1. scan of the purchase cycles (every column)", lambda: stored.aggregate(
        pairs=stored.count(), days=stored.n_days.sum(), last=stored.last_day.max(), sum_log=stored.sum_log.sum(),
        squares=stored.sum_log_squared.sum(), customers=stored.customer_id.sum(), products=stored.product_id.sum(),
    ).execute()["pairs"][0])
    timed(figures, "2. priors and pooled spread (+ their join)",
          lambda: _log_normal_cycles(cycles, ["product_id"]).count().execute())
    every = nightly.product_forecasts(None, as_of, options, cycles=cycles, visit_cycles=visit_cycles,
                                      calibration=calibration)
    timed(figures, "2+3. every pair scored (sum of probabilities)", lambda: every.probability.sum().execute())
    timed(figures, "2+3+4. scored and written to the work table",
          lambda: con.to_parquet(every.select(*FORECAST_COLUMNS), work / "forecasts.parquet", compression="snappy"))
    forecasts = con.read_parquet(work / "forecasts.parquet")
    timed(figures, "5. next_purchases from the work table", lambda: con.to_parquet(
        nightly.next_purchases(None, as_of, options, every_product=forecasts), work / "next_purchases.parquet"))
    timed(figures, "6. next_categories from the work table", lambda: con.to_parquet(
        nightly.next_categories(None, products, as_of, options, every_product=forecasts),
        work / "next_categories.parquet"))

    # A group reaches the cut when the sum of -ln(1 - p) over its pairs reaches -ln(1 - cut); a 5%
    # margin stands for the float and decimal rounding of the computed sums.
    cut = 0.95 * -math.log(1.0 - options.min_purchase_probability)
    categories = products.select("product_id", category=products.category)
    visits = visit_forecasts(None, morning, options.next_purchase_days, visit_cycles)
    visit = visits.probability_visit.clip(1e-6, 1 - 1e-6)
    bounded = stored.select("customer_id", "product_id", "n_days").join(
        visits.select("customer_id", logit_visit=(visit / (1.0 - visit)).ln()), "customer_id").join(
        categories, "product_id")
    intercept, (w_probability, w_elapsed, w_days) = calibration.intercept, calibration.weights
    # with w_probability >= 0 and w_elapsed <= 0 (checked), cycle probability <= 1 gives
    # p <= sigmoid(intercept + w_probability * logit(visit) + w_days * ln(purchase days))
    if w_probability >= 0 and w_elapsed <= 0:
        score = intercept + w_probability * bounded.logit_visit + w_days * bounded.n_days.cast("float64").ln() + 1e-6
        bound = 1.0 / (1.0 + (-score).exp())
        reach = timed(figures, "bound: groups reaching the cut, cycle probability <= 1",
                      lambda: groups_reaching(bounded, -(1.0 - bound).ln(), cut).to_pandas().iloc[0].to_dict())
        figures["bounded_groups"], figures["bounded_pairs"] = int(reach["groups"]), int(reach["pairs"])
    known = forecasts.join(categories, "product_id")
    reach = timed(figures, "given every pair's probability: groups reaching the cut", lambda: groups_reaching(
        known, -(1.0 - ibis.least(known.probability, 1 - 1e-12)).ln(), cut).to_pandas().iloc[0].to_dict())
    figures["known_groups"], figures["known_pairs"] = int(reach["groups"]), int(reach["pairs"])
    figures["pairs"] = int(pairs)
    figures["single_purchase_pairs"] = int(stored.filter(stored.n_days == 1).count().execute())
    figures["groups"] = int(known.select("customer_id", "category").distinct().count().execute())
    figures["calibration"] = calibration.as_dict() if calibration else None
    print(f"pairs {figures['pairs']:,} ({figures['single_purchase_pairs']:,} bought on one day), customer x "
          f"category groups {figures['groups']:,}; within reach of the cut: {figures.get('bounded_pairs', 0):,} pairs "
          f"in {figures.get('bounded_groups', 0):,} groups under the bound, {figures['known_pairs']:,} in "
          f"{figures['known_groups']:,} given every pair's probability")
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
