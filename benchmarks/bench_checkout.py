"""Checkouts per second and latency at the till, against pgbench on the same PostgreSQL server.

    .venv/bin/python benchmarks/bench_checkout.py [--seconds 30] [--clients 8] [--tills 64] [--server granian]
        [--workers 2] [--threads 4] [--worker-class sync] [--django-only]
        [--members 3000000] [--cards 3500000] [--fresh]

In one run:
1. pgbench's TPC-B-like TPS (`pgbench -c 8 -j 2 -T 30`, after `pgbench -i -s 8` in a database of
   its own): the physical reference of this machine, run before the checkouts and again after
   them, the ratio taken to the mean of the two (this shared machine's speed drifts by tens of
   percent within minutes: one pgbench run before would compare with another machine); and the
   CPU one pgbench transaction cost its database backends (their total once the server has reaped
   them) and pgbench itself, so that machines can be compared by CPU as well as by TPS: the
   checkout's CPU over the backends' is printed at the end (a machine's cheap commits raise
   pgbench's TPS, not this).
2. Checkouts: the till API as production serves it (granian, 2 workers of 4 threads, persistent
   database connections; or gunicorn with --server gunicorn: pass --workers 4 --threads 1 for
   sync workers) serving `clientele.site.wsgi:application` (the hot calls in
   front of Django; --django-only serves the Django application alone, as before decision 0008) on a
   dedicated PostgreSQL database holding --members members and --cards cards; --clients connections
   of wrk (`apt-get install wrk`; benchmarks/till_load.lua builds the requests, so the load
   generator costs little CPU) post baskets of 10 lines for random members, each with a receipt
   number of its own, each sent as soon as the last is answered. Prints checkouts/s (the most the
   server answers), their p50/p99 latency (client side, HTTP included) and the ratio to pgbench's
   TPS (target >= 0.15), and the CPU time one checkout cost the app workers and their PostgreSQL
   backends (from /proc): the figure that noise on a shared machine moves least, and the ceiling
   on a machine of its own; and the WAL the server wrote per checkout (pg_current_wal_lsn).
3. Checkouts at the target rate: --tills connections (benchmarks/till_paced.lua) send 0.15 x
   pgbench's TPS checkouts a second between them, as Poisson arrivals, as a chain's tills do
   (each idle between customers, whoever comes next): the latency when the server carries the
   target load. The issue's p99 target is taken on 2., as pgbench's own latency is, with 8
   connections that never pause: their latency is about 8 / throughput, and a stall delays only
   the 8 requests in flight. Here a stall delays every arrival until it ends, and the bursts of
   Poisson arrivals queue: the latency a chain's tills see at that load, with the headroom left
   (the offered rate as a share of the most answered in 2.).
4. Identify: the same 8 clients identify random cards among all of them, then the tills at the
   target rate, then one client alone (target p99 <= 10 ms).

The benchmark database (clientele_bench) is kept between runs so the members are generated once
(server-side, with generate_series; then vacuumed), and the tables the checkouts fill are vacuumed
before each run; --fresh drops it first. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _measure import serve_app  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
#: The databases and the port are the environment's to choose (CLIENTELE_BENCH_DB, CLIENTELE_PGBENCH_DB,
#: CLIENTELE_BENCH_PORT) so that two engineers sharing a server do not run into each other's.
BENCH_DB = os.environ.get("CLIENTELE_BENCH_DB", "clientele_bench")
PGBENCH_DB = os.environ.get("CLIENTELE_PGBENCH_DB", "clientele_pgbench")
PORT = int(os.environ.get("CLIENTELE_BENCH_PORT", "8765"))
PRODUCTS = 200
#: The issue's target: checkouts per second against pgbench's TPS on the same server.
TARGET_RATIO = 0.15


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(["psql", f"{SERVER}/{database}", "-Atqc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def ensure_database(name: str, fresh: bool) -> None:
    if fresh:
        psql(f"DROP DATABASE IF EXISTS {name}")
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        psql(f"CREATE DATABASE {name}")


class Pgbench(NamedTuple):
    """One pgbench run: its TPS, and the CPU one transaction cost its database backends and
    pgbench itself (ms): what a run on another machine is compared by, besides the TPS."""

    tps: float
    backend_cpu_ms: float | None
    client_cpu_ms: float


def pgbench(seconds: int) -> Pgbench:
    """pgbench's TPC-B-like script with 8 clients and 2 threads on its own database."""
    subprocess.run(["pgbench", "-i", "-s", "8", "-q", f"{SERVER}/{PGBENCH_DB}"], check=True, capture_output=True)
    postmaster = postmaster_pid()
    reaped_before = reaped_ticks_settled(postmaster)  # pgbench -i's backend's CPU in, not in the run's
    with tempfile.TemporaryFile("w+") as output:
        command = ["pgbench", "-c", "8", "-j", "2", "-T", str(seconds), f"{SERVER}/{PGBENCH_DB}"]
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        out = output.read()
        if process.returncode != 0:
            raise subprocess.CalledProcessError(process.returncode, command, out)
    transactions = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    backend_ms = None
    if postmaster is not None:
        # pgbench's backends are gone once the postmaster has reaped them: their CPU is then in its
        # children's total. Other backends that end meanwhile count too (the psql of these
        # functions, autovacuum's workers: `main` vacuums the checkouts' tables first).
        backend_ms = (reaped_ticks_settled(postmaster) - reaped_before) * 1000 / os.sysconf("SC_CLK_TCK") / transactions
    client_ms = (usage.ru_utime + usage.ru_stime) * 1000 / transactions
    return Pgbench(float(re.search(r"tps = ([0-9.]+)", out).group(1)), backend_ms, client_ms)


