"""The back office's batch work at national scale: `clientele loyalty liability` and `review-tiers`.

    .venv/bin/python benchmarks/bench_loyalty_batch.py [--members 3000000] [--today 2026-11-23] [--fresh]
                                                        [--database clientele_batch_bench]

Builds once (server-side, with generate_series) a PostgreSQL database of its own,
clientele_batch_bench, kept between runs (--fresh drops it): --members members and points accounts,
~8 baskets each over the last 14 months (2% of them partly returned), and a ledger of ~10 entries
per account (a credit per basket, an opening balance, a redemption for one account in three, the
reversals of the returns). Then, each command in a fresh process (wall time, peak memory):

1. the reference: one PostgreSQL scan aggregating the ledger per account, in psql (what any
   liability report has to read at least once);
2. `clientele loyalty liability`;
3. `clientele loyalty review-tiers` as the first review (no member has a tier yet: every one moves),
   then a month later (the usual monthly run: few move).

Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import machine  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH_DB = "clientele_batch_bench"  # --database changes it (a smaller size kept beside the national one)
DATABASE_URL = f"{SERVER}/{BENCH_DB}"
#: The big tables are loaded without their secondary indexes and constraints, which are rebuilt once
#: afterwards: maintaining 8 indexes row by row would make the load several times slower.
BULK_TABLES = ("loyalty_basket", "loyalty_basketreturn", "loyalty_pointsentry")

SEED_STEPS = [
    ("store and tiers", """
INSERT INTO catalog_store (store_id, name, city, timezone) VALUES (1, 'Main street', '', 'America/Chicago')
ON CONFLICT DO NOTHING;
INSERT INTO loyalty_tier (name, rank, min_spend_12m, min_visits_12m, earning_multiplier, perks) VALUES
  ('Bronze', 0, 0, 0, 1, '[]'), ('Silver', 1, 300, 6, 1.1, '["recipes"]'),
  ('Gold', 2, 700, 11, 1.25, '["express lane"]'), ('Platinum', 3, 1000, 15, 1.5, '["home delivery"]');
"""),
    ("members", """
INSERT INTO members_member (customer_id, first_name, last_name, email, phone, address_line, postal_code, city,
  country, join_date, status, email_consent, sms_consent, post_consent, profiling_consent, created_at, updated_at)
SELECT g, 'Member', 'No ' || g, '', '', '', '', '', 'US', DATE '2020-01-01' + g % 1500, 'active',
  false, false, false, true, now(), now()
FROM generate_series(1, {members}) AS g;
"""),
    ("accounts", "INSERT INTO loyalty_loyaltyaccount (member_id, opened_at) SELECT id, now() FROM members_member;"),
    ("baskets", """
INSERT INTO loyalty_basket (store_id, till_id, receipt_number, transacted_at, member_id, channel, total,
  points_earned, request_hash, result, actor, created_at, lake_import_id, synced_at)
SELECT 1, 'T' || (v % 8), m.customer_id || '-' || v,
  TIMESTAMPTZ '{today} 18:00+00' - make_interval(days => ((m.customer_id * 31 + v * 37) % 430)::int, mins => ((v * 53) % 600)::int),
  m.id, 'store', t.total, floor(t.total), '', '{{}}', 'benchmark', now(), '', now()
FROM members_member m
CROSS JOIN LATERAL generate_series(1, (m.customer_id * 7919) % 17) AS v
CROSS JOIN LATERAL (SELECT (5 + (m.customer_id * 13 + v * 101) % 120 + 0.99)::numeric(14, 2) AS total) AS t;
"""),
    ("returns", """
INSERT INTO loyalty_basketreturn (basket_id, return_key, store_id, returned_at, refund, refund_reduction,
  points_reversed, result, actor, lake_import_id, synced_at)
SELECT id, '1/R' || id, 1, transacted_at + interval '3 days', round(total / 2, 2), 0, floor(points_earned / 2),
  '{{}}', 'benchmark', '', now()
FROM loyalty_basket WHERE id % 50 = 0;
"""),
    ("ledger: a credit per basket", """
INSERT INTO loyalty_pointsentry (account_id, kind, amount, available_from, expires_on, source, basket_id,
  idempotency_key, explanation, actor, created_at)
