"""The till's hot statements run through libpq directly, on Django's own PostgreSQL connection.

A checkout's two statements and an identify's one are where a till waits on the database. Sent
through Django's cursor, each round trip cost the worker about 140 µs of CPU, against about 60 µs
through psycopg's libpq wrapper (`pq.PGconn.exec_prepared`): Django's cursor wrapper, then
psycopg's cursor (its query conversion, prepared-statement bookkeeping and I/O generators) sit
in between (docs/decisions/0014-hot-statements-through-libpq.md). `rows` keeps what they give:
psycopg's own adapters dump the parameters and load the results (a `Transformer` of the
connection), the statement is prepared once per connection, errors come as Django's database
errors, the transaction is the one Django's `atomic` opened (its `BEGIN` sent here in one
message with its first statement, as psycopg would send it before; and with `commit=True`, its
`COMMIT` in one message with its last: docs/decisions/0015-checkout-in-two-round-trips.md), and
the query is logged as Django logs it when it logs queries. Elsewhere (SQLite, a connection with execute wrappers installed, or one where psycopg
prepares statements itself: it deallocates them all at each rollback) `rows` is `cursor.execute`
and `fetchall`.
"""

from __future__ import annotations

import re
import select
import time
from functools import lru_cache
from typing import Any

from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import AdaptersMap, PyFormat, Transformer
from psycopg.types.numeric import Int8Dumper

_OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)
#: Statements kept prepared per connection; the oldest is deallocated beyond.
MAX_PREPARED = 100


class _Connection:
    """What a psycopg connection keeps for the hot statements (as its `_clientele_hot`): the
    statements prepared on it by (text, parameter types), libpq's escaping of literals for the
    statements sent in one message with a `BEGIN` or `COMMIT`, and its adapters, except that every
    Python int is sent as a bigint: psycopg sends a smallint, an integer or a bigint by the
    value's size, and a statement is prepared per parameter types, so ten product numbers would
    make up to 1,024 versions of one statement."""

    __slots__ = ("connection", "adapters", "transformer", "escaping", "statements", "made")

    def __init__(self, connection):
        self.connection = connection
        self.adapters = AdaptersMap(connection.adapters)
        self.adapters.register_dumper(int, Int8Dumper)
        self.transformer = Transformer(self)
        self.escaping = pq.Escaping(connection.pgconn)
        self.statements: dict[tuple[str, tuple[int, ...]], bytes] = {}
        self.made = 0

    def prepared(self, pgconn, sql: str, text: bytes, types: tuple[int, ...]) -> bytes:
        """The name of `sql` prepared for these parameter types, preparing it when it is not."""
        name = self.statements.get((sql, types))
        if name is None:
            while len(self.statements) >= MAX_PREPARED:  # the oldest first
                oldest = next(iter(self.statements))
                _check(pgconn.exec_(b"DEALLOCATE " + self.statements.pop(oldest)), self.connection)
            name = f"clientele_hot_{self.made}".encode()
            _check(pgconn.prepare(name, text, param_types=types), self.connection)
            self.statements[(sql, types)] = name
            self.made += 1
        return name


@lru_cache(maxsize=256)
def _numbered(sql: str) -> tuple[bytes, tuple[str, ...] | None, int]:
    """`sql` with psycopg's placeholders (`%s`, or `%(name)s`, and `%%`) as PostgreSQL's `$n`;
    the parameters' names in `$n` order (None for positional ones) and their count."""
    names: list[str] = []
    positional = 0

    def number(match: re.Match) -> str:
        nonlocal positional
        if match.group(0) == "%%":
            return "%"
        name = match.group(1)
        if name is None:
            positional += 1
            return f"${positional}"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    text = re.sub(r"%\((\w+)\)s|%s|%%", number, sql)
    if names and positional:
        raise ValueError("a statement takes named or positional parameters, not both")
    return text.encode(), (tuple(names) if names else None), positional or len(names)


def rows(db, sql: str, params: list | dict, *, commit: bool = False) -> list[tuple]:
    """The rows `sql` gives with `params` (psycopg's placeholders), on Django connection `db`.

    `commit`: the statement is the last of the transaction Django's outermost `atomic` block
    opened; on the libpq path its `COMMIT` goes in the same round trip, and from then on until
    the block ends every query on the connection is refused (TransactionManagementError, from
    `WrittenAfterCommit`): nothing can be written by mistake after the commit, outside the
    business event's transaction. Inside a nested block (a savepoint, a test's transaction) the
    flag changes nothing: the outer block commits."""
    return _run(db, sql, params, commit, named=False)


def records(db, sql: str, params: list | dict, *, commit: bool = False) -> list[dict]:
    """`rows`, each row a dict by column name: the till's statements are read by name, never by
    position (every column they select is named, none comes from `SELECT *`)."""
    return _run(db, sql, params, commit, named=True)


class WrittenAfterCommit(Exception):
    """A query on a connection whose transaction was committed with its last statement
    (`rows(..., commit=True)`), before the atomic block that opened it ended."""


_AFTER_COMMIT = WrittenAfterCommit("this transaction was committed with its last statement "
                                   "(libpq.rows(..., commit=True)): nothing may run after it in its atomic block")


