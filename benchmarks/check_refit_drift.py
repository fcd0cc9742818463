"""How far the model tables drift between refits: a night scored with models fitted 6 days before
against the same night refitted.

    PYTHONPATH=src .venv/bin/python benchmarks/check_refit_drift.py LAKE

LAKE is the working lake of bench_incremental_refresh.py (its last day split off beside it, in
../new-day.parquet; run that first, e.g. with --source var/bench/lake-1m). Refreshes days 1..N-7 in
full, N-1 and N incrementally (the models kept from N-7's fit), keeps those results aside, refreshes
N again in full (refit), and prints the differences of the forecasts, value tiers and next purchases.
"""
import json
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb

from clientele.refresh import refresh

lake = Path(sys.argv[1]).resolve()
month = sorted(p for p in (lake / "basket_lines").iterdir() if p.is_dir())[-1]
(month / "import-new-day-0.parquet").unlink(missing_ok=True)
shutil.rmtree(lake / "results", ignore_errors=True)
day = date(2026, 12, 6)
# fitted 7 days before the new day (the longest a schedule keeps them): as_of N-7, then N-1, then N
last = date(2025, 12, 31)
refresh(engine="duckdb", lake=lake, refresh_date=day - timedelta(days=2), as_of=last - timedelta(days=6), restart=True)
refresh(engine="duckdb", lake=lake, refresh_date=day - timedelta(days=1), as_of=last - timedelta(days=1))
shutil.copyfile(lake.parent / "new-day.parquet", month / "import-new-day-0.parquet")
r = refresh(engine="duckdb", lake=lake, refresh_date=day)
print(r.mode, json.loads((lake / "results/_state/models.json").read_text())["fitted_as_of"])
aside = lake.parent / "kept-results"
shutil.rmtree(aside, ignore_errors=True)
shutil.copytree(lake / "results", aside)
refresh(engine="duckdb", lake=lake, refresh_date=day, restart=True)
con = duckdb.connect()
def q(sql):
    return con.execute(sql).fetchall()
for table, cols, key in (("forecasts", ["expected_purchases", "probability_alive", "churn_risk", "predicted_clv"], "customer_id"),):
    for c in cols:
        print(table, c, q(f"""SELECT max(abs(a.{c} - b.{c})), avg(abs(a.{c} - b.{c})), avg(abs(b.{c}))
            FROM read_parquet('{aside}/{table}/*.parquet') a JOIN read_parquet('{lake}/results/{table}/*.parquet') b USING ({key})"""))
print("at_risk flips", q(f"SELECT count(*) FILTER (WHERE a.at_risk <> b.at_risk), count(*) FROM read_parquet('{aside}/forecasts/*.parquet') a JOIN read_parquet('{lake}/results/forecasts/*.parquet') b USING (customer_id)"))
print("value_tier moves", q(f"SELECT count(*) FILTER (WHERE a.value_tier <> b.value_tier), count(*) FROM read_parquet('{aside}/value/*.parquet') a JOIN read_parquet('{lake}/results/value/*.parquet') b USING (customer_id)"))
print("next_purchases rows kept/refit/common", q(f"SELECT (SELECT count(*) FROM read_parquet('{aside}/next_purchases/*.parquet')), (SELECT count(*) FROM read_parquet('{lake}/results/next_purchases/*.parquet')), (SELECT count(*) FROM read_parquet('{aside}/next_purchases/*.parquet') a JOIN read_parquet('{lake}/results/next_purchases/*.parquet') b USING (customer_id, product_id))"))
print("next_purchases probability", q(f"SELECT max(abs(a.probability - b.probability)), avg(abs(a.probability - b.probability)) FROM read_parquet('{aside}/next_purchases/*.parquet') a JOIN read_parquet('{lake}/results/next_purchases/*.parquet') b USING (customer_id, product_id)"))
