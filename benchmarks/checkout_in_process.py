"""What one checkout costs, in process: the served WSGI application called directly, one at a time.

    .venv/bin/python benchmarks/checkout_in_process.py [--checkouts 2000] [--src PATH] [--offers 20]

Posts --checkouts baskets of 10 lines (random members and products, as bench_checkout.py's wrk
script does) through `clientele.site.wsgi.application` on the benchmark database (clientele_bench or
$CLIENTELE_BENCH_DB, built by bench_checkout.py's `prepare`), after 200 that warm the worker up, with no HTTP server and
no concurrency. Prints, per checkout: this process's CPU time (user + system), its PostgreSQL
backend's (from /proc), the wall time, and the WAL the server wrote; then the statements prepared
on the connection, with their generic and custom plan counts.

--offers N (issue 19): N offers (0.10 off one product each, a personal offer put on a list) and,
for the members of half the checkouts, a current shopping list carrying all N; every basket has N
lines (products 1..N), so a list member's checkout applies N offers (N redemptions, N budgets,
N uses written) and the others' apply none, with the offers' terms still read and evaluated.
The two kinds alternate in blocks of 100 in the same run; the CPU of each kind is printed and
their ratio (target <= 1.3).

The figures that noise on a shared machine moves least, for comparing two versions of the code:
run it once per version, alternating (--src points PYTHONPATH at another checkout's `src`, e.g. a
`git worktree` of an earlier commit). Asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from bench_checkout import BENCH_DB, SERVER  # noqa: E402  (this folder is the script's)

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkouts", type=int, default=2000)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the code to measure (its src folder)")
    parser.add_argument("--key", help="a till key of store 1 (else one is issued by bench_checkout's prepare)")
    parser.add_argument("--offers", type=int, default=0, help="offers on the list of half the checkouts' members")
    args = parser.parse_args()
    if args.key is None:  # in a process of its own: prepare() sets Django up with this checkout's code
        prepared = subprocess.run([sys.executable, "-c", "import bench_checkout as b; print(b.prepare(3_000_000, "
                                   "3_500_000, False))"], cwd=BENCHMARKS, check=True, capture_output=True, text=True,
                                  env=os.environ | {"PYTHONPATH": str(args.src)})  # migrated by the code measured
        args.key = prepared.stdout.split()[-1]
    env = os.environ | {"PYTHONPATH": str(args.src), "DJANGO_SETTINGS_MODULE": "clientele.site.settings",
                        "DATABASE_URL": f"{SERVER}/{BENCH_DB}"}
    if args.offers:
        subprocess.run([sys.executable, __file__, "--measure-offers", str(args.checkouts), args.key, str(args.offers)],
                       env=env, check=True)
        return
    subprocess.run([sys.executable, __file__, "--measure", str(args.checkouts), args.key], env=env, check=True)


def prepare_offers(count: int, listed: range) -> None:
    """`count` personal offers on products 1..count and a current list of all of them for each member
    whose customer number is in `listed` (the bench's earlier lists and offers replaced)."""
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection

    from clientele.barcodes import list_barcode
    from clientele.members.models import Member
    from clientele.offers import services
    from clientele.offers.models import Offer, ShoppingList, ShoppingListItem

    now = datetime.now(timezone.utc)
    with connection.cursor() as cursor:  # the bench's own earlier offers, lists and redemptions
        cursor.execute("TRUNCATE offers_offerredemption, offers_memberofferuse, offers_shoppinglistitem, "
                       "offers_shoppinglist, offers_offerbudgetslice, offers_offerbudget, offers_offer_products, "
                       "offers_offer_audience, offers_historicaloffer, offers_offer CASCADE")
    offers = [services.save_offer(Offer(code=f"bench-{n}", name=f"0.10 off product {n}", target="products",
                                        benefit="amount_off", amount=Decimal("0.10"), eligibility="personal",
                                        valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=13),
                                        budget_money=Decimal("1000000"), budget_count=10_000_000),
                                  product_ids=[n]) for n in range(1, count + 1)]
    members = dict(Member.objects.filter(customer_id__in=listed).values_list("customer_id", "pk"))
    lists = ShoppingList.objects.bulk_create([
        ShoppingList(number=list_barcode(customer), member_id=members[customer], generated_at=now, as_of=now.date(),
                     valid_from=now.date() - timedelta(days=1), valid_until=now.date() + timedelta(days=13))
        for customer in listed])
    ShoppingListItem.objects.bulk_create([
        ShoppingListItem(shopping_list=shopping_list, position=n, product_id=n, offer=offer,
                         offer_value=Decimal("0.10"))
        for shopping_list in lists for n, offer in enumerate(offers, start=1)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE offers_shoppinglist")
        cursor.execute("ANALYZE offers_shoppinglistitem")


def measure_offers(checkouts: int, key: str, count: int) -> None:
    """Checkouts of `count` lines alternating, in blocks of 100, between members with a list of
    `count` offers (all applied) and members without one (none applied)."""
    from django.db import connection

    from clientele.barcodes import card_barcode
    from clientele.site.wsgi import application

    listed = range(1, checkouts // 2 + 101)  # a member per listed checkout and warm-up
    prepare_offers(count, listed)
    till = f"O{uuid.uuid4().hex[:8]}"
    receipts = iter(range(10**9))
    unlisted = iter(range(2_000_000, 3_000_000))
    listed_iter = iter(listed)

    def body(customer: int) -> bytes:
        lines = [{"line_no": n, "product_id": n, "quantity": str(random.randint(1, 3)),
                  "unit_price": f"{random.randint(50, 1500) / 100:.2f}"} for n in range(1, count + 1)]
        return json.dumps({"store_id": 1, "till_id": till, "receipt_number": str(next(receipts)),
                           "transacted_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                           "card": card_barcode(customer, 0), "lines": lines}).encode()

    def post(payload: bytes) -> dict:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/baskets", "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8765", "HTTP_HOST": "127.0.0.1:8765",
                   "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(payload)), "HTTP_X_API_KEY": key, "wsgi.input": io.BytesIO(payload),
                   "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
        status: list[str] = []
        answer = b"".join(application(environ, lambda line, headers, exc_info=None: status.append(line)))
        if not status[0].startswith("200"):
            raise SystemExit(f"checkout refused: {status[0]} {answer[:300]!r}")
        return json.loads(answer)

    for _ in range(50):  # warm-up, both kinds
        assert len(post(body(next(listed_iter)))["offers"]) == count
        assert not post(body(next(unlisted))).get("offers")
    def backend_ticks() -> tuple[int, int]:
        """The connection's backend and its CPU ticks so far (Django reopens the connection every
        CONN_MAX_AGE seconds: a block that spans a new backend is not counted)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return backend, int(fields[11]) + int(fields[12])

    spent = {"with": [0.0, 0, 0.0, 0], "without": [0.0, 0, 0.0, 0]}  # app s, backend ticks, wall s, checkouts
    walls: dict[str, list[float]] = {"with": [], "without": []}
    for block in range(checkouts // 100):
        kind = "with" if block % 2 == 0 else "without"
        payloads = [body(next(listed_iter) if kind == "with" else next(unlisted)) for _ in range(50)]
        backend, ticks = backend_ticks()
        started, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        block_walls = []
        for payload in payloads:
            one = time.perf_counter()
            answer = post(payload)
            block_walls.append(time.perf_counter() - one)
            assert (len(answer.get("offers") or []) == count) == (kind == "with")
        ended, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall
        try:
            now_backend, now_ticks = backend_ticks()
        except FileNotFoundError:
            now_backend = None
        if now_backend != backend:
            print(f"block {block} not counted: the connection was reopened")
            continue
        walls[kind].extend(block_walls)
        spent[kind][0] += ended.ru_utime + ended.ru_stime - started.ru_utime - started.ru_stime
        spent[kind][1] += now_ticks - ticks
        spent[kind][2] += wall
        spent[kind][3] += len(payloads)
    cpu = {}
    for kind, (app, ticks, wall, done) in spent.items():
        database = ticks / os.sysconf("SC_CLK_TCK")
        cpu[kind] = (app + database) * 1000 / done
        ordered = sorted(walls[kind])
        print(f"{done:,} checkouts of {count} lines {kind} {count} offers: app {app * 1000 / done:.2f} ms + "
              f"database {database * 1000 / done:.2f} ms = {cpu[kind]:.2f} ms of CPU; wall p50 "
              f"{ordered[len(ordered) // 2] * 1000:.1f} ms, p99 {ordered[int(len(ordered) * 0.99)] * 1000:.1f} ms")
    print(f"CPU with offers / without: {cpu['with'] / cpu['without']:.3f} (target <= 1.3)")


def measure(checkouts: int, key: str) -> None:
    from django.db import connection

    from clientele.barcodes import card_barcode
    from clientele.site.wsgi import application

    till = f"P{uuid.uuid4().hex[:8]}"

    def body(receipt: int) -> bytes:
        lines = [{"line_no": n, "product_id": random.randint(1, 200), "quantity": str(random.randint(1, 3)),
                  "unit_price": f"{random.randint(50, 1500) / 100:.2f}"} for n in range(1, 11)]
        return json.dumps({"store_id": 1, "till_id": till, "receipt_number": str(receipt),
                           "transacted_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                           "card": card_barcode(random.randint(1, 3_000_000), 0), "lines": lines}).encode()

    def post(payload: bytes) -> None:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/baskets", "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8765", "HTTP_HOST": "127.0.0.1:8765",
                   "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(payload)), "HTTP_X_API_KEY": key, "wsgi.input": io.BytesIO(payload),
                   "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
        status: list[str] = []
        answer = b"".join(application(environ, lambda line, headers, exc_info=None: status.append(line)))
        if not status[0].startswith("200"):
            raise SystemExit(f"checkout refused: {status[0]} {answer[:300]!r}")

    payloads = [body(receipt) for receipt in range(checkouts + 200)]
    for payload in payloads[:200]:
        post(payload)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), pg_current_wal_lsn()")
        backend, wal_start = cursor.fetchone()

    def backend_ticks() -> int:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    started, ticks, wall = resource.getrusage(resource.RUSAGE_SELF), backend_ticks(), time.perf_counter()
    for payload in payloads[200:]:
        post(payload)
    ended, ticks, wall = resource.getrusage(resource.RUSAGE_SELF), backend_ticks() - ticks, time.perf_counter() - wall
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal_start])
        wal = float(cursor.fetchone()[0])
        cursor.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements ORDER BY name")
        prepared = cursor.fetchall()
    app = ended.ru_utime + ended.ru_stime - started.ru_utime - started.ru_stime
    per = 1000 / checkouts
    print(f"{checkouts:,} checkouts in process: app {app * per:.2f} ms + database "
          f"{ticks * 1000 / os.sysconf('SC_CLK_TCK') / checkouts:.2f} ms of CPU, wall {wall * per:.2f} ms, "
          f"WAL {wal / checkouts / 1000:.1f} kB a checkout")
    for name, generic, custom in prepared:
        print(f"  prepared {name}: {generic:,} generic plans, {custom:,} custom")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        import django

        django.setup()
        measure(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "--measure-offers":
        import django

        django.setup()
        measure_offers(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        main()
