"""The back office's server time with a 3M-member database (PostgreSQL): the customer 360 page
(p95, target <= 200 ms), the member search (p95, target <= 100 ms) and the dashboard (target <= 1 s).

The members, cards, accounts and opening balances are seeded as bench_checkout seeds them (its
`prepare`, on a database of this benchmark's own); then each member gets a refresh profile, and the
lake's per-customer result tables are generated with DuckDB at the sizes a lake of ~100M lines gives
(baskets, brand cells, category levels, traits, next purchases, visits, lifecycle months), in
customer order as the refresh writes them (`--order shuffled`: in no order, as before decision
0029), then copied into the customer view file as the refresh's last step does (decision 0041).
The dashboard's figures are stored as the nightly step stores them (decision 0042), timed. Pages are
asked through Django's test client, in process: server time without the network. Prints its
figures; asserts nothing on time.

    CLIENTELE_BENCH_DB=bench_i18_backoffice python benchmarks/bench_backoffice.py [--members 3000000]
        [--requests 200] [--order customer|shuffled] [--home DIR] [--prepare-only]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_checkout  # noqa: E402  (its seeding, reused)

bench_checkout.BENCH_DB = os.environ.get("CLIENTELE_BENCH_DB", "clientele_bench_backoffice")

PROFILE_SQL = """
UPDATE members_member SET email = 'member' || customer_id || '@example.com' WHERE email = '';
INSERT INTO members_customerprofile (member_id, refreshed_on, rfm_segment, recency_days, frequency, monetary,
  pyramid_level, value_class, value_tier, lifecycle_stage, deal_proneness, churn_risk, at_risk, predicted_clv,
  clv_lower, clv_upper, expected_next_visit, expected_purchases, probability_alive)
SELECT id, DATE '2018-01-02', (ARRAY['Champions','Loyal','At risk','Lost'])[1 + customer_id % 4], customer_id % 90,
  customer_id % 40, customer_id % 3000, (ARRAY['VIP','major','medium','small'])[1 + customer_id % 4], 'B', 'gold',
  'stability', 0.3, (customer_id % 100) / 100.0, customer_id % 100 >= 50, 500, 300, 800, DATE '2018-01-09', 4, 0.8