def reaped_ticks_settled(postmaster: str | None) -> int:
    """`reaped_ticks` once the server's other client backends have ended and been reaped: it no
    longer changes (a backend leaves pg_stat_activity before it exits)."""
    if postmaster is None:
        return 0
    for _ in range(50):
        if psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()") == "0":
            break
        time.sleep(0.1)
    else:
        print("warning: client backends still connected: pgbench's CPU counts theirs", file=sys.stderr)
    ticks = reaped_ticks(postmaster)
    for _ in range(20):
        time.sleep(0.05)
        ticks, before = reaped_ticks(postmaster), ticks
        if ticks == before:
            break
    return ticks


def postmaster_pid() -> str | None:
    """The PostgreSQL server's main process (None when its data directory cannot be read here)."""
    try:
        return (Path(psql("SHOW data_directory")) / "postmaster.pid").read_text().split()[0]
    except (OSError, IndexError, subprocess.CalledProcessError):
        return None


def reaped_ticks(pid: str | None) -> int:
    """CPU time (user + system, clock ticks) of the ended children that `pid` has reaped."""
    if pid is None:
        return 0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[13]) + int(fields[14])


def describe(run: Pgbench) -> str:
    backends = "" if run.backend_cpu_ms is None else f"backends {run.backend_cpu_ms:.3f} ms + "
    return f"{run.tps:,.0f} TPS; CPU per transaction: {backends}pgbench {run.client_cpu_ms:.3f} ms"


