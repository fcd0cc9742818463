"""Statistical honesty of the campaign lift estimators, on simulated campaigns with a known true lift.

The members come from the synthetic generator (`lake.synth`): a lake of --customers customers over
6 months; each member's spend and visits in the 28-day window and in the 91 days before it are read
by the same Ibis expression the measurement uses (`analytics.campaign_measure.member_outcomes`).
Each simulated campaign draws an audience of --audience members from them, splits it with the
stratified holdout (`analytics.holdout_draw`, a new seed each time, 10%), and gives the treated a
known effect: spend x (1 + LIFT), and each treated non-buyer becomes a buyer with chance CONVERT.
(--no-stratify: one stratum.) Over --campaigns campaigns it prints: the coverage of the 95% intervals of the relative spend lift
(Welch stratified as the draw + delta method, and CUPED) and of the repurchase-rate difference (Newcombe on the stratum-weighted rates, and plain Newcombe
ignoring the strata, as before); the
false-positive rate at 5% with no effect (A/A); and the CUPED interval's width over the plain one.

    .venv/bin/python benchmarks/bench_campaign_lift.py --campaigns 1000
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from clientele.analytics.campaign_measure import ASSIGNMENT_SCHEMA, member_outcomes
from clientele.analytics.holdout_draw import stratified_holdout
from clientele.analytics.lift import cuped_lift, rate_lift, stratified_mean_lift, stratified_rate_lift
from clientele.engine import connect
from clientele.lake.reader import basket_lines
from clientele.lake.synth import synthesize

LIFT, CONVERT, SHARE = 0.05, 0.05, 0.10
WINDOW_START, WINDOW_END = date(2024, 5, 1), date(2024, 5, 28)


def products_file(folder: Path) -> Path:
    """A small products table for the generator (categories of both brand types)."""
    n = 200
    table = pa.table({"product_id": pa.array(range(1, n + 1), pa.int64()),
                      "manufacturer_id": pa.array([1 + i % 20 for i in range(n)], pa.int64()),
                      "department": ["GROCERY"] * n, "brand_type": ["Private" if i % 3 == 0 else "National" for i in range(n)],
                      "category": [f"CAT{i % 25}" for i in range(n)], "subcategory": [f"SUB{i % 50}" for i in range(n)],
                      "package_size": [None] * n})
    path = folder / "products.parquet"
    pq.write_table(table, path)
    return path


def members(customers: int, lines: int) -> dict[str, np.ndarray]:
    """Per synthetic customer: window spend and visits, pre-window spend and visits."""
    folder = Path(tempfile.mkdtemp(prefix="campaign-sim-"))
    synthesize(folder / "lake", customers, lines, products_file(folder), months=6, seed=11)
    con = connect("duckdb")
    everyone = pa.table({"customer_id": pa.array(range(1, customers + 1), pa.int64()),
                         "treated": [True] * customers, "stratum": [""] * customers}, schema=ASSIGNMENT_SCHEMA)
    outcomes = member_outcomes(basket_lines(con, folder / "lake"), ibis.memtable(everyone), WINDOW_START, WINDOW_END,
                               91).to_pyarrow()
    return {name: outcomes.column(name).to_numpy() for name in ("customer_id", "spend", "visits", "pre_spend")}


def simulate(pool: dict[str, np.ndarray], campaigns: int, audience: int, stratify: bool, seed: int = 1) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    deciles = np.searchsorted(np.quantile(pool["pre_spend"], np.linspace(0.1, 0.9, 9)), pool["pre_spend"])
    if not stratify:
        deciles = np.zeros_like(deciles)
    base_rate = (pool["visits"] > 0).mean()
    true_rate_diff = (1 - base_rate) * CONVERT
    hits = {"spend": 0, "spend_cuped": 0, "rate": 0, "aa_spend": 0, "aa_cuped": 0, "aa_rate": 0,
            "rate_unstratified": 0}
    width_ratios = []
    for campaign in range(campaigns):
        chosen = rng.choice(len(pool["spend"]), size=audience, replace=False)
        held = stratified_holdout(int(rng.integers(1 << 62)), pool["customer_id"][chosen], deciles[chosen], SHARE)
        treated = ~held
        spend, pre, bought = pool["spend"][chosen], pool["pre_spend"][chosen], pool["visits"][chosen] > 0
        effect_spend = np.where(treated, spend * (1 + LIFT), spend)
        converted = treated & ~bought & (rng.random(audience) < CONVERT)
        effect_bought = bought | converted
        strata = deciles[chosen]
        plain = stratified_mean_lift("spend", effect_spend, treated, strata)
        adjusted = cuped_lift("spend", effect_spend, pre, treated, strata)
        rate = stratified_rate_lift("repurchase_rate", effect_bought, treated, strata)
        unstratified = rate_lift("repurchase_rate", int(effect_bought[treated].sum()), int(treated.sum()),
                                 int(effect_bought[held].sum()), int(held.sum()))
        hits["spend"] += plain.covers(LIFT)
        hits["spend_cuped"] += adjusted.covers(LIFT)
        hits["rate"] += rate.difference_low <= true_rate_diff <= rate.difference_high
        hits["rate_unstratified"] += unstratified.difference_low <= true_rate_diff <= unstratified.difference_high
        width_ratios.append((adjusted.difference_high - adjusted.difference_low)
                            / (plain.difference_high - plain.difference_low))
        hits["aa_spend"] += stratified_mean_lift("spend", spend, treated, strata).p_value < 0.05
        hits["aa_cuped"] += cuped_lift("spend", spend, pre, treated, strata).p_value < 0.05
        hits["aa_rate"] += stratified_rate_lift("repurchase_rate", bought, treated, strata).p_value < 0.05
    return {name: count / campaigns for name, count in hits.items()} | {
        "cuped_width_ratio": float(np.median(width_ratios)), "base_repurchase_rate": float(base_rate)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--audience", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--lines", type=int, default=4_000_000)
    parser.add_argument("--no-stratify", action="store_true",
                        help="One stratum (complete randomisation) instead of the deciles of pre-campaign spend.")
    args = parser.parse_args()
    pool = members(args.customers, args.lines)
    print(f"synthetic members: {len(pool['spend']):,}; mean window spend {pool['spend'].mean():.2f}; "
          f"{args.campaigns} campaigns of {args.audience:,} members, holdout {SHARE:.0%}, true spend lift {LIFT:.0%}, "
          f"conversion of non-buyers {CONVERT:.0%}, holdout stratified by "
          f"{'nothing' if args.no_stratify else 'decile of pre-campaign spend'}")
    result = simulate(pool, args.campaigns, args.audience, stratify=not args.no_stratify)
    print(f"coverage of the 95% interval, relative spend lift (stratified Welch + delta): {result['spend']:.1%}")
    print(f"coverage of the 95% interval, relative spend lift (CUPED):        {result['spend_cuped']:.1%}")
    print(f"coverage of the 95% interval, repurchase-rate difference (Newcombe on stratum-weighted rates): "
          f"{result['rate']:.1%}")
    print(f"  the same, Newcombe ignoring the strata (before): {result['rate_unstratified']:.1%}")
    print(f"A/A false-positive rate at 5%: spend Welch {result['aa_spend']:.1%}, spend CUPED {result['aa_cuped']:.1%}, "
          f"repurchase rate {result['aa_rate']:.1%}")
    print(f"CUPED interval width / plain interval width (median): {result['cuped_width_ratio']:.3f}")
    print(f"base repurchase rate in the window: {result['base_repurchase_rate']:.1%}")


if __name__ == "__main__":
    main()
