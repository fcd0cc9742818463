"""The till while members are merged: identify's p99 (one till) while 1,000 merges run, against
identify alone in the same run. PostgreSQL, a database of its own (created afresh). Target:
identify p99 <= 10 ms during the merges.

The till is a process of its own, so that the merges' Python work cannot hold its interpreter lock
(in one process a merge's Python delays an identify, and the figure measures the lock, not the
database): `--till process` (default) calls `loyalty.identity.greet_member`, the query the till's
identify runs, in a separate Python process (server time without HTTP); `--till http` serves the
app with granian (one worker, two threads, the hot calls in front of Django, as production serves
identify) and a separate client process calls `GET /api/members/identify` on one kept-alive
connection, each call sent when the last is answered. The merges run in this process, one after
the other (member 2k+2 into 2k+1). Each identify is stamped with the clock, so the calls made
while the merges ran are told from those made before (`--alone` seconds).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_i22_till \
        python benchmarks/bench_identity_till.py [--till process|http] [--members 20000] [--merges 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")

from _measure import serve_app  # noqa: E402
from bench_identify_context import identify, percentile  # noqa: E402  (the till's HTTP call, kept alive)


def till(mode: str, members: int, port: int, key: str, out: str) -> None:
    """The till's process: identifies random cards until a line arrives on stdin, then writes every
    call's (clock time, milliseconds) to `out`."""
    from clientele.barcodes import card_barcode

    if mode == "process":
        import django

        django.setup()
        from clientele.loyalty.identity import greet_member

        def call(card: str) -> None:
            greet_member(card=card)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def call(card: str) -> None:
            status = identify(connection, key, card)[1]
            if status != 200:
                raise SystemExit(f"identify answered {status} for card {card}")

    rng = random.Random(1)
    cards = [card_barcode(n) for n in range(1, members + 1)]
    for card in cards[:50]:  # warm: the connection, prepared statements, imports
        call(card)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    print("ready", flush=True)
    calls = []
    while not stop.is_set():
        card = rng.choice(cards)
        started, t0 = time.time(), time.perf_counter()
        call(card)
        calls.append((started, (time.perf_counter() - t0) * 1000))
    Path(out).write_text(json.dumps(calls), encoding="utf-8")


def serve(port: int) -> subprocess.Popen:
    """granian serving the app as production serves the till (one worker, the hot calls on)."""
    granian = str(Path(sys.executable).with_name("granian"))
    return serve_app([granian, "--interface", "wsgi", "clientele.site.wsgi:application", "--workers", "1",
                      "--blocking-threads", "2", "--host", "127.0.0.1", "--port", str(port),
                      "--log-level", "warning", "--no-ws"], port,
                     {"PYTHONPATH": str(ROOT / "src"), "CLIENTELE_HOT_CALLS": "true"})


def seed(members: int) -> str:
    """A fresh database: `members` members with a card and 100 points each; returns a till key."""
    url = os.environ["DATABASE_URL"]
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
    from clientele.catalog.models import Store
    from clientele.loyalty import ledger
    from clientele.loyalty.identity import issue_api_key
    from clientele.loyalty.models import LoyaltyAccount, PointsEntry
    from clientele.members.models import Card, Member

    call_command("migrate", interactive=False, verbosity=0)
    numbers = range(1, members + 1)
    Member.objects.bulk_create([Member(customer_id=n, first_name="M", join_date=date(2024, 1, 1)) for n in numbers],
                               batch_size=5000)
    ids = dict(Member.objects.values_list("customer_id", "pk"))
    Card.objects.bulk_create([Card(barcode=card_barcode(n), member_id=ids[n]) for n in numbers], batch_size=5000)
    LoyaltyAccount.objects.bulk_create([LoyaltyAccount(member_id=ids[n]) for n in numbers], batch_size=5000)
    accounts = dict(LoyaltyAccount.objects.values_list("member_id", "pk"))
    ledger.credit_opening_balances([
        PointsEntry(account_id=accounts[ids[n]], kind="opening_balance", amount=100, available_from=ledger.now_utc(),
                    source="bench", idempotency_key=f"opening_balance:{n}", actor="bench") for n in numbers])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    store = Store.objects.create(store_id=1, name="Bench", timezone="America/Chicago")
    return issue_api_key(store, "identity till benchmark")[1]


def summary(latencies: list[float]) -> dict:
    if not latencies:
        return {"calls": 0}
    return {"calls": len(latencies), "p50_ms": round(percentile(latencies, 0.5), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2), "max_ms": round(max(latencies), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--till", choices=("process", "http"), default="process",
                        help="How the till identifies, in a process of its own: greet_member, or HTTP to granian.")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--merges", type=int, default=1_000)
    parser.add_argument("--alone", type=float, default=20.0, help="Seconds of identify before the merges start.")
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--drop-ok", action="store_true",
                        help="DATABASE_URL's database is dropped and created afresh: allowed without this flag "
                             "only for a bench_i22_* database.")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # the till's process
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        till(args.till, args.members, args.port, args.key, args.out)
        return
    if "bench_i22" not in os.environ.get("DATABASE_URL", "") and not args.drop_ok:
        raise SystemExit("set DATABASE_URL to a bench_i22_* database (it is dropped and created afresh), "
                         "or give --drop-ok")
    key = seed(args.members)
    from django.db import connection

    from clientele.barcodes import card_barcode
    from clientele.identity.merging import merge_members
    from clientele.loyalty.identity import greet_member

    connection.close()
    server = serve(args.port) if args.till == "http" else None
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_identity_till.{os.getpid()}.json"
    worker = subprocess.Popen(
        [sys.executable, __file__, "--worker", "--till", args.till, "--members", str(args.members),
         "--port", str(args.port), "--key", key, "--out", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT / "src")})
    merge_times: list[float] = []
    try:
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit(f"the till's process did not start (exit {worker.wait()})")
        load = os.getloadavg()
        time.sleep(args.alone)
        merges_from = time.time()
        for k in range(args.merges):
            t0 = time.perf_counter()
            merge_members(2 * k + 1, 2 * k + 2, actor="bench", reason="bench")
            merge_times.append(time.perf_counter() - t0)
        merges_until = time.time()
        load_after = os.getloadavg()
        worker.stdin.write("stop\n")
        worker.stdin.flush()
        if worker.wait(timeout=120) != 0:
            raise SystemExit(f"the till's process failed (exit {worker.returncode})")
    finally:
        if worker.poll() is None:
            worker.kill()
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    calls = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    survivor_card = greet_member(card=card_barcode(2))  # an absorbed member's card greets the survivor
    print(json.dumps({
        "till": args.till, "members": args.members, "merges": len(merge_times),
        "merge_wall_s": round(merges_until - merges_from, 1),
        "merge_p50_ms": round(statistics.median(merge_times) * 1000, 1),
        "load_average_before": [round(x, 2) for x in load], "load_average_after": [round(x, 2) for x in load_after],
        "identify_alone": summary([ms for at, ms in calls if at < merges_from]),
        "identify_during_merges": summary([ms for at, ms in calls if merges_from <= at <= merges_until]),
        "absorbed_card_greets": survivor_card[0].customer_id, "survivor_points": survivor_card[2].available,
    }, indent=2))


if __name__ == "__main__":
    main()
