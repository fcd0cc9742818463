"""What a member's balance costs once they have years of history: the ledger's balance index with
the amount in it (migration loyalty 0009, decision 0017) against the index before it, in the same run.

    .venv/bin/python benchmarks/bench_ledger_balance.py [--accounts 20000] [--entries 150] [--seconds 10]
                                                         [--rounds 3] [--fresh]

Every balance (a checkout's answer, identify's greeting, a redemption's check) is a sum over all
the entries of one account (`ledger.balance_sums_sql`). Builds once (server-side, generate_series)
a PostgreSQL database of its own, clientele_ledger_bench, migrated by Django: --accounts accounts
with --entries credits each, written week by week as tills write them (each week's entries of all
accounts interleaved), so that one account's entries lie on as many heap pages; each entry the size
of a checkout's credit (its source, key and explanation). A copy of the ledger in the same order,
`ledger_before_0009`, has the index as it was: (account_id, available_from) without the amount.
Both indexes are filled as the entries are written, as in service; their sizes are printed as
filled, and as a build packs them (migration 0009 builds the new one on an existing ledger).

Then, alternating --rounds times, `pgbench -M prepared -c 1` sums the balance of random accounts
on each table for --seconds: the latency of one balance, and the ratio of the two. Also the
buffers one sum touches (EXPLAIN (ANALYZE, BUFFERS) over 200 accounts). The server's
shared_buffers is printed: at PostgreSQL's default (128 MB) it is smaller than the ledger, and the
pages come from the OS cache, as they would for members who shop once a week. The ledger is
vacuumed after it is built, so every entry is on an all-visible page: the index-only scan's best
case (entries written since the last vacuum are read from the table). Prints figures, asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import machine  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH_DB = "clientele_ledger_bench"
BEFORE = "ledger_before_0009"

FILL = """
INSERT INTO loyalty_pointsentry (kind, amount, available_from, expires_on, source, idempotency_key, explanation,
                                 actor, created_at, account_id)
SELECT 'points_earned', 5 + (random() * 95)::int, now() - ({entries} - week) * interval '7 days',
       current_date + 600 - ({entries} - week) * 7, 'basket 1/T' || account % 12 || '/' || week || '-' || account,
       'earn:1/T' || account % 12 || '/' || week || '-' || account,
       '[{{"rule": "1 point per dollar", "points": 42}}, {{"rule": "Store brand x2", "points": 12, "lines": [1, 4, 7]}}]',
       'api-key:3f9a1c2e', now(), account
