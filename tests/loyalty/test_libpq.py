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
    libpq.rows(connection, "SELECT CAST(%s AS INTEGER)", [1])
    closed = weakref.ref(connection.connection)
    connection.close()
    gc.collect()

    assert closed() is None
