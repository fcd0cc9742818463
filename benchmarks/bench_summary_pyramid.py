"""The summary report with the one (nightly) pyramid against the report's former whole-lake ranking.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_summary_pyramid.py [LAKE]

Both computed in this process on the same lake, alternating, best of 3: `reports.summary.compute`
(the pyramid over 365 days, bulk baskets capped) and the former report's work (totals and uncapped
spend per customer over the whole lake, ranked into levels). Prints seconds and the ratio, and how
many customers the two rankings put in another level.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import ibis

from clientele.analytics import baskets, customer_pyramid, last_day
from clientele.analytics.pyramid import assign_levels, level_summary
from clientele.config import settings
from clientele.lake.reader import basket_lines
from clientele.reports.summary import compute


def former_report(lines: ibis.Table) -> ibis.Table:
    """The former summary's pyramid: uncapped spend over the whole lake, per customer, in levels."""
    totals = lines.aggregate(customers=lines.customer_id.nunique(), baskets=lines.basket_id.nunique(),
                             revenue=lines.sales_value.sum())
    totals.to_pyarrow()
    members = lines.filter(lines.customer_id.notnull())
    spend = members.group_by("customer_id").aggregate(spend=members.sales_value.sum())
    leveled = ibis.memtable(assign_levels(spend, "spend").to_pyarrow())
    level_summary(leveled, "spend").to_pyarrow()
    return leveled


def main() -> None:
    lake = Path(sys.argv[1]) if len(sys.argv) > 1 else settings().lake_path
    seconds: dict[str, list[float]] = {"one_pyramid": [], "former": []}
    for _ in range(3):
        for name, run in (("former", former_report), ("one_pyramid", compute)):
            lines = basket_lines(ibis.duckdb.connect(), lake)
            started = time.perf_counter()
            result = run(lines)
            seconds[name].append(round(time.perf_counter() - started, 2))
            if name == "former":
                rows = result.select("customer_id", "pyramid_level").to_pyarrow().to_pylist()
                former = {row["customer_id"]: row["pyramid_level"] for row in rows}
    lines = basket_lines(ibis.duckdb.connect(), lake)
    nightly = customer_pyramid(baskets(lines), last_day(lines)).select("customer_id", "pyramid_level")
    moved = sum(former.get(row["customer_id"]) != row["pyramid_level"] for row in nightly.to_pyarrow().to_pylist())
    figures = {
        "seconds": seconds,
        "best_one_pyramid_s": min(seconds["one_pyramid"]), "best_former_s": min(seconds["former"]),
        "ratio_one_pyramid_to_former": round(min(seconds["one_pyramid"]) / min(seconds["former"]), 2),
        "customers_in_another_level": moved,
    }
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
