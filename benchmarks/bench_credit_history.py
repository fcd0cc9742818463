"""The history credited in batch (`clientele loyalty credit-history`) against the till's own path.

    .venv/bin/python benchmarks/bench_credit_history.py [--databases sqlite postgresql]
        [--postgres postgresql://postgres@127.0.0.1:5432/h17p] [--synth-lines 10000000]
        [--synth-customers 100000] [--reference-baskets 300] [--home var/bench-credit-history]

For each database, from an empty operational database (SQLite: a new file; PostgreSQL: the
database dropped and created again): migrate, import the Complete Journey (the lake is imported once
and kept under --home), install the default programme, then, each command in a fresh process (wall
time, CPU of the command's process, peak memory):

1. `clientele loyalty credit-history` on the 155,848 baskets of the Complete Journey;
2. the same command again (nothing left to credit: what a re-run costs);
3. the reference, in the same run: the till's own checkout (`loyalty.services.post_basket`, in
   process, no HTTP) of --reference-baskets real baskets of the lake re-dated to now, one at a
   time; its time per basket x 155,848 is what crediting the history through the till would take.

Then, unless --synth-lines is 0, the same crediting on a synthetic lake (`clientele synth`,
--synth-lines lines of --synth-customers customers over 24 months), each customer made a member.

Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import machine, run_measured_cpu  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIENTELE = [sys.executable, "-m", "clientele"]
CJ_BASKETS = 155_848


def _env(home: Path, database_url: str | None, lake: Path | None = None) -> dict:
    env = {**os.environ, "CLIENTELE_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
    env.pop("DATABASE_URL", None)
    env.pop("CLIENTELE_LAKE", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    if lake:
        env["CLIENTELE_LAKE"] = str(lake)
    return env


def _run(args: list[str], env: dict) -> None:
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)


def _fresh_database(home: Path, database_url: str | None) -> None:
    """An empty operational database: a new SQLite file, or the PostgreSQL database created again."""
    if database_url is None:
        for suffix in ("", "-wal", "-shm"):
            (home / f"clientele.sqlite3{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    server, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')


def _measure(label: str, args: list[str], env: dict, baskets: int) -> float:
    wall, cpu, peak = run_measured_cpu(args, env)
    print(f"  {label}: {wall:.1f} s wall, {cpu:.1f} s CPU (the command's process), peak {peak:.0f} MB"
          f" ({baskets / wall:,.0f} baskets/s; load average {os.getloadavg()[0]:.1f})", flush=True)
    return wall


def bench_complete_journey(home: Path, database_url: str | None, reference_baskets: int) -> None:
    env = _env(home, database_url)
    print(f"\n{'PostgreSQL' if database_url else 'SQLite'}: the Complete Journey ({CJ_BASKETS:,} baskets)", flush=True)
    _fresh_database(home, database_url)
    for step in (["db", "migrate"], ["import", "completejourney"], ["loyalty", "default-programme"]):
        _run([*CLIENTELE, *step], env)
    batch = _measure("credit-history", [*CLIENTELE, "loyalty", "credit-history"], env, CJ_BASKETS)
    _measure("credit-history again (nothing left)", [*CLIENTELE, "loyalty", "credit-history"], env, CJ_BASKETS)
    out = subprocess.run([sys.executable, __file__, "--reference-only", str(reference_baskets)], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    per_basket = float(out.split()[0])
    reference = per_basket * CJ_BASKETS
    print(f"  reference, the till's checkout: {per_basket * 1000:.2f} ms per basket ({out.split()[1]} baskets) "
          f"x {CJ_BASKETS:,} = {reference:.0f} s; the batch takes {batch / reference:.3f} of it "
          f"({reference / batch:.1f}x faster)", flush=True)


def bench_synthetic(home: Path, database_url: str | None, lines: int, customers: int) -> None:
    synth = home / f"synth-{lines}"
    env = _env(home, database_url)
    if not (synth / "basket_lines").exists():
        _run([*CLIENTELE, "synth", "--customers", str(customers), "--lines", str(lines), "--out", str(synth)], env)
    baskets = int(subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; print(duckdb.sql(\"SELECT count(DISTINCT basket_id) FROM "
         f"read_parquet('{synth}/basket_lines/**/*.parquet')\").fetchall()[0][0])"],
        check=True, capture_output=True, text=True).stdout)
    print(f"\n{'PostgreSQL' if database_url else 'SQLite'}: synthetic lake ({lines:,} lines, {baskets:,} baskets, "
          f"{customers:,} customers)", flush=True)
    _fresh_database(home, database_url)
    for step in (["db", "migrate"], ["import", "completejourney"], ["loyalty", "default-programme"]):
        _run([*CLIENTELE, *step], env)
    subprocess.run([sys.executable, __file__, "--members-only", str(customers)], env=env, check=True)
    synth_env = _env(home, database_url, lake=synth)
    _measure("credit-history", [*CLIENTELE, "loyalty", "credit-history"], synth_env, baskets)


def _django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")
    django.setup()


def make_members(customers: int) -> None:
    """Stores 1-400 and a member for each synthetic customer (what `clientele synth` draws from)."""
    _django()
    from clientele.catalog.models import Store
    from clientele.members.models import Member

    Store.objects.bulk_create([Store(store_id=s) for s in range(1, 401)], ignore_conflicts=True)
    Member.objects.bulk_create([Member(customer_id=c, join_date="2024-01-01") for c in range(1, customers + 1)],
                               ignore_conflicts=True, batch_size=5_000)


def reference(count: int) -> None:
    """Print the till's checkout time per basket (seconds) over `count` real baskets of the lake,
    re-dated to now, posted in process one after the other, and how many were posted."""
    _django()
    from datetime import timedelta
    from decimal import Decimal

    from clientele.catalog.models import Product, Store
    from clientele.lake.schema import BASKET_LINES
    from clientele.lake.store import Lake
    from clientele.loyalty import ledger, services
    from clientele.loyalty.identity import issue_api_key

    lake = Lake()
    rows = lake.connect().execute(f"""
        SELECT basket_id, any_value(store_id), any_value(card_barcode), list(product_id), list(quantity),
               list(sales_value)
        FROM read_parquet('{lake.parquet_glob(BASKET_LINES)}', hive_partitioning = true)
        WHERE quantity > 0 GROUP BY basket_id ORDER BY hash(basket_id) LIMIT {count}""").fetchall()
    known = set(Product.objects.filter(product_id__in={p for row in rows for p in row[3]})
                .values_list("product_id", flat=True))
    keys = {store: issue_api_key(Store.objects.get(pk=store), "bench reference")[0] for store in {r[1] for r in rows}}
    now = ledger.now_utc() - timedelta(minutes=5)
    baskets = []
    for n, (basket_id, store, card, products, quantities, sales) in enumerate(rows):
        lines = [services.LineIn(i, p, q, (s / q).quantize(Decimal("0.01")))
                 for i, (p, q, s) in enumerate(zip(products, quantities, sales), start=1) if p in known]
        if lines:
            baskets.append(services.BasketIn(store_id=store, till_id="bench", receipt_number=f"ref-{basket_id}",
                                             transacted_at=now, lines=lines, card=card))
    started = time.perf_counter()
    for basket in baskets:
        services.post_basket(basket, keys[basket.store_id])
    print((time.perf_counter() - started) / len(baskets), len(baskets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/h17p")
    parser.add_argument("--synth-lines", type=int, default=10_000_000)
    parser.add_argument("--synth-customers", type=int, default=100_000)
    parser.add_argument("--reference-baskets", type=int, default=300)
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench-credit-history")
    parser.add_argument("--reference-only", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--members-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_only:
        return reference(args.reference_only)
    if args.members_only:
        return make_members(args.members_only)
    args.home.mkdir(parents=True, exist_ok=True)
    print(f"{machine()}; load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    urls = {"sqlite": None, "postgresql": args.postgres}
    for name in args.databases:
        bench_complete_journey(args.home.resolve(), urls[name], args.reference_baskets)
    if args.synth_lines:
        for name in args.databases:
            bench_synthetic(args.home.resolve(), urls[name], args.synth_lines, args.synth_customers)
    shutil.rmtree(args.home / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
