"""Identify's latency with the till context (top categories, last purchase and what goes with it)
against identify without it, in the same run: one till, PostgreSQL, --members members with
--cards cards (target p99 <= 10 ms, docs/benchmarks.md).

    flock /work/wt/notes/bench.lock python benchmarks/bench_identify_context.py \
        [--members 3000000] [--cards 3500000] [--rounds 10] [--calls 1000] [--fresh]

The database (CLIENTELE_BENCH_DB, default bench_i25s_identify) is seeded server-side as
bench_checkout.py seeds its own (members, cards, accounts, an opening balance each), plus a tier
with perks on every account and a till context row per member (as `clientele refresh --serve`
writes them), and kept between runs. Two granian servers (one worker, two threads, the hot calls
in front of Django, as production serves identify) run side by side, one with
CLIENTELE_TILL_CONTEXT=false (identify as it was: greeting, offers, campaign messages) and one
with it on; one client (a till) calls them in alternating rounds of --calls identifies of random
cards among all of them, each sent when the last is answered, so both see the same machine.
Prints p50/p99/p99.9 of each and their ratio, and checks that the answers of both servers are
the same but for the context (and that Django's own route answers as the hot call). Then the
same rounds in process (`HotCalls.answer`, no HTTP), the setting switched between rounds, with the
CPU one call cost this process and its PostgreSQL backend: the figure a loaded machine moves least.
Asserts nothing on time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _measure import serve_app  # noqa: E402
from bench_checkout import SEED_SQL, SERVER, psql  # noqa: E402  (the same seed as the checkout benchmark)

BENCH_DB = os.environ.get("CLIENTELE_BENCH_DB", "bench_i25s_identify")
#: A server per setting: (till context, hot calls) -> port.
FIRST_PORT = int(os.environ.get("CLIENTELE_BENCH_PORT", "8791"))
PORTS = {(False, True): FIRST_PORT, (True, True): FIRST_PORT + 1, (True, False): FIRST_PORT + 2}

CONTEXT_SQL = """
INSERT INTO loyalty_tier (name, rank, min_spend_12m, min_visits_12m, earning_multiplier, perks)
SELECT 'Gold', 2, 0, 0, 1.5, '["free wrapping", "express lane"]'
WHERE NOT EXISTS (SELECT 1 FROM loyalty_tier WHERE name = 'Gold');
UPDATE loyalty_loyaltyaccount SET tier_id = (SELECT id FROM loyalty_tier WHERE name = 'Gold');
INSERT INTO members_tillcontext (member_id, refreshed_on, top_categories, last_bought, last_bought_on, goes_with)
SELECT id, current_date, 'BEEF|DOG FOODS|VEGETABLES', CASE WHEN id % 2 = 0 THEN 'DOG FOODS' ELSE 'BAKED BREAD/BUNS/ROLLS' END,
       current_date - (id % 30)::int, CASE WHEN id % 3 = 0 THEN '' ELSE 'CAT FOOD' END
FROM members_member;
"""


def prepare(members: int, cards: int, fresh: bool) -> str:
    """Migrate and seed the database (once per size); returns a till key of store 1."""
    if fresh:
        psql(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'"):
        psql(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{BENCH_DB}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "clientele.site.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from clientele.catalog.models import Store
    from clientele.loyalty.identity import issue_api_key
    from clientele.members.models import Member

    call_command("migrate", interactive=False, verbosity=0)
    counted = Member.objects.count()
    if counted not in (0, members):
        raise SystemExit(f"{BENCH_DB} holds {counted:,} members, not {members:,}: run with --fresh")
    if counted == 0:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(SEED_SQL.format(members=members, extra_cards=cards - members))
            cursor.execute(CONTEXT_SQL)
        psql("VACUUM (ANALYZE)", BENCH_DB)
        print(f"seeded {members:,} members, {cards:,} cards, accounts, balances and till contexts "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
    store, _ = Store.objects.get_or_create(store_id=1, defaults={"timezone": "America/Chicago"})
    key = issue_api_key(store, "identify context benchmark")[1]
    connection.close()
    return key


def start(setting: tuple[bool, bool]) -> subprocess.Popen:
    """A granian serving the app with the till context on or off, the hot calls on or off."""
    context, hot_calls = setting
    env = {"DATABASE_URL": f"{SERVER}/{BENCH_DB}", "PYTHONPATH": str(ROOT / "src"),
           "CLIENTELE_TILL_CONTEXT": "true" if context else "false",
           "CLIENTELE_HOT_CALLS": "true" if hot_calls else "false"}
    granian = str(Path(sys.executable).with_name("granian"))
    return serve_app([granian, "--interface", "wsgi", "clientele.site.wsgi:application", "--workers", "1",
                      "--blocking-threads", "2", "--host", "127.0.0.1", "--port", str(PORTS[setting]),
                      "--log-level", "warning", "--no-ws"], PORTS[setting], env)


def card_of(number: int, members: int) -> str:
    """The barcode of card `number` (1-based) of the seed: members' first cards, then their second."""
    from clientele.barcodes import ean13_check_digit

    body = f"290{number:09d}" if number <= members else f"291{number - members:09d}"
    return body + str(ean13_check_digit(body))


def identify(connection: http.client.HTTPConnection, key: str, card: str) -> tuple[float, int, bytes]:
    """One identify on a kept-alive connection: (seconds, status, body). A connection the server
    closed meanwhile (granian ends idle keep-alive connections) is opened again and the call sent
    again, the time counted from the second sending."""
    try:
        return _identify_once(connection, key, card)
    except (http.client.RemoteDisconnected, ConnectionResetError):
        connection.close()  # opened again by the next request
        return _identify_once(connection, key, card)


