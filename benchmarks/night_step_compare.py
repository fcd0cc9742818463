"""Two driver runs (night_step_driver.py) compared: rows in one and not the other.

  python benchmarks/night_step_compare.py OUT_A OUT_B                  # the forecasts and purchase history copied out
  python benchmarks/night_step_compare.py --results RESULTS_A RESULTS_B  # every result table (runs kept with --keep)

With --results, each table is read merged (base and delta, the rank computed as `read_result`
does) and compared without refresh_date, so a night and a full refresh of the same day compare.
"""
import sys
from pathlib import Path

import duckdb

from clientele.analytics.results import result_source
from clientele.refresh import STEPS


def differing(a: str, b: str) -> int:
    return duckdb.sql(f"select (select count(*) from (from {a} except all from {b})) + "
                      f"(select count(*) from (from {b} except all from {a}))").fetchall()[0][0]


if sys.argv[1] == "--results":
    x, y = Path(sys.argv[2]), Path(sys.argv[3])
    for t in STEPS:
        a, b = (f"({result_source(folder, t)})" for folder in (x, y))
        if "refresh_date" in duckdb.sql(f"describe {a}").df().column_name.tolist():
            a, b = (f"(select * exclude (refresh_date) from {s})" for s in (a, b))
        print(t, duckdb.sql(f"select count(*) from {a}").fetchall()[0][0], "differ", differing(a, b))
else:
    x, y = sys.argv[1], sys.argv[2]
    for t in ('forecasts', 'customer_history'):
        a = f"read_parquet('{x}/{t}/*.parquet')"; b = f"read_parquet('{y}/{t}/*.parquet')"
        print(t, duckdb.sql(f'select count(*) from {a}').fetchall(), 'differ', differing(a, b))
