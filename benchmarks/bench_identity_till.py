"""The till while members are merged: identify's p99 (one till, `loyalty.identity.greet_member`, the
query the till's identify call runs, in process: server time without HTTP) while 1,000 merges run in
another thread, against identify alone in the same run. PostgreSQL, a database of its own
(bench_i22_till, created afresh). Target: identify p99 <= 10 ms during the merges.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_i22_till \
        python benchmarks/bench_identity_till.py [--members 20000] [--merges 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--merges", type=int, default=1_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if "bench_i22" not in url:
        raise SystemExit("set DATABASE_URL to a bench_i22_* database")
    import psycopg

    server, _, name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from clientele.barcodes import card_barcode
    from clientele.identity.merging import merge_members
    from clientele.loyalty.identity import greet_member
    from clientele.loyalty.models import LoyaltyAccount, PointsEntry
    from clientele.members.models import Card, Member

    call_command("migrate", interactive=False, verbosity=0)
    numbers = range(1, args.members + 1)
    Member.objects.bulk_create([Member(customer_id=n, first_name="M", join_date=date(2024, 1, 1)) for n in numbers],
                               batch_size=5000)
    ids = dict(Member.objects.values_list("customer_id", "pk"))
    Card.objects.bulk_create([Card(barcode=card_barcode(n), member_id=ids[n]) for n in numbers], batch_size=5000)
    LoyaltyAccount.objects.bulk_create([LoyaltyAccount(member_id=ids[n]) for n in numbers], batch_size=5000)
    accounts = dict(LoyaltyAccount.objects.values_list("member_id", "pk"))
    from clientele.loyalty import ledger

    ledger.credit_opening_balances([
        PointsEntry(account_id=accounts[ids[n]], kind="opening_balance", amount=100, available_from=ledger.now_utc(),
                    source="bench", idempotency_key=f"opening_balance:{n}", actor="bench") for n in numbers])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    cards = [card_barcode(n) for n in numbers]
    rng = random.Random(1)

    def identify_for(seconds: float | None, stop: threading.Event | None) -> list[float]:
        latencies, started = [], time.perf_counter()
        while (stop is None and time.perf_counter() - started < seconds) or (stop is not None and not stop.is_set()):
            card = rng.choice(cards)
            t0 = time.perf_counter()
            greet_member(card=card)
            latencies.append((time.perf_counter() - t0) * 1000)
        return latencies

    alone = identify_for(20.0, None)
    stop, merge_times = threading.Event(), []

    def merge_all():
        try:
            for k in range(args.merges):
                t0 = time.perf_counter()
                merge_members(2 * k + 1, 2 * k + 2, actor="bench", reason="bench")
                merge_times.append(time.perf_counter() - t0)
        finally:
            from django.db import connection as own

            own.close()
            stop.set()

    merger = threading.Thread(target=merge_all)
    started = time.perf_counter()
    merger.start()
    during = identify_for(None, stop)
    merger.join()
    wall = time.perf_counter() - started
    survivor_card = greet_member(card=card_barcode(2))  # an absorbed member's card greets the survivor
    print(json.dumps({
        "members": args.members, "merges": len(merge_times), "merge_wall_s": round(wall, 1),
        "merge_p50_ms": round(statistics.median(merge_times) * 1000, 1),
        "identify_alone": {"calls": len(alone), "p50_ms": round(percentile(alone, 0.5), 2),
                           "p99_ms": round(percentile(alone, 0.99), 2)},
        "identify_during_merges": {"calls": len(during), "p50_ms": round(percentile(during, 0.5), 2),
                                   "p99_ms": round(percentile(during, 0.99), 2)},
        "absorbed_card_greets": survivor_card[0].customer_id, "survivor_points": survivor_card[2].available,
    }, indent=2))


if __name__ == "__main__":
    main()
