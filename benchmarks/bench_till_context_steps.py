"""What the customer-care refresh steps cost the nightly refresh: `complementary_categories`,
`till_context` and `customer_margin` on a lake, each timed (wall and CPU) against the refresh's
`category_spend` step on the same lake in the same run (a step of the same kind: every member line
joined to its product's category and grouped), as ratios. DuckDB, in process; the lake is read,
the results go to a temporary folder.

    flock /work/wt/notes/bench.lock python benchmarks/bench_till_context_steps.py [--lake PATH] [--window-days 365]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=ROOT / "var" / "lake")
    parser.add_argument("--window-days", type=int, default=365)
    args = parser.parse_args()
    from clientele.analytics import category_spend, last_day
    from clientele.analytics.margin import customer_margin
    from clientele.analytics.till_context import complementary_categories, till_context
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines, read_table

    con = connect("duckdb")
    lines, products = basket_lines(con, args.lake), read_table(con, "products", args.lake)
    since = last_day(lines) - timedelta(days=args.window_days - 1)
    figures, rows = {}, {}
    with tempfile.TemporaryDirectory() as out:
        def timed(name: str, table):
            started, cpu = time.perf_counter(), time.process_time()
            path = Path(out) / f"{name}.parquet"
            con.to_parquet(table, path)
            figures[name] = {"wall_s": round(time.perf_counter() - started, 2),
                             "cpu_s": round(time.process_time() - cpu, 2)}
            rows[name] = con.read_parquet(path).count().execute()
            return con.read_parquet(path)

        spend = timed("category_spend", category_spend(lines, products, since=since))
        pairs = timed("complementary_categories", complementary_categories(lines, products, since=since))
        timed("till_context", till_context(lines, products, spend, pairs))
        timed("customer_margin", customer_margin(lines, 0.25))
    reference = figures["category_spend"]
    print(json.dumps({
        "lake": str(args.lake), "lines": lines.count().execute(), "window_days": args.window_days,
        "load_average": [round(x, 2) for x in os.getloadavg()], "rows": rows, "seconds": figures,
        "wall_ratio_to_category_spend": {name: round(f["wall_s"] / reference["wall_s"], 2) for name, f in figures.items()},
        "cpu_ratio_to_category_spend": {name: round(f["cpu_s"] / max(reference["cpu_s"], 0.01), 2)
                                        for name, f in figures.items()},
    }, indent=1))


if __name__ == "__main__":
    main()
