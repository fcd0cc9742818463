"""What sending a checkout's first read costs the database, by the two ways libpq can send it in one
round trip with its BEGIN and COMMIT.

    .venv/bin/python benchmarks/bench_statement_protocol.py [--statements 3000] [--rounds 3]

On the benchmark database (clientele_bench, built by bench_checkout.py), one connection runs the
checkout's first read (`checkout._FIRST_READ`, prepared once) for random cards and products,
alternating --rounds times between:
- `BEGIN; EXECUTE s('...', ...); COMMIT` as one simple-protocol message, the parameters as escaped
  literals, as `libpq._in_one_message` sends the hot statements (decision 0015);
- the same three commands in libpq's pipeline mode: Bind with text parameters, one sync.
Prints, per statement, the CPU of the connection's backend (from /proc), of this process, and
the wall time. Measures a lever, not the product: the till uses the first way. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

DATABASE = "postgresql://postgres@127.0.0.1:5432/clientele_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    os.environ.update(DJANGO_SETTINGS_MODULE="clientele.site.settings", DATABASE_URL=DATABASE)
    import django

    django.setup()
    import psycopg
    from psycopg import pq

    from clientele.barcodes import card_barcode
    from clientele.loyalty import checkout, identity, libpq

    key_sql, _ = identity.till_key_sql(identity.PresentedKey("any"))
    member_sql, _ = identity.member_to_credit_sql("any", None)
    sql = checkout._FIRST_READ.format(till_key=key_sql, member=member_sql, products="= ANY(%s::bigint[])",
                                      member_columns=checkout._MEMBER_COLUMNS_SQL, rules_stamp=checkout._RULES_STAMP)
    text = libpq._numbered(sql)[0]
    connection = psycopg.connect(DATABASE, autocommit=True)
    pgconn = connection.pgconn
    key_hash = connection.execute("SELECT key_hash FROM loyalty_apikey WHERE revoked_at IS NULL LIMIT 1").fetchone()
    if key_hash is None:
        raise SystemExit("no till key: run benchmarks/bench_checkout.py once to build the benchmark database")
    backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    members = connection.execute("SELECT count(*) FROM members_member").fetchone()[0]
    prepared = pgconn.prepare(b"first_read", text, param_types=[25, 25, 25])
    if prepared.status != pq.ExecStatus.COMMAND_OK:
        raise SystemExit(prepared.error_message.decode())
    escaping = pq.Escaping(pgconn)
    ok = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)

    def parameters() -> list[bytes]:
        products = "{" + ",".join(str(random.randint(1, 200)) for _ in range(10)) + "}"
        return [key_hash[0].encode(), card_barcode(random.randint(1, members), 0).encode(), products.encode()]

    def simple(count: int) -> None:
        for _ in range(count):
            literals = b", ".join(escaping.escape_literal(value) for value in parameters())
            pgconn.send_query(b"BEGIN; EXECUTE first_read(" + literals + b"); COMMIT")
            while (result := pgconn.get_result()) is not None:
                assert result.status in ok, result.error_message

    def pipeline(count: int) -> None:
        pgconn.enter_pipeline_mode()
        for _ in range(count):
            pgconn.send_query_params(b"BEGIN", None)
            pgconn.send_query_prepared(b"first_read", parameters())
            pgconn.send_query_params(b"COMMIT", None)
            pgconn.pipeline_sync()
            while True:
                result = pgconn.get_result()
                if result is None:  # between the results of two commands
                    continue
                if result.status == pq.ExecStatus.PIPELINE_SYNC:
                    break
                assert result.status in ok, result.error_message
        pgconn.exit_pipeline_mode()

    def backend_ticks() -> int:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    ways = {"simple protocol, EXECUTE with literals": simple, "pipeline mode, Bind with parameters": pipeline}
    for way in ways.values():  # warm-up: plans cached, pages read
        way(300)
    print(f"the checkout's first read, {args.statements:,} per run, with BEGIN and COMMIT in one round trip:")
    for _ in range(args.rounds):
        for label, way in ways.items():
            ticks, usage, wall = backend_ticks(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            way(args.statements)
            ticks, wall = backend_ticks() - ticks, time.perf_counter() - wall
            ended = resource.getrusage(resource.RUSAGE_SELF)
            client = ended.ru_utime + ended.ru_stime - usage.ru_utime - usage.ru_stime
            per = 1e6 / args.statements
            print(f"  {label}: backend {ticks / os.sysconf('SC_CLK_TCK') * per:.0f} µs, "
                  f"this process {client * per:.0f} µs, wall {wall * per:.0f} µs")


if __name__ == "__main__":
    main()
