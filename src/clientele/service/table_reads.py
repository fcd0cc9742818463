"""Operational rows read into Arrow in one statement, for the analyses that count a million of them.

The database writes the rows as CSV and Arrow's CSV reader makes the columns: PostgreSQL's
`COPY (query) TO STDOUT`, SQLite's own string functions joining each row into one CSV line. Python
then handles one string per row (SQLite) or per block (PostgreSQL), never a Python object per
value nor a datetime parsed per row (Django's SQLite converters), and the reads go through Django's
connection, so they see the current transaction. Joins and aggregations are left to DuckDB.

NULL is an unquoted empty field, an empty string a quoted one (PostgreSQL's CSV convention), so the
two stay apart. Moments are read as UTC without a zone (`pa.timestamp("us")`).
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection

TEXT, INTEGER, MOMENT = pa.string(), pa.int64(), pa.timestamp("us")


def read_rows(queryset, columns: dict[str, pa.DataType]) -> pa.Table:
    """The rows of `queryset` (a `.values(name=..., ...)` whose names are `columns`' keys) as an
    Arrow table with `columns`' types: TEXT, INTEGER or MOMENT."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            selected = ", ".join(_postgresql_column(name, kind) for name, kind in columns.items())
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY (SELECT {selected} FROM ({sql}) AS chosen) TO STDOUT (FORMAT csv)",
                                    params) as copy:
                for block in copy:
                    buffer.write(block)
            data = buffer.getvalue()
        elif connection.vendor == "sqlite":
            line = " || ',' || ".join(_sqlite_column(name, kind) for name, kind in columns.items())
            cursor.execute(f"SELECT {line} FROM ({sql}) AS chosen", params)
            data = "".join(f"{row[0]}\n" for row in cursor.fetchall()).encode()
        else:  # pragma: no cover - the project runs on PostgreSQL and SQLite
            raise NotImplementedError(f"reading rows in bulk from {connection.vendor} is not written")
    schema = pa.schema(columns)
    if not data:
        return schema.empty_table()
    return pa_csv.read_csv(
        io.BytesIO(data), pa_csv.ReadOptions(column_names=list(columns)),
        convert_options=pa_csv.ConvertOptions(column_types=schema, null_values=[""], strings_can_be_null=True,
                                              quoted_strings_can_be_null=False))


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _postgresql_column(name: str, kind: pa.DataType) -> str:
    return f"{_quoted(name)} AT TIME ZONE 'UTC'" if kind == MOMENT else _quoted(name)


def _sqlite_column(name: str, kind: pa.DataType) -> str:
    """One CSV field: text quoted with its quotes doubled, NULL left empty (Django stores moments as
    UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]', which Arrow parses as it is)."""
    column = _quoted(name)
    if kind == TEXT:
        return f"""CASE WHEN {column} IS NULL THEN '' ELSE '"' || replace({column}, '"', '""') || '"' END"""
    return f"ifnull({column}, '')"