SELECT a.id, 'points_earned', b.points_earned, b.transacted_at + interval '30 days',
  (b.transacted_at + interval '730 days')::date, 'basket 1/' || b.till_id || '/' || b.receipt_number, b.id,
  'earn:1/' || b.till_id || '/' || b.receipt_number, '[{{"rule_id": 1, "version": 1, "rule": "base", "points": 1}}]',
  'benchmark', b.transacted_at
FROM loyalty_basket b JOIN loyalty_loyaltyaccount a ON a.member_id = b.member_id;
"""),
    ("ledger: opening balances, redemptions, reversals", """
INSERT INTO loyalty_pointsentry (account_id, kind, amount, available_from, expires_on, source, idempotency_key,
  explanation, actor, created_at)
SELECT a.id, 'opening_balance', 100 + m.customer_id % 1900, TIMESTAMPTZ '2024-01-01 00:00+00',
  DATE '{today}' + (m.customer_id % 90 - 20)::int, 'old system line ' || m.customer_id,
  'opening_balance:' || m.customer_id, '[]', 'benchmark', now()
FROM loyalty_loyaltyaccount a JOIN members_member m ON m.id = a.member_id;
INSERT INTO loyalty_pointsentry (account_id, kind, amount, available_from, source, idempotency_key, explanation,
  actor, created_at)
SELECT a.id, 'points_redeemed', -(m.customer_id % 90), TIMESTAMPTZ '{today} 12:00+00' - interval '20 days',
  'redemption 1/' || m.customer_id, 'redeem:1/' || m.customer_id, '[]', 'benchmark', now()
FROM loyalty_loyaltyaccount a JOIN members_member m ON m.id = a.member_id WHERE m.customer_id % 3 = 0;
INSERT INTO loyalty_pointsentry (account_id, kind, amount, available_from, expires_on, source, basket_id,
  idempotency_key, explanation, actor, created_at)
SELECT e.account_id, 'points_reversed', -r.points_reversed, r.returned_at, e.expires_on, 'return ' || r.return_key,
  r.basket_id, 'reverse:' || r.return_key, '[]', 'benchmark', r.returned_at
FROM loyalty_basketreturn r JOIN loyalty_pointsentry e ON e.basket_id = r.basket_id AND e.kind = 'points_earned';
"""),
]

REFERENCE_SQL = ("SELECT count(*), sum(available) FROM (SELECT account_id, sum(amount) AS available "
                 "FROM loyalty_pointsentry GROUP BY account_id) AS per_account")


def psql(sql: str, database: str = "postgres") -> str:
    done = subprocess.run(["psql", f"{SERVER}/{database}", "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"psql failed: {done.stderr.strip()}\n{sql}")
    return done.stdout.strip()


def ensure_database(fresh: bool) -> None:
    if fresh:
        psql(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'"):
        psql(f"CREATE DATABASE {BENCH_DB}")


def migrate() -> None:
    env = os.environ | {"DATABASE_URL": DATABASE_URL}
    subprocess.run([str(Path(sys.executable).with_name("clientele")), "db", "migrate"], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def _secondary_structures(table: str) -> tuple[list[str], list[str]]:
    """SQL that drops, and SQL that recreates, the table's secondary indexes, unique constraints
    and foreign keys (the primary key stays)."""
    constraints = psql(
        f"SELECT conname || '|' || contype::text || '|' || pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE conrelid = '{table}'::regclass AND contype IN ('f', 'u') ORDER BY contype DESC", BENCH_DB)
    indexes = psql(
        f"SELECT indexname || '|' || indexdef FROM pg_indexes WHERE tablename = '{table}' AND indexname NOT IN "
        f"(SELECT conindid::regclass::text FROM pg_constraint WHERE conrelid = '{table}'::regclass)", BENCH_DB)
    drop, create = [], []
    for line in filter(None, constraints.splitlines()):
        name, kind, definition = line.split("|", 2)
        drop.append(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        create.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for line in filter(None, indexes.splitlines()):
        name, definition = line.split("|", 1)
        drop.append(f"DROP INDEX {name}")
        create.insert(0, definition)  # indexes before the constraints that may use them
    return drop, create


def seed(members: int, today: date) -> None:
    """Fill the benchmark database (once); prints how long it took."""
    started = time.perf_counter()
    session = "SET synchronous_commit = off; SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'; "
    structures = [_secondary_structures(table) for table in BULK_TABLES]
    with Progress() as progress:
        task = progress.add_task("building the benchmark database", total=len(SEED_STEPS) + 2)
        psql(session + "; ".join(sql for drop, _ in structures for sql in drop), BENCH_DB)
        for name, sql in SEED_STEPS:
            progress.update(task, description=name)
            psql(session + sql.format(members=members, today=today.isoformat()), BENCH_DB)
            progress.advance(task)
        progress.update(task, description="indexes and constraints")
        psql(session + "; ".join(sql for _, create in structures for sql in create), BENCH_DB)
        progress.advance(task)
        progress.update(task, description="ANALYZE")
        psql("VACUUM ANALYZE", BENCH_DB)
        progress.advance(task)
    psql(f"CREATE TABLE bench_built AS SELECT {members} AS members", BENCH_DB)  # the build is complete
    counts = psql("SELECT (SELECT count(*) FROM loyalty_basket) || ' baskets, ' || "
                  "(SELECT count(*) FROM loyalty_pointsentry) || ' ledger entries'", BENCH_DB)
    print(f"built {members:,} members and accounts, {counts} in {time.perf_counter() - started:.0f} s")


def measure_alone(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of `command`, measured from a fresh process so
    that an earlier, bigger command cannot lend it its peak."""
    probe = ("import json, sys; sys.path.insert(0, sys.argv[1]); from _measure import run_measured; "
             "print(json.dumps(run_measured(json.loads(sys.argv[2]))))")
    out = subprocess.run([sys.executable, "-c", probe, str(Path(__file__).resolve().parent), json.dumps(command)],
                         check=True, capture_output=True, text=True, env=os.environ | {"DATABASE_URL": DATABASE_URL})
    wall, peak = json.loads(out.stdout)
    return wall, peak