SEED_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.ean13(body text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT body || ((10 - sum(substr(body, i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END) % 10) % 10)::text
  FROM generate_series(1, 12) AS i $$;
INSERT INTO members_member (customer_id, first_name, last_name, email, phone, address_line, postal_code, city,
  country, join_date, status, email_consent, sms_consent, post_consent, profiling_consent, created_at, updated_at)
SELECT g, 'Member', 'No ' || g, '', '+1' || lpad(g::text, 10, '0'), '', '', '', 'US', DATE '2020-01-01' + g % 1500,
  'active', false, false, false, true, now(), now()
FROM generate_series(1, {members}) AS g;
INSERT INTO members_card (barcode, member_id, status, issued_at)
SELECT pg_temp.ean13('290' || lpad(customer_id::text, 9, '0')), id, 'active', now() FROM members_member;
INSERT INTO members_card (barcode, member_id, status, issued_at)
SELECT pg_temp.ean13('291' || lpad(customer_id::text, 9, '0')), id, 'active', now() FROM members_member
WHERE customer_id <= {extra_cards};
INSERT INTO loyalty_loyaltyaccount (member_id, opened_at) SELECT id, now() FROM members_member;
INSERT INTO loyalty_pointsentry (account_id, kind, amount, available_from, expires_on, source, idempotency_key,
  explanation, actor, created_at)
SELECT id, 'opening_balance', 1000, now(), current_date + 730, 'benchmark seed', 'opening_balance:' || member_id,
  '[]', 'benchmark', now() FROM loyalty_loyaltyaccount;
"""


def prepare(members: int, cards: int, fresh: bool) -> str:
    """Migrate and fill the benchmark database; returns a till API key of store 1."""
    ensure_database(BENCH_DB, fresh)
    counted = subprocess.run(["psql", f"{SERVER}/{BENCH_DB}", "-Atqc", "SELECT count(*) FROM members_member"],
                             capture_output=True, text=True)
    if counted.returncode == 0 and int(counted.stdout) != members:
        ensure_database(BENCH_DB, fresh=True)  # generated for another size: start again
    os.environ["DATABASE_URL"] = f"{SERVER}/{BENCH_DB}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "clientele.site.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from clientele.catalog.models import Product, Store
    from clientele.loyalty.identity import issue_api_key
    from clientele.loyalty.models import EarningRule
    from clientele.members.models import Member

    call_command("migrate", interactive=False, verbosity=0)
    if not Member.objects.exists():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(SEED_SQL.format(members=members, extra_cards=cards - members))
        # As a database in service is: statistics, visibility map and hint bits set (else the
        # first runs pay for setting them, and autovacuum's catching up lands in later ones).
        psql("VACUUM (ANALYZE)", BENCH_DB)
        print(f"seeded {members:,} members, {cards:,} cards, accounts and opening balances "
              f"in {time.perf_counter() - started:.0f} s")
    store, _ = Store.objects.get_or_create(store_id=1, defaults={"timezone": "America/Chicago"})
    Product.objects.bulk_create(
        [Product(product_id=n, department="GROCERY", category=f"C{n % 20}", brand_type="Private" if n % 4 else "National")
         for n in range(1, PRODUCTS + 1)], ignore_conflicts=True)
    EarningRule.objects.get_or_create(name="1 point per dollar", defaults={"kind": "base", "points_per_unit": 1})
    EarningRule.objects.get_or_create(name="Store brand x2", defaults={"kind": "multiplier", "multiplier": 2,
                                                                         "brand_type": "Private"})
    key = issue_api_key(store, f"benchmark {uuid.uuid4().hex[:6]}")[1]
    connection.close()
    # The tables checkouts fill are vacuumed before each run, as pgbench -i vacuums its own: else
    # autovacuum catching up on the inserts of earlier runs takes CPU from this one.
    psql("VACUUM (ANALYZE) loyalty_basket, loyalty_basketline, loyalty_pointsentry", BENCH_DB)
    return key


def server_command(server: str, app: str, workers: int, worker_class: str, threads: int) -> list[str]:
    """The command serving `app` (module:attribute) on PORT."""
    program = str(Path(sys.executable).with_name(server))
    if server == "granian":
        return [program, "--interface", "wsgi", app, "--workers", str(workers), "--blocking-threads", str(threads),
                "--host", "127.0.0.1", "--port", str(PORT), "--backlog", "256", "--log-level", "warning", "--no-ws"]
    return [program, app, "-w", str(workers), "-k", worker_class, "--threads", str(threads),
            "-b", f"127.0.0.1:{PORT}", "--backlog", "256", "--log-level", "warning"]


def start_server(command: list[str]) -> subprocess.Popen:
    return serve_app(command, PORT, {"DATABASE_URL": f"{SERVER}/{BENCH_DB}", "PYTHONPATH": str(ROOT / "src")})


def cpu_ticks(pids: list[str]) -> dict[str, int]:
    """CPU time (user + system, clock ticks) each process has used so far."""
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # ended meanwhile
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def server_processes(server: subprocess.Popen) -> tuple[list[str], list[str]]:
    """The server's workers' pids, and those of their PostgreSQL backends (client backends only:
    an autovacuum worker on the database would count in a run it happens to overlap, not in others)."""
    workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
    backends = psql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{BENCH_DB}' AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'")
    return workers, backends.split()


def load(kind: str, key: str, clients: int, seconds: int, members: int, cards: int,
         server: subprocess.Popen, rate: float = 0, products: int = 0) -> dict:
    """`clients` keep-alive connections hammering the server with wrk (2 threads, one Lua state
    each, so the load generator costs the server little CPU), or sending `rate` requests a second
    between them (till_paced.lua): requests/s and latency after a 2-second warm-up run, and the
    CPU time one request cost the app workers and the database (ms; what decides throughput on a
    machine of its own, whatever else shares this one)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    threads = min(2, clients)
    script = Path(__file__).with_name("till_paced.lua" if rate else "till_load.lua")
    paced = [f"{rate / threads:.3f}"] if rate else []
    run = uuid.uuid4().hex[:8]
    figures, before = {}, {}
    for label, duration in (("warm-up", 2), ("measured", seconds)):
        if label == "measured":
            workers, backends = server_processes(server)
            before = cpu_ticks(workers), cpu_ticks(backends)
            wal_before = psql("SELECT pg_current_wal_lsn()", BENCH_DB)
        wrk = subprocess.Popen(
            ["wrk", f"-t{threads}", f"-c{clients}", f"-d{duration}s", "--timeout", "10s", "-s", str(script),
             f"http://127.0.0.1:{PORT}", "--", kind, key, str(members), str(cards), str(products or PRODUCTS), f"{run}{label[0]}",
             *paced],
            stdout=subprocess.PIPE, text=True)
        if label == "measured":
            time.sleep(1)
            split = connections_per_worker(server)
            seen = _watch_cpu(server, wrk)  # a backend that ends in the run (a connection's max age) keeps its CPU
        out = wrk.communicate()[0]
        if wrk.returncode:
            raise SystemExit(f"wrk failed ({wrk.returncode})")
        figures = json.loads(out.strip().splitlines()[-1])
    # WAL the server wrote during the run (every database's: nothing else runs on the benchmark's server).
    wal = float(psql(f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal_before}')", BENCH_DB))
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK") / max(figures["requests"], 1)
    # A backend that connected during the run (a thread's first request) counts from zero; one that
    # ended counts what it had used when last seen (sampled every 0.5 s).
    app, db = (sum(last - start.get(pid, 0) for pid, last in (watched | cpu_ticks(sorted(watched))).items())
               * tick_ms for start, watched in zip(before, seen))
    return {"per_second": figures["requests"] / figures["seconds"], "p50_ms": figures["p50_ms"],
            "p99_ms": figures["p99_ms"], "max_ms": figures["max_ms"], "requests": figures["requests"],
            "errors": figures["non_2xx"] + figures["socket_errors"], "app_cpu_ms": app, "db_cpu_ms": db,
            "split": split, "wal_bytes": wal / max(figures["requests"], 1)}


def _watch_cpu(server: subprocess.Popen, wrk: subprocess.Popen) -> tuple[dict[str, int], dict[str, int]]:
    """The CPU ticks last seen of every app worker and database backend of the server while `wrk`
    runs, sampled every 0.5 s: the app's Django closes a database connection after its maximum
    age (60 s) and opens another, and a backend that has ended can no longer be read in /proc."""
    workers_seen: dict[str, int] = {}
    backends_seen: dict[str, int] = {}
    while wrk.poll() is None:
        workers, backends = server_processes(server)
        workers_seen |= cpu_ticks(workers)
        backends_seen |= cpu_ticks(backends)
        time.sleep(0.5)
    return workers_seen, backends_seen


def connections_per_worker(server: subprocess.Popen) -> str:
    """How the clients' connections are spread over the server's workers, most first ("5/3"): a
    keep-alive connection stays on the worker that accepted it for the whole run, and a worker
    serves its connections with one interpreter lock."""
    workers = set(server_processes(server)[0])
    listed = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{PORT} )"],
                            capture_output=True, text=True).stdout
    held = Counter(pid for pid in re.findall(r"pid=(\d+)", listed) if pid in workers)
    return "/".join(str(count) for count in sorted((held[pid] for pid in workers), reverse=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--tills", type=int, default=64,
                        help="tills sending at the target rate (0.15 x pgbench's TPS) for the latency there")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=["gunicorn", "granian"], default="granian")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync, gthread)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per worker (granian's blocking threads; gunicorn: more than 1 means gthread)")
    parser.add_argument("--django-only", action="store_true",
                        help="serve the Django application alone (every call through Django and django-ninja)")
    parser.add_argument("--members", type=int, default=3_000_000)
    parser.add_argument("--cards", type=int, default=3_500_000)
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the benchmark database")
    parser.add_argument("--offers", type=int, default=0,
                        help="issue 19: only checkouts of N-line baskets with N list offers applied against the "
                             "same baskets with none, alternated (see offers_run)")
    args = parser.parse_args()

    key = prepare(args.members, args.cards, args.fresh)
    if args.offers:
        offers_run(args, key)
        return
    ensure_database(PGBENCH_DB, fresh=True)
    before = pgbench(args.seconds)
    tps_before = before.tps
    print(f"pgbench -c 8 -j 2 -T {args.seconds} (scale 8), before the checkouts: {describe(before)}")
    app = "clientele.site.wsgi:" + ("django_application" if args.django_only else "application")
    command = server_command(args.server, app, args.workers, args.worker_class, args.threads)
    print("serving:", " ".join(Path(command[0]).name if i == 0 else part for i, part in enumerate(command)))
    server = start_server(command)
    try:
        checkout = load("checkout", key, args.clients, args.seconds, args.members, args.cards, server)
        target = TARGET_RATIO * tps_before
        checkout_paced = load("checkout", key, args.tills, args.seconds, args.members, args.cards, server, rate=target)
        identify = load("identify", key, args.clients, min(args.seconds, 15), args.members, args.cards, server)
        identify_paced = load("identify", key, args.tills, min(args.seconds, 15), args.members, args.cards, server,
                              rate=target)
        identify_alone = load("identify", key, 1, min(args.seconds, 15), args.members, args.cards, server)
    finally:
        server.terminate()
        server.wait()
    # As before the first: autovacuum catching up on the checkouts' inserts would count in pgbench's CPU.
    psql("VACUUM (ANALYZE) loyalty_basket, loyalty_basketline, loyalty_pointsentry", BENCH_DB)
    after = pgbench(args.seconds)
    tps = (tps_before + after.tps) / 2
    print(f"pgbench again, after them: {describe(after)} (mean {tps:,.0f} TPS)")
    print(f"checkout, 10-line baskets, {args.clients} clients, {args.workers} {args.server} workers "
          f"(connections per worker: {checkout['split']}): "
          f"{checkout['per_second']:,.0f} checkouts/s, p50 {checkout['p50_ms']:.1f} ms, p99 {checkout['p99_ms']:.1f} ms "
          f"(non-2xx or failed: {checkout['errors']})")
    print(f"checkout / pgbench TPS = {checkout['per_second'] / tps:.3f} against the mean, "
          f"{checkout['per_second'] / tps_before:.3f} against the run before (target >= {TARGET_RATIO})")
    print(f"checkout p99 target <= 50 ms with those {args.clients} clients: p99 {checkout['p99_ms']:.1f} ms")
    print(f"checkout at {TARGET_RATIO} x pgbench's TPS before ({target:,.0f}/s offered by {args.tills} tills as Poisson "
          f"arrivals, {target / checkout['per_second']:.0%} of the most answered above): "
          f"{checkout_paced['per_second']:,.0f}/s answered, p50 {checkout_paced['p50_ms']:.1f} ms, "
          f"p99 {checkout_paced['p99_ms']:.1f} ms, max {checkout_paced['max_ms']:.1f} ms "
          f"(non-2xx or failed: {checkout_paced['errors']})")
    for name, figures in (("checkout", checkout), ("identify", identify)):
        cost = figures["app_cpu_ms"] + figures["db_cpu_ms"]
        print(f"CPU per {name}: app workers {figures['app_cpu_ms']:.2f} ms + database {figures['db_cpu_ms']:.2f} ms "
              f"(ceiling on {os.cpu_count()} cores of its own: {os.cpu_count() * 1000 / cost:,.0f}/s); "
              f"WAL {figures['wal_bytes'] / 1000:.1f} kB")
    if before.backend_cpu_ms is not None and after.backend_cpu_ms is not None:
        # Both sides' CPU, not their throughput: less moved by how cheap the machine's commits are.
        checkout_cpu = checkout["app_cpu_ms"] + checkout["db_cpu_ms"]
        pgbench_cpu = (before.backend_cpu_ms + after.backend_cpu_ms) / 2
        print(f"CPU per checkout / CPU per pgbench transaction (its backends): {checkout_cpu / pgbench_cpu:.1f}")
    print(f"identify, {args.members:,} members, {args.cards:,} cards, {args.clients} clients: {identify['per_second']:,.0f}/s, "
          f"p50 {identify['p50_ms']:.1f} ms, p99 {identify['p99_ms']:.1f} ms (target p99 <= 10 ms; "
          f"non-2xx or failed: {identify['errors']})")
    print(f"identify at {target:,.0f}/s offered by {args.tills} tills: {identify_paced['per_second']:,.0f}/s, "
          f"p50 {identify_paced['p50_ms']:.1f} ms, p99 {identify_paced['p99_ms']:.1f} ms (target p99 <= 10 ms)")
    print(f"identify, one till at a time: p50 {identify_alone['p50_ms']:.1f} ms, p99 {identify_alone['p99_ms']:.1f} ms")


#: Members with a shopping list in `offers_run`.
LISTED = 5_000


def offers_run(args, key: str) -> None:
    """Issue 19's till cost: --offers N personal offers (0.10 off product n each) on the current
    list of members 1..LISTED (checkout_in_process.prepare_offers); then, served as above, baskets
    of N lines (products 1..N) alternately for those members (N offers applied: N redemptions,
    budgets and uses written in the basket's statement) and for the others (none applies; the
    terms are still read and evaluated), twice each: by --clients connections without pause (the
    p99 target's load, as for the checkouts above), and by --tills at 0.15 x pgbench's TPS.
    CPU per checkout of each kind, its ratio (target <= 1.3) and p99 (target <= 50 ms)."""
    from checkout_in_process import prepare_offers

    prepare_offers(args.offers, range(1, LISTED + 1))
    psql("VACUUM (ANALYZE) offers_offerbudget, offers_offerbudgetslice, offers_memberofferuse, offers_offerredemption", BENCH_DB)
    ensure_database(PGBENCH_DB, fresh=True)
    before = pgbench(args.seconds)
    print(f"pgbench -c 8 -j 2 -T {args.seconds} (scale 8): {describe(before)}")
    target = TARGET_RATIO * before.tps
    server = start_server(server_command(args.server, "clientele.site.wsgi:application", args.workers,
                                         args.worker_class, args.threads))
    runs: dict[str, list[dict]] = {}
    try:
        for _ in range(2):
            for kind in ("plain", "offers"):
                mode = f"{kind}:{LISTED}"
                runs.setdefault(kind, []).append(load(mode, key, args.clients, args.seconds, args.members, args.cards,
                                                      server, products=args.offers))
                runs.setdefault(f"{kind} paced", []).append(load(mode, key, args.tills, args.seconds, args.members,
                                                                 args.cards, server, rate=target,
                                                                 products=args.offers))
    finally:
        server.terminate()
        server.wait()
    cpu = {}
    for kind, figures in runs.items():
        requests = sum(f["requests"] for f in figures)
        cpu[kind] = sum((f["app_cpu_ms"] + f["db_cpu_ms"]) * f["requests"] for f in figures) / max(requests, 1)
        print(f"{kind}: {args.offers}-line baskets, {'with' if kind.startswith('offers') else 'without'} "
              f"{args.offers} offers: " + "; ".join(
                  f"{f['per_second']:,.0f}/s, p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, CPU "
                  f"{f['app_cpu_ms']:.2f} + {f['db_cpu_ms']:.2f} ms (errors {f['errors']})" for f in figures)
              + f"; CPU per checkout {cpu[kind]:.2f} ms")
    print(f"CPU per checkout with {args.offers} offers / without, {args.clients} clients: "
          f"{cpu['offers'] / cpu['plain']:.3f}; at {target:,.0f}/s offered: "
          f"{cpu['offers paced'] / cpu['plain paced']:.3f} (target <= 1.3)")
    print(f"p99 with offers, {args.clients} clients: {max(f['p99_ms'] for f in runs['offers']):.1f} ms; "
          f"at {target:,.0f}/s: {max(f['p99_ms'] for f in runs['offers paced']):.1f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