def _identify_once(connection: http.client.HTTPConnection, key: str, card: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    connection.request("GET", f"/api/members/identify?card={card}", headers={"X-API-Key": key})
    response = connection.getresponse()
    body = response.read()
    return time.perf_counter() - started, response.status, body


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3_000_000)
    parser.add_argument("--cards", type=int, default=3_500_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    key = prepare(args.members, args.cards, args.fresh)
    servers = {setting: start(setting) for setting in PORTS}
    try:
        connections = {setting: http.client.HTTPConnection("127.0.0.1", PORTS[setting], timeout=10)
                       for setting in servers}
        rng = random.Random(25)
        sample = [card_of(rng.randint(1, args.cards), args.members) for _ in range(200)]
        for card in sample[:50]:  # warm the workers (connections, prepared statements, imports)
            for setting in servers:
                identify(connections[setting], key, card)
        answers = {setting: [json.loads(identify(connections[setting], key, card)[2]) for card in sample[50:]]
                   for setting in servers}
        without, with_context, through_django = answers[False, True], answers[True, True], answers[True, False]
        same = all({k: v for k, v in off.items() if k not in ("top_categories", "context")}
                   == {k: v for k, v in on.items() if k not in ("top_categories", "context")}
                   for off, on in zip(without, with_context))
        told = sum(1 for on in with_context if on.get("context"))
        django_same = through_django == with_context
        times: dict[bool, list[float]] = {False: [], True: []}
        errors = {False: 0, True: 0}
        servers.pop((True, False)).terminate()  # Django's route is not measured: the till's is the hot call
        load = os.getloadavg()
        for round_number in range(args.rounds):
            cards = [card_of(rng.randint(1, args.cards), args.members) for _ in range(args.calls)]
            order = (False, True) if round_number % 2 == 0 else (True, False)
            for context in order:
                for card in cards:
                    took, status, _ = identify(connections[context, True], key, card)
                    times[context].append(took)
                    errors[context] += status != 200
        load_after = os.getloadavg()
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=10)
    in_process = _in_process(key, args, rng)
    figures = {}
    for context, label in ((False, "without till context (as before)"), (True, "with till context")):
        figures[label] = _summary(times[context], errors[context])
    before, after = figures["without till context (as before)"], figures["with till context"]
    print(json.dumps({
        "members": args.members, "cards": args.cards, "rounds": args.rounds, "calls_per_round": args.calls,
        "load_average_before": [round(x, 2) for x in load], "load_average_after": [round(x, 2) for x in load_after],
        "answers_same_but_the_context": same, "answers_with_a_context_line": f"{told}/{len(with_context)}",
        "django_route_answers_as_hot_call": django_same, **figures,
        "p50_ratio_with_over_without": round(after["p50_ms"] / before["p50_ms"], 3),
        "p99_ratio_with_over_without": round(after["p99_ms"] / before["p99_ms"], 3),
        "in_process_server_time": in_process,
        "target_p99_ms": 10,
    }, indent=1))


def _summary(values: list[float], failed: int) -> dict:
    return {"calls": len(values), "non_200": failed, "p50_ms": round(percentile(values, 0.50) * 1000, 2),
            "p99_ms": round(percentile(values, 0.99) * 1000, 2), "p999_ms": round(percentile(values, 0.999) * 1000, 2)}


def _in_process(key: str, args, rng: random.Random) -> dict:
    """Identify's server time without HTTP: the hot call (`HotCalls.answer`, what granian runs) in
    this process, the setting switched between alternating rounds of the same cards."""
    from django.conf import settings

    from clientele.site.wsgi import application

    def environ(card: str) -> dict:
        return {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/members/identify", "QUERY_STRING": f"card={card}",
                "HTTP_HOST": "127.0.0.1", "HTTP_X_API_KEY": key, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                "wsgi.input": None}

    from django.db import connection

    times: dict[bool, list[float]] = {False: [], True: []}
    errors = {False: 0, True: 0}
    cpu = {False: [0.0, 0.0], True: [0.0, 0.0]}  # seconds of this process, of its database backend
    for card in (card_of(rng.randint(1, args.cards), args.members) for _ in range(100)):  # warm
        application.answer(environ(card))
    # one connection throughout (never closed as too old between calls), so its backend's CPU is the calls'
    connection.settings_dict["CONN_MAX_AGE"] = None
    connection.close_at = None
    backend = connection.connection.info.backend_pid
    for round_number in range(args.rounds):
        cards = [card_of(rng.randint(1, args.cards), args.members) for _ in range(args.calls)]
        for context in ((False, True) if round_number % 2 == 0 else (True, False)):
            settings.CLIENTELE_TILL_CONTEXT = context
            app_cpu, db_cpu = time.process_time(), _cpu_seconds(backend)
            for card in cards:
                started = time.perf_counter()
                status, _ = application.answer(environ(card))
                times[context].append(time.perf_counter() - started)
                errors[context] += status != 200
            cpu[context][0] += time.process_time() - app_cpu
            cpu[context][1] += _cpu_seconds(backend) - db_cpu
    settings.CLIENTELE_TILL_CONTEXT = True
    without, with_context = _summary(times[False], errors[False]), _summary(times[True], errors[True])
    for figures, context in ((without, False), (with_context, True)):
        figures["cpu_ms_per_call_app"] = round(cpu[context][0] * 1000 / len(times[context]), 3)
        figures["cpu_ms_per_call_database"] = round(cpu[context][1] * 1000 / len(times[context]), 3)
    total = {context: cpu[context][0] + cpu[context][1] for context in cpu}
    return {"without till context (as before)": without, "with till context": with_context,
            "p99_ratio_with_over_without": round(with_context["p99_ms"] / without["p99_ms"], 3),
            "cpu_ratio_with_over_without": round(total[True] / total[False], 3)}


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used (a PostgreSQL backend on this machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