def main() -> None:
    global BENCH_DB, DATABASE_URL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3_000_000)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the benchmark database")
    parser.add_argument("--database", default=BENCH_DB, help="the benchmark database's name")
    args = parser.parse_args()
    BENCH_DB, DATABASE_URL = args.database, f"{SERVER}/{args.database}"

    ensure_database(args.fresh)
    migrate()
    built = "SELECT members FROM bench_built" if psql("SELECT to_regclass('bench_built')", BENCH_DB) else "SELECT 0"
    if psql(built, BENCH_DB) != str(args.members):
        ensure_database(fresh=True)  # built for another size, or a build that died: start again
        migrate()
        seed(args.members, args.today)
    migrate()  # migrations added since the build
    clientele = str(Path(sys.executable).with_name("clientele"))
    print(machine())
    print(psql("SELECT (SELECT count(*) FROM loyalty_loyaltyaccount) || ' accounts, ' || (SELECT count(*) FROM "
               "loyalty_basket) || ' baskets, ' || (SELECT count(*) FROM loyalty_pointsentry) || ' ledger entries'",
               BENCH_DB))

    reference, _ = measure_alone(["psql", DATABASE_URL, "-Atqc", REFERENCE_SQL])
    print(f"reference, one scan of the ledger aggregated per account (psql): {reference:.1f} s")
    wall, peak = measure_alone([clientele, "loyalty", "liability", "--today", args.today.isoformat()])
    print(f"clientele loyalty liability: {wall:.1f} s ({wall / reference:.2f} x the reference), peak {peak:.0f} MB")

    psql("UPDATE loyalty_loyaltyaccount SET tier_id = NULL, tier_since = NULL, tier_grace_until = NULL "
         "WHERE tier_id IS NOT NULL OR tier_grace_until IS NOT NULL; TRUNCATE loyalty_tierchange", BENCH_DB)
    last_month = args.today - timedelta(days=30)
    for label, day in (("first review, every member gets a tier", last_month), ("monthly review", args.today)):
        wall, peak = measure_alone([clientele, "loyalty", "review-tiers", "--today", day.isoformat()])
        moves = psql(f"SELECT count(*) FROM loyalty_tierchange WHERE reviewed_on = '{day.isoformat()}'", BENCH_DB)
        print(f"clientele loyalty review-tiers --today {day} ({label}): {wall:.1f} s, peak {peak:.0f} MB, "
              f"{int(moves):,} moves recorded")


if __name__ == "__main__":
    main()
