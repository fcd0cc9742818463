"""What one checkout costs, in process: the served WSGI application called directly, one at a time.

    .venv/bin/python benchmarks/checkout_in_process.py [--checkouts 2000] [--src PATH]

Posts --checkouts baskets of 10 lines (random members and products, as bench_checkout.py's wrk
script does) through `clientele.site.wsgi.application` on the benchmark database (clientele_bench or
$CLIENTELE_BENCH_DB, built by bench_checkout.py's `prepare`), after 200 that warm the worker up, with no HTTP server and
no concurrency. Prints, per checkout: this process's CPU time (user + system), its PostgreSQL
backend's (from /proc), the wall time, and the WAL the server wrote; then the statements prepared
on the connection, with their generic and custom plan counts.

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
    args = parser.parse_args()
    if args.key is None:  # in a process of its own: prepare() sets Django up with this checkout's code
        prepared = subprocess.run([sys.executable, "-c", "import bench_checkout as b; print(b.prepare(3_000_000, "
                                   "3_500_000, False))"], cwd=BENCHMARKS, check=True, capture_output=True, text=True,
                                  env=os.environ | {"PYTHONPATH": str(args.src)})  # migrated by the code measured
        args.key = prepared.stdout.split()[-1]
    env = os.environ | {"PYTHONPATH": str(args.src), "DJANGO_SETTINGS_MODULE": "clientele.site.settings",
                        "DATABASE_URL": f"{SERVER}/{BENCH_DB}"}
    subprocess.run([sys.executable, __file__, "--measure", str(args.checkouts), args.key], env=env, check=True)


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
    else:
        main()