FROM members_member ON CONFLICT DO NOTHING;
"""

#: result table -> DuckDB SELECT over `customers` (customer_id) making its rows, in random order
RESULTS = {
    "baskets": "SELECT customer_id, (customer_id * 100 + b)::VARCHAR AS basket_id, DATE '2017-01-01' + (b * 12)::INTEGER AS basket_date,"
               " 20.0 + b AS spend, 1.0 AS discount, 0.0 AS deal_spend, DATE '2017-01-01' AS basket_month"
               " FROM customers, range(30) t(b)",
    "brand_loyalty": "SELECT customer_id, 'CATEGORY ' || c AS category, 10.0 * c AS category_spend, 0.2 AS store_brand_share,"
                     " 'switcher' AS brand_loyalty, 'medium' AS usage FROM customers, range(8) t(c)",
    # stored without its rank, which readers compute (decision 0128)
    "category_pyramid": "SELECT customer_id, 'GROCERY' AS department, 'CATEGORY ' || c AS category, c AS category_code,"
                        " 10.0 * c + customer_id % 7 AS category_spend, 'medium' AS category_level"
                        " FROM customers, range(5) t(c)",
    "traits": "SELECT customer_id, 'trait ' || t AS trait, t = 0 AS has_trait, 0.7 AS confidence, 3.0 AS evidence"
              " FROM customers, range(3) t(t)",
    "next_purchases": "SELECT customer_id, 1000 + p AS product_id, 0.3 AS probability, TIMESTAMP '2018-01-05' AS expected_date,"
                      " 14.0 AS typical_cycle_days, TIMESTAMP '2017-12-20' AS last_purchase FROM customers, range(6) t(p)",
    "next_visits": "SELECT customer_id, TIMESTAMP '2017-12-30' AS last_visit, 7.0 AS typical_gap_days,"
                   " TIMESTAMP '2018-01-06' AS expected_next_visit, 0.8 AS probability_visit FROM customers",
    "lifecycle_history": "SELECT customer_id, TIMESTAMP '2017-01-01' + INTERVAL (m) MONTH AS month, m + 1 AS tenure_months,"
                         " 100.0 AS spend, 'stability' AS lifecycle_stage FROM customers, range(12) t(m)",
    "lifecycle": "SELECT customer_id, 'stability' AS lifecycle_stage, NULL::VARCHAR AS exit_pattern FROM customers",
    "refresh_flows": "SELECT 'formation' AS from_stage, 'stability' AS to_stage, 1000 AS customers",
    "stage_flows": "SELECT TIMESTAMP '2017-12-01' AS month, 'formation' AS from_stage, 'stability' AS to_stage, 1000 AS customers",
    "year_over_year": "SELECT customer_id, customer_id AS last_rank, 5000.0 AS last_spend, 0.0 AS this_spend, 0 AS this_baskets,"
                      " false AS bought_again, -1.0 AS spend_change FROM customers WHERE customer_id <= 50",
}


#: --order: how the result files are ordered; `customer` as the refresh writes them since decision 0029
ORDER = {"customer": "customer_id", "shuffled": "hash(customer_id)"}


def write_results(lake: Path, members: int, order: str) -> None:
    """The per-customer result tables of `members` customers, as Parquet in <lake>/results/, rows in
    `order` (ORDER's keys)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE TABLE customers AS SELECT range + 1 AS customer_id FROM range({members})")
    for table, select in RESULTS.items():
        folder = lake / "results" / table
        if (folder / "part-0.parquet").exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        ordered = f"ORDER BY {ORDER[order]}" if "customer_id" in select else ""
        con.execute(f"COPY (SELECT *, DATE '2018-01-02' AS refresh_date FROM ({select}) {ordered})"
                    f" TO '{folder}/part-0.parquet' (FORMAT parquet, COMPRESSION zstd)")
        print(f"  results/{table}: {time.perf_counter() - started:.0f} s")
    (lake / "results" / "_refresh.json").write_text('{"refresh_date": "2018-01-02", "as_of": "2018-01-01"}')
    from clientele.analytics.customer_view import VIEW_FILE, write_customer_view

    if not (lake / "results" / VIEW_FILE).exists():
        started = time.perf_counter()
        rows = write_customer_view(lake)
        print(f"  results/{VIEW_FILE} (the refresh's last step, decision 0041): {sum(rows.values()):,} rows "
              f"in {time.perf_counter() - started:.0f} s")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def timed(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code not in (200, 302):
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=3_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--order", choices=list(ORDER), default="customer",
                        help="result files in customer order (as the refresh writes them) or shuffled (as before)")
    parser.add_argument("--prepare-only", action="store_true", help="build the database and result files, measure nothing")
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "clientele-bench-backoffice")
    args = parser.parse_args()
    os.environ["CLIENTELE_HOME"] = str(args.home)
    os.environ["CLIENTELE_LAKE"] = str(args.home / f"lake-{args.order}")
    lake = args.home / f"lake-{args.order}"
    bench_checkout.prepare(args.members, args.members, fresh=False)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM members_customerprofile")
        if cursor.fetchone()[0] < args.members:
            started = time.perf_counter()
            cursor.execute(PROFILE_SQL)
            print(f"profiles and e-mails of {args.members:,} members: {time.perf_counter() - started:.0f} s")
    bench_checkout.psql("VACUUM (ANALYZE) members_member, members_customerprofile", bench_checkout.BENCH_DB)
    write_results(lake, args.members, args.order)
    if args.prepare_only:
        return

    from django.contrib.auth import get_user_model
    from django.test import Client

    from clientele.backoffice.services import add_user

    users = get_user_model()
    agent = users.objects.filter(username="bench-agent").first() or add_user("bench-agent", "x" * 12, "service agent")
    analyst = users.objects.filter(username="bench-analyst").first() or add_user("bench-analyst", "x" * 12, "analyst")
    client, dashboard_client = Client(), Client()
    client.force_login(agent)
    dashboard_client.force_login(analyst)
    rng = random.Random(0)
    picks = [rng.randint(1, args.members) for _ in range(args.requests)]
    timed(client, f"/backoffice/members/{picks[0]}/")  # the first request loads the code
    customer_360 = [timed(client, f"/backoffice/members/{n}/") for n in picks]
    # the reference in the same run: the back office's home page (session, user, permissions, the
    # admin's frame; no member data), the floor under every page at this moment's machine load
    floor = [timed(client, "/backoffice/") for _ in picks]
    searches = {
        "member number": [timed(client, f"/backoffice/members/?q={n}") for n in picks],
        "phone": [timed(client, f"/backoffice/members/?q=%2B1{n:010d}") for n in picks],
        "e-mail": [timed(client, f"/backoffice/members/?q=MEMBER{n}@example.com") for n in picks],
        "name": [timed(client, f"/backoffice/members/?q=Member+No+{n}") for n in picks],
    }
    from clientele.backoffice.dashboard import store_nightly

    started = time.perf_counter()
    store_nightly(date.today())  # the nightly refresh's last step (decision 0042)
    nightly = time.perf_counter() - started
    cold = timed(dashboard_client, "/backoffice/dashboard/")  # the first request reads what the refresh stored
    dashboards = [timed(dashboard_client, "/backoffice/dashboard/") for _ in range(10)]
    other_period = "/backoffice/dashboard/?from=2017-11-01&to=2017-11-28"
    other_cold = timed(dashboard_client, other_period)  # any other period: computed on request, then kept
    other_cached = timed(dashboard_client, other_period)
    print(f"members {args.members:,}; result files in {args.order} order; {args.requests} requests each; "
          "server time in process (ms)")
    print(f"customer 360 page: p50 {statistics.median(customer_360):.0f}, p95 {p95(customer_360):.0f} (target <= 200); "
          f"reference, the home page: p50 {statistics.median(floor):.1f}, p95 {p95(floor):.1f}; "
          f"ratio of the p50s {statistics.median(customer_360) / statistics.median(floor):.1f}")
    for kind, samples in searches.items():
        print(f"search by {kind}: p50 {statistics.median(samples):.1f}, p95 {p95(samples):.1f} (target <= 100)")
    print(f"dashboard (default period, stored by the nightly step in {nightly:.1f} s): first {cold:.0f}, "
          f"then p50 {statistics.median(dashboards):.0f}, max {max(dashboards):.0f} (target <= 1000)")
    print(f"dashboard, another period (computed on request): first {other_cold:.0f}, then {other_cached:.0f}")


if __name__ == "__main__":
    main()
