"""A campaign over millions of members: audience selection and holdout draw, storing the
assignments, and the measurement over a synthetic lake.

Builds, in a temporary Clientele home: a synthetic lake of --customers customers and about --lines
basket lines over 4 months (`lake.synth`), and a nightly profile of those customers (pyramid level
and lifecycle stage spread as the Complete Journey's). Then, on the operational database of
DATABASE_URL (default SQLite in the temporary home; migrated first), it times:
- the audience's selection and the stratified holdout draw (`analytics.holdout_draw.draw_audience`);
- the whole launch (`campaigns.services.launch`: the same draw plus storing every assignment);
- the measurement (`campaigns.measurement.measure_campaign`) over the lake, on --engine.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/h20_bench .venv/bin/python benchmarks/bench_campaign_scale.py \
        --customers 3000000 --lines 20000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

WINDOW = (date(2024, 4, 1), date(2024, 4, 28))


def write_profiles(lake: Path, customers: int) -> None:
    rng = np.random.default_rng(3)
    levels = rng.choice(["VIP", "major", "medium", "small"], size=customers, p=[0.01, 0.04, 0.15, 0.80])
    stages = rng.choice(["exploration", "formation", "stability", "decline", "lapsed"], size=customers,
                        p=[0.05, 0.35, 0.25, 0.25, 0.10])
    folder = lake / "results" / "customer_profiles"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"customer_id": pa.array(np.arange(1, customers + 1), pa.int64()),
                             "pyramid_level": levels, "lifecycle_stage": stages, "rfm_segment": ["Loyal"] * customers,
                             "at_risk": stages == "decline"}), folder / "part-0.parquet")


def products(folder: Path) -> Path:
    n = 200
    path = folder / "products.parquet"
    pq.write_table(pa.table({
        "product_id": pa.array(range(1, n + 1), pa.int64()), "manufacturer_id": pa.array([1] * n, pa.int64()),
        "department": ["GROCERY"] * n, "brand_type": ["Private" if i % 3 == 0 else "National" for i in range(n)],
        "category": [f"CAT{i % 25}" for i in range(n)], "subcategory": [f"SUB{i % 50}" for i in range(n)],
        "package_size": [None] * n}), path)
    return path


def count_lines(lake: Path) -> int:
    import duckdb

    return duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{lake}/basket_lines/**/*.parquet')").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3_000_000)
    parser.add_argument("--lines", type=int, default=20_000_000)
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--lake", type=Path, help="a lake folder to build once and reuse (default: a temporary one)")
    parser.add_argument("--build-only", action="store_true", help="build the lake and the profiles, then stop")
    parser.add_argument("--measure-only", type=int, metavar="ID",
                        help="only measure campaign ID, launched by an earlier run on the same database")
    parser.add_argument("--audience", default="lifecycle=formation OR lifecycle=stability OR lifecycle=decline "
                                              "OR lifecycle=exploration OR lifecycle=lapsed")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="campaign-scale-"))
    os.environ["CLIENTELE_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "clientele.site.settings"
    from clientele.lake.synth import synthesize

    lake = args.lake or home / "lake"
    os.environ["CLIENTELE_LAKE"] = str(lake)
    started = time.perf_counter()
    if not (lake / "results" / "customer_profiles").exists():
        synthesize(lake, args.customers, args.lines, products(home), months=4, seed=5)
        write_profiles(lake, args.customers)
        print(f"lake built in {time.perf_counter() - started:.0f} s")
    lines = count_lines(lake)
    print(f"lake {lake}: {lines:,} lines, {args.customers:,} customers")
    if args.build_only:
        return

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    from clientele.analytics.holdout_draw import draw_audience
    from clientele.analytics.results import read_result, segment_members
    from clientele.campaigns import services
    from clientele.campaigns.measurement import measure_campaign
    from clientele.engine import connect

    if args.measure_only:
        time_measurement(args.measure_only, args.engine, lines)
        return
    con = connect(args.engine)
    started = time.perf_counter()
    groups = draw_audience(segment_members(con, args.audience), read_result(con, "customer_profiles"),
                           ["pyramid_level", "lifecycle_stage"], 42, 0.1)
    draw = time.perf_counter() - started
    print(f"audience selection and holdout draw ({args.engine}): {groups.num_rows:,} members in {draw:.1f} s")
    campaign = services.create_campaign(services.CampaignIn(
        name="scale", owner="bench", goal_metric="spend", goal_target=Decimal("0.05"), window_start=WINDOW[0],
        window_end=WINDOW[1], audience=args.audience, holdout_share=Decimal("0.1")))
    started = time.perf_counter()
    counts = services.launch(campaign.id)
    launch = time.perf_counter() - started
    print(f"launch on {connection.vendor} (draw + store {sum(counts.values()):,} assignments): {launch:.1f} s")
    time_measurement(campaign.id, args.engine, lines)


def time_measurement(campaign_id: int, engine: str, lines: int) -> None:
    from clientele.campaigns.measurement import measure_campaign

    started = time.perf_counter()
    result = measure_campaign(campaign_id, engine)
    measure = time.perf_counter() - started
    print(f"measurement of campaign {campaign_id} over {lines:,} lines ({engine}): {measure:.1f} s; "
          f"spend lift {result['lifts']['spend']['relative']:+.2%} (A/A: no true effect)")
    started = time.perf_counter()
    measure_campaign(campaign_id, engine)
    print(f"the same again (assignments already exported to Parquet): {time.perf_counter() - started:.1f} s")

if __name__ == "__main__":
    main()