def _run(db, sql: str, params: list | dict, commit: bool, named: bool) -> list:
    if db.vendor == "postgresql" and not db.execute_wrappers:
        db.validate_no_broken_transaction()  # as Django's cursor does, and then connects
        db.close_if_health_check_failed()
        db.ensure_connection()
        # psycopg preparing statements itself deallocates all of them, these too, at each rollback
        # (the setting is the connection's from the start: `OPTIONS`, not changed on the way).
        if db.connection.prepare_threshold is None:
            commit = commit and db.in_atomic_block and len(db.atomic_blocks) == 1 and not db.needs_rollback
            found = _through_libpq(db, db.connection, sql, params, commit, named)
            if commit:
                # The transaction is over: Django's cursor and this module refuse every query until
                # the block ends (its exit then rolls back nothing: the server is idle).
                db.needs_rollback, db.rollback_exc = True, _AFTER_COMMIT
            return found
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
        if named:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in found]
        return found


def _through_libpq(db, connection, sql: str, params: list | dict, commit: bool, named: bool) -> list:
    # Kept on the psycopg connection itself, so it goes when the connection does (Django reopens
    # one every CONN_MAX_AGE seconds).
    state = getattr(connection, "_clientele_hot", None)
    if state is None:
        state = connection._clientele_hot = _Connection(connection)
    text, names, count = _numbered(sql)
    values: list[Any] = [params[name] for name in names] if names else list(params)
    if len(values) != count:
        raise ValueError(f"the statement takes {count} parameters, not {len(values)}")
    started = time.monotonic()
    with db.wrap_database_errors:
        pgconn = connection.pgconn
        begin = pgconn.transaction_status == pq.TransactionStatus.IDLE and not connection.autocommit
        if begin and (connection.isolation_level, connection.read_only, connection.deferrable) != (None, None, None):
            with db.cursor() as cursor:  # psycopg's BEGIN, with its options
                cursor.execute("SELECT 1")
            begin = False
        transformer = state.transformer
        dumped = transformer.dump_sequence(values, [PyFormat.TEXT] * count)
        name = state.prepared(pgconn, sql, text, tuple(transformer.types))
        if begin or commit:
            # The first statement of Django's atomic block comes with the BEGIN psycopg would
            # have sent (it sends none of its own once the connection is in a transaction); the
            # last, with its COMMIT: one round trip either way.
            result = _in_one_message(pgconn, connection, name, dumped, state.escaping.escape_literal, begin=begin,
                                commit=commit)
        else:
            result = _check(pgconn.exec_prepared(name, dumped, param_formats=transformer.formats), connection)
        transformer.set_pgresult(result)
        found = transformer.load_rows(0, result.ntuples, tuple)
        if named:
            names = [result.fname(column).decode() for column in range(result.nfields)]
            found = [dict(zip(names, row)) for row in found]
    if db.queries_logged:
        db.queries_log.append({"sql": f"{sql} -- {values!r}", "time": f"{time.monotonic() - started:.3f}"})
    return found


def _in_one_message(pgconn, connection, name: bytes, dumped, escape, *, begin: bool, commit: bool) -> pq.PGresult:
    """Run prepared statement `name` after a `BEGIN` (when `begin`) and before a `COMMIT` (when
    `commit`) in one round trip, and give its result: one message of the simple query protocol,
    `BEGIN; EXECUTE name(...); COMMIT`, the parameters as escaped literals of the types the
    statement was prepared with. An error in the statement skips the `COMMIT` and leaves the
    transaction failed, for Django to roll back.

    Not libpq's pipeline mode: its sync (`PQpipelineSync`) writes to the socket while holding the
    GIL (psycopg's wrapper keeps it), and the write wakes the server's backend, which on a busy
    machine takes the core: every thread of the worker then waited (a quarter of the time a
    worker held the GIL went there, py-spy --gil). `send_query` writes without the GIL, and the
    wait is a `poll` of the socket, which releases it too."""
    literals = b", ".join(b"NULL" if value is None else escape(value) for value in dumped)
    query = b"".join((b"BEGIN; " if begin else b"", b"EXECUTE ", name, b"(" + literals + b")" if dumped else b"",
                      b"; COMMIT" if commit else b""))
    try:
        pgconn.send_query(query)
        waiting = select.poll()  # not `select.select`: it refuses descriptors above 1023
        waiting.register(pgconn.socket, select.POLLOUT)
        while pgconn.flush():  # what a non-blocking connection could not write at once
            waiting.poll()
        waiting.modify(pgconn.socket, select.POLLIN)
        results = []
        while True:
            while pgconn.is_busy():
                waiting.poll()
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                break
            results.append(result)
    except BaseException:
        # Interrupted halfway (a lost connection, a signal): what the server did is unknown, so
        # the connection is closed for Django to open a new one, as for a lost connection.
        pgconn.finish()
        raise
    for result in results:  # the first error: the statements after it did not run
        _check(result, connection)
    return results[1 if begin else 0]


def _check(result: pq.PGresult, connection) -> pq.PGresult:
    if result.status not in _OK:
        error = pg_errors.error_from_result(result, encoding=connection.info.encoding)
        if connection.pgconn.status == pq.ConnStatus.BAD:  # the server went away (a restart): retry later
            raise pg_errors.OperationalError(str(error)) from error
        raise error
    return result