FROM generate_series(1, {entries}) AS week, generate_series(1, {accounts}) AS account
ORDER BY week, random();
CREATE TABLE {before} (LIKE loyalty_pointsentry INCLUDING DEFAULTS);
CREATE INDEX {before}_account ON {before} (account_id, available_from);
INSERT INTO {before} SELECT * FROM loyalty_pointsentry ORDER BY id;
"""


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(["psql", f"{SERVER}/{database}", "-Atqc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def prepare(accounts: int, entries: int, fresh: bool) -> None:
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'")
    if exists and not fresh:
        built = psql(f"SELECT count(DISTINCT account_id) || ' ' || count(*) FROM {BEFORE}", BENCH_DB)
        if built == f"{accounts} {accounts * entries}":
            return
    psql(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    psql(f"CREATE DATABASE {BENCH_DB}")
    started = time.perf_counter()
    env = os.environ | {"DATABASE_URL": f"{SERVER}/{BENCH_DB}"}
    with Console().status(f"building {accounts:,} accounts x {entries} entries (about a minute per 3 M)"):
        subprocess.run([sys.executable, "-m", "clientele", "db", "migrate"], check=True, env=env,
                       capture_output=True)
        psql(FILL.format(accounts=accounts, entries=entries, before=BEFORE), BENCH_DB)
        psql("VACUUM (ANALYZE)", BENCH_DB)  # as a ledger in service is: visibility map and statistics set
    print(f"built {accounts:,} accounts x {entries} entries ({accounts * entries:,} entries, heap "
          f"{psql(f'SELECT pg_size_pretty(pg_relation_size($$loyalty_pointsentry$$))', BENCH_DB)}) "
          f"in {time.perf_counter() - started:.0f} s")


def balance_sql(table: str, account: str) -> str:
    """The balance as the product sums it (`ledger.balance_sums_sql`), on `table`."""
    from clientele.loyalty.ledger import balance_sums_sql

    available, pending = balance_sums_sql("now()")
    return f"SELECT {available}, {pending} FROM {table} e WHERE e.account_id = {account};"


def pgbench_latency_ms(table: str, accounts: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(f"\\set a random(1, {accounts})\n{balance_sql(table, ':a')}\n")
        script.flush()
        out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", "1", "-T", str(seconds), "-f", script.name,
                              f"{SERVER}/{BENCH_DB}"], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"latency average = ([\d.]+) ms", out).group(1))


def buffers_per_sum(table: str, accounts: int, samples: int = 200) -> float:
    """Mean shared buffers (hit + read) one balance touches, over `samples` accounts."""
    step = max(1, accounts // samples)
    statements = "".join(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) {balance_sql(table, str(a))}\n"
                         for a in range(1, accounts + 1, step)[:samples])
    out = subprocess.run(["psql", f"{SERVER}/{BENCH_DB}", "-Atq"], input=statements, check=True,
                         capture_output=True, text=True).stdout
    # The first Buffers line of each plan is its top node's: everything the sum touched.
    totals = []
    for plan in out.split("Aggregate")[1:]:
        found = re.search(r"Buffers: shared((?: \w+=\d+)+)", plan)
        totals.append(sum(int(n) for n in re.findall(r"=(\d+)", found.group(1))) if found else 0)
    return statistics.mean(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=150, help="entries per account (weeks of shopping)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"{SERVER}/{BENCH_DB}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "clientele.site.settings"
    import django

    django.setup()  # for `ledger.balance_sums_sql`, the product's own definition of a balance
    print(machine(), "· shared_buffers", psql("SHOW shared_buffers"))
    prepare(args.accounts, args.entries, args.fresh)
    tables = {"index without the amount (before 0009)": BEFORE, "index with the amount (0009)": "loyalty_pointsentry"}
    latencies: dict[str, list[float]] = {label: [] for label in tables}
    with Progress(transient=True) as progress:
        task = progress.add_task("pgbench runs", total=args.rounds * len(tables))
        for _ in range(args.rounds):  # alternating: the machine's drift falls on both
            for label, table in tables.items():
                latencies[label].append(pgbench_latency_ms(table, args.accounts, args.seconds))
                progress.advance(task)
    print(f"one balance of an account with {args.entries} entries, pgbench -M prepared -c 1, "
          f"{args.rounds} x {args.seconds} s each, alternating:")
    for label, table in tables.items():
        runs = ", ".join(f"{ms:.3f}" for ms in latencies[label])
        print(f"  {label}: median {statistics.median(latencies[label]):.3f} ms ({runs}); "
              f"{buffers_per_sum(table, args.accounts):.1f} buffers per sum")
    before, after = (statistics.median(latencies[label]) for label in tables)
    print(f"the index with the amount: {before / after:.1f} x faster ({after / before:.2f} of the time)")
    for label, table, columns, index in (("before 0009", BEFORE, "account_id, available_from", f"{BEFORE}_account"),
                                         ("0009", "loyalty_pointsentry", "account_id, available_from, amount",
                                          "ledger_account_balance")):
        # A copy built at once, as a build packs it, beside the one the entries filled.
        psql(f"CREATE INDEX packed ON {table} ({columns})", BENCH_DB)
        filled, packed = (psql(f"SELECT pg_size_pretty(pg_relation_size('{name}'))", BENCH_DB)
                          for name in (index, "packed"))
        psql("DROP INDEX packed", BENCH_DB)
        print(f"  index size, {label}: {filled} as the entries filled it, {packed} as built at once")


if __name__ == "__main__":
    main()
