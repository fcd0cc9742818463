"""The till's hot statements (`loyalty.libpq.rows`) behave as Django's cursor does, on either database."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from clientele.loyalty import libpq


@pytest.mark.django_db
def test_given_named_parameters_used_twice_and_a_percent_sign_when_run_then_the_rows_come_back_typed():
    found = libpq.rows(connection, "SELECT CAST(%(a)s AS INTEGER) + CAST(%(a)s AS INTEGER), %(b)s, '100%%'",
                       {"a": 2, "b": "two"})

    assert found == [(4, "two", "100%")]


@pytest.mark.django_db
def test_given_positional_parameters_when_run_twice_then_each_run_gets_its_own_values():
    sql = "SELECT CAST(%s AS INTEGER) * 10"

    assert [libpq.rows(connection, sql, [n]) for n in (1, 2)] == [[(10,)], [(20,)]]


@pytest.mark.django_db
def test_given_a_failing_statement_when_run_then_djangos_error_comes_and_the_next_statement_runs():
    with pytest.raises(DatabaseError, match="no_such_table"), transaction.atomic():
        libpq.rows(connection, "SELECT * FROM no_such_table WHERE id = %s", [1])

    assert libpq.rows(connection, "SELECT CAST(%s AS INTEGER)", [7]) == [(7,)]


def prepared_here() -> list[str]:
    return [name for (name,) in libpq.rows(
        connection, "SELECT name FROM pg_prepared_statements WHERE name LIKE %s ORDER BY name", ["clientele_hot_%%"])]


@pytest.mark.django_db
def test_given_numbers_of_every_size_when_run_then_the_statement_is_prepared_once():
    if connection.vendor != "postgresql":
        pytest.skip("statements are prepared on PostgreSQL")
    before = prepared_here()

    found = [libpq.rows(connection, "SELECT CAST(%s AS BIGINT) + 0 * 42", [n]) for n in (1, 70_000, 10**12)]

    assert found == [[(1,)], [(70_000,)], [(10**12,)]]
    assert len(prepared_here()) == len(before) + 1


@pytest.mark.django_db
def test_given_more_statements_than_kept_when_the_first_runs_again_then_it_is_prepared_again(monkeypatch):
    monkeypatch.setattr(libpq, "MAX_PREPARED", 2)
    statements = [f"SELECT CAST(%s AS INTEGER) + {n}" for n in (1000, 2000, 3000)]

    found = [libpq.rows(connection, sql, [1]) for sql in [*statements, statements[0]]]

    assert found == [[(1001,)], [(2001,)], [(3001,)], [(1001,)]]
    if connection.vendor == "postgresql":
        assert len(prepared_here()) <= 2


@pytest.mark.django_db(transaction=True)
def test_given_a_connection_that_ran_hot_statements_when_django_closes_it_then_it_is_freed():
    # Django reopens its connection every CONN_MAX_AGE seconds: what the statements keep for a
    # connection must not keep the closed one alive.
    import gc
    import weakref

    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the statements go through Django's cursor, which keeps nothing")
    # a connection of this test's own: what earlier tests of the worker left referring to theirs is not the point
    connection.close()
    connection.ensure_connection()
    libpq.rows(connection, "SELECT CAST(%s AS INTEGER)", [1])
    closed = weakref.ref(connection.connection)
    connection.close()
    gc.collect()

    assert closed() is None


@pytest.fixture
def scratch(django_db_blocker):
    """A table of its own, dropped after the test."""
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE hot_scratch (n integer PRIMARY KEY)")
        yield "hot_scratch"
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE hot_scratch")


def scratch_rows() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM hot_scratch ORDER BY n")
        return [n for (n,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_given_the_last_statement_of_an_atomic_block_when_run_with_commit_then_it_is_committed_with_it(scratch):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the block's end commits")
    from psycopg import pq

    with transaction.atomic():
        libpq.rows(connection, "INSERT INTO hot_scratch VALUES (%s)", [1])
        libpq.rows(connection, "INSERT INTO hot_scratch VALUES (%s)", [2], commit=True)
        committed = connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE

    assert committed
    assert scratch_rows() == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_given_a_failing_last_statement_when_run_with_commit_then_the_whole_block_is_rolled_back(scratch):
    with pytest.raises(DatabaseError), transaction.atomic():
        libpq.rows(connection, "INSERT INTO hot_scratch VALUES (%s)", [1])
        libpq.rows(connection, "INSERT INTO hot_scratch VALUES (%s)", [1], commit=True)  # the key again

    assert scratch_rows() == []
    assert libpq.rows(connection, "SELECT CAST(%s AS INTEGER)", [7]) == [(7,)]


@pytest.mark.django_db(transaction=True)
def test_given_a_nested_block_when_its_statement_runs_with_commit_then_the_outer_block_still_decides(scratch):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        with transaction.atomic():
            libpq.rows(connection, "INSERT INTO hot_scratch VALUES (%s)", [1], commit=True)
        1 / 0

    assert scratch_rows() == []
