"""One customer's results of the last refresh and one basket's lines, read without scanning the
rest: what the back office's customer 360 shows from the lake.

The refresh ends by copying the per-customer tables the 360 shows into one DuckDB database file,
<lake>/results/customer_view.duckdb (`write_customer_view`), in customer order, swapped in whole.
A customer's rows are point reads of that file (decision 0041): DuckDB's own storage skips to the
customer's rows by its zone maps, about ten times faster than the same read of the Parquet files
(whose footers and row groups are parsed and decoded per query). DuckDB answers them in-process,
whichever engine computed the results.

A night that follows the refresh which wrote the file (decision 0130) updates a copy of it instead:
in one transaction, the rows of the customers whose rows changed are deleted and inserted again
from tonight's results, for the tables of `IN_PLACE` whose changed customers are known
(category_pyramid's by key, its ranks ahead moved with them: decision 0132); the other tables are
copied whole; the copy is then swapped in whole, as a file written whole is.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import date
from pathlib import Path

import duckdb

from clientele.analytics.category_ranks import RANKS_AHEAD, count_ranks_ahead, move_ranks_ahead, ranked_categories
from clientele.analytics.results import DELTAS, GONE, delta_about, result_source, results_dir
from clientele.lake.reader import table_path
from clientele.lake.schema import BASKET_LINES

#: Per-customer result tables the 360 page shows: table -> (columns, order of the rows, row limit).
CUSTOMER_TABLES = {
    "baskets": ("basket_id, basket_date, spend, discount", "basket_date DESC, basket_id DESC", 500),
    "brand_loyalty": ("category, category_spend, store_brand_share, brand_loyalty, usage",
                      "category_spend DESC", 20),
    "category_pyramid": ("department, category, category_rank, category_level",
                         "category_rank, category", 10),
    "traits": ("trait, has_trait, confidence, evidence", "trait", 50),
    "next_purchases": ("product_id, probability, expected_date, typical_cycle_days, last_purchase",
                       "expected_date, probability DESC", 30),
    "next_visits": ("last_visit, typical_gap_days, expected_next_visit, probability_visit", "1", 1),
    "lifecycle_history": ("month, tenure_months, spend, lifecycle_stage", "month", 120),
    "lifecycle": ("lifecycle_stage, exit_pattern", "1", 1),
    "customer_margin": ("baskets, net_sales, estimated_margin, margin_rate", "1", 1),
}

#: category_pyramid's columns as the 360 file holds them: its levels, not its rank (decision 0128).
PYRAMID_COPIED = "department, category, category_code, category_spend, category_level"
#: category_pyramid's keys (its result's delta's: decision 0128), which its update in place follows.
PYRAMID_KEYS = ("customer_id", "category_code")

#: The file the refresh writes the per-customer tables of CUSTOMER_TABLES to (under results/).
VIEW_FILE = "customer_view.duckdb"
#: The tables of CUSTOMER_TABLES a night may update in place (decision 0130): given the customers
#: whose rows changed (the refresh's `changed`), or, for a result kept as a base and a delta whose
#: base is the one the file was written with, the customers of last night's and tonight's deltas
#: (category_pyramid: the keys of both deltas, and RANKS_AHEAD moved with them: decision 0132).
#: The others are copied whole every night (traits, next_purchases and next_visits change for
#: most customers a night).
IN_PLACE = ("baskets", "brand_loyalty", "category_pyramid", "lifecycle_history", "lifecycle", "customer_margin")
#: The 360 file's own table of what it was written of (one row, JSON): the refresh's `about`, the
#: base files of the IN_PLACE results and the file's size when written whole.
ABOUT_TABLE = "_about"
#: The 360 file's table of the customers each copied delta names (table_name, customer_id).
DELTA_CUSTOMERS = "_delta_customers"
#: The 360 file's table of the keys (PYRAMID_KEYS) category_pyramid's copied delta names.
PYRAMID_DELTA_KEYS = "_pyramid_delta_keys"
#: A file updated in place grows by the rows it inserts (the deleted ones' space is not given
#: back): past GROWTH times its size written whole, and GROWTH_BYTES more than it (a small
#: file's blocks), the night writes it whole again.
GROWTH, GROWTH_BYTES = 1.5, 64 << 20

_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB cursor (one database per process, one cursor per serving thread)."""
    if not hasattr(_local, "cursor"):
        _local.cursor = _shared().cursor()
    return _local.cursor


_lock = threading.Lock()
_database: list[duckdb.DuckDBPyConnection] = []


def _shared() -> duckdb.DuckDBPyConnection:
    with _lock:
        if not _database:
            _database.append(duckdb.connect())
        return _database[0]


def _files(folder: Path) -> list[str]:
    return sorted(str(f) for f in folder.rglob("*.parquet")) if folder.exists() else []


def write_customer_view(lake: Path | None = None, about: dict | None = None, follows: str | None = None,
                        changed: dict[str, list[str]] | None = None,
                        appended: dict[str, str] | None = None) -> dict[str, int]:
    """Copy the per-customer result tables of CUSTOMER_TABLES (the columns the 360 shows) from their
    Parquet files into <results>/customer_view.duckdb, written beside the old file and swapped in
    whole (a reader holding the old file keeps reading it; a write failing midway leaves the old
    file in place). The tables keep the refresh's customer order (`refresh._write`). A result kept
    as a base and a delta (decision 0124) is copied as its base, in customer order, less the rows of
    the keys the delta names, plus the delta's rows, appended: the merged rows, the base's still in
    customer order for the zone maps.

    `about` (JSON) says what the file is of (the refresh's as_of and inputs). With `follows`, the
    as_of of the refresh this night follows, when the current file says it is of that as_of and of
    the same inputs, the file is updated in place (decision 0130): copied, the rows of the changed
    customers of the IN_PLACE tables deleted and inserted (`changed`: per table, Parquet files of
    the customer_id whose rows changed; `appended`: per table whose kept rows all stay, a DuckDB
    condition on its result's rows that holds for the rows added alone, inserted), the other
    tables copied whole, in one transaction, then swapped in. Returns the rows per table."""
    folder = results_dir(lake)
    staged = folder / f"_{VIEW_FILE}"
    staged.unlink(missing_ok=True)
    about = about or {}
    try:
        kept = _kept_about(folder / VIEW_FILE, about, follows)
        if kept is not None:
            shutil.copyfile(folder / VIEW_FILE, staged)
        with duckdb.connect(str(staged)) as con:
            if kept is None:
                _copy_whole(con, folder, CUSTOMER_TABLES)
                _record(con, folder, about, None)
                con.execute("CHECKPOINT")
                _record_size(con, staged.stat().st_size)  # the size it grows from, in place
            else:
                # in one transaction: the copy is swapped in only once it has committed
                con.execute("BEGIN TRANSACTION")
                _copy_whole(con, folder, _update_in_place(con, folder, kept, changed or {}, appended or {}))
                _record(con, folder, about, kept["whole_bytes"])
                con.execute("COMMIT")
            con.execute("CHECKPOINT")
            tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            rows = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in CUSTOMER_TABLES if table in tables}
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, folder / VIEW_FILE)
    return rows


def _kept_about(current: Path, about: dict, follows: str | None) -> dict | None:
    """What the current 360 file says it is of, when this night may update it in place: it says it
    is of the refresh this night `follows` and of the same inputs, and it has not grown past its
    bound (GROWTH). None otherwise (the file is written whole)."""
    if follows is None or not current.exists():
        return None
    with duckdb.connect() as con:
        con.execute("ATTACH ? AS kept (READ_ONLY)", [str(current)])
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'kept' AND table_name = ?",
                           [ABOUT_TABLE]).fetchone()[0]:
            return None
        kept = json.loads(con.execute(f"SELECT about FROM kept.{ABOUT_TABLE}").fetchone()[0])
    written = kept.get("about", {})
    if written.get("as_of") != follows or written.get("inputs") != about.get("inputs") \
            or not kept.get("whole_bytes") \
            or current.stat().st_size > max(GROWTH * kept["whole_bytes"], kept["whole_bytes"] + GROWTH_BYTES):
        return None
    return kept


def _update_in_place(con: duckdb.DuckDBPyConnection, folder: Path, kept: dict, changed: dict[str, list[str]],
                     appended: dict[str, str]) -> set[str]:
    """Delete and insert again, in the copied file, the rows of the customers whose rows changed,
    for each IN_PLACE table whose changed customers are known, and insert the rows added to a
    table whose kept rows all stay; the tables left to copy whole."""
    whole = set(CUSTOMER_TABLES)
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for table in IN_PLACE:
        files = _files(folder / table)
        if table not in tables or not files:
            continue
        if table == "category_pyramid":
            if _update_pyramid_in_place(con, folder, kept, tables):
                whole.discard(table)
            continue
        columns = CUSTOMER_TABLES[table][0]
        if table in appended:
            # the rows added, of the base or of a delta on it (the closed month's: decision 0136)
            merged = delta_about(folder / DELTAS / table) is not None
            source = f"({result_source(folder, table)})" if merged else "read_parquet(?)"
            con.execute(f"INSERT INTO {table} SELECT customer_id, {columns} FROM {source} "
                        f"WHERE {appended[table]} ORDER BY customer_id", [] if merged else [files])
            whole.discard(table)
            continue
        customers = _changed_customers(con, folder, table, kept, changed)
        if customers is None:
            continue
        con.execute("CREATE OR REPLACE TEMP TABLE changed_customers AS " + customers)
        con.execute(f"DELETE FROM {table} WHERE customer_id IN (SELECT customer_id FROM changed_customers)")
        con.execute(f"INSERT INTO {table} SELECT customer_id, {columns} FROM ({result_source(folder, table)}) "
                    f"WHERE customer_id IN (SELECT customer_id FROM changed_customers) ORDER BY customer_id")
        whole.discard(table)
    return whole


def _update_pyramid_in_place(con: duckdb.DuckDBPyConnection, folder: Path, kept: dict, tables: set[str]) -> bool:
    """Replace, in the copied file, category_pyramid's rows of the keys last night's delta or
    tonight's names (the other keys' rows are the base's on both nights) with tonight's merged
    rows, and move RANKS_AHEAD with them (decision 0132). False (nothing done: the table is copied
    whole) when the base is not the one the file was written with or the file has no ranks."""
    table = "category_pyramid"
    about = delta_about(folder / DELTAS / table)
    if kept.get("bases", {}).get(table) != _base_files(folder / table) or RANKS_AHEAD not in tables \
            or PYRAMID_DELTA_KEYS not in tables or (about is not None and sorted(about["keys"]) != sorted(PYRAMID_KEYS)):
        return False
    keys = ", ".join(PYRAMID_KEYS)
    tonight = _files(folder / DELTAS / table) if about is not None else []
    changed = f"SELECT {keys} FROM {PYRAMID_DELTA_KEYS}"
    if tonight:
        changed += f" UNION SELECT {keys} FROM read_parquet({_list(tonight)})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE pyramid_changed AS {changed}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE pyramid_before AS SELECT customer_id, category_code, category_spend "
                f"FROM {table} SEMI JOIN pyramid_changed USING ({keys})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE pyramid_after AS SELECT customer_id, {PYRAMID_COPIED} "
                f"FROM ({result_source(folder, table, ranked=False)}) SEMI JOIN pyramid_changed USING ({keys})")
    matched = " AND ".join(f"{table}.{key} = pyramid_changed.{key}" for key in PYRAMID_KEYS)
    con.execute(f"DELETE FROM {table} USING pyramid_changed WHERE {matched}")
    con.execute(f"INSERT INTO {table} SELECT * FROM pyramid_after ORDER BY customer_id")
    move_ranks_ahead(con, "pyramid_before", "pyramid_after")
    return True


def _changed_customers(con: duckdb.DuckDBPyConnection, folder: Path, table: str, kept: dict,
                       changed: dict[str, list[str]]) -> str | None:
    """SQL of the customers whose rows of `table` differ from the copied file's (None: unknown):
    the refresh's `changed` for the table; else, for a result whose base is the one the file was
    written with, the customers of the delta the file copied and of tonight's (the other
    customers' rows are the base's in both)."""
    if table in changed:
        if not changed[table]:
            return "SELECT NULL::BIGINT AS customer_id WHERE false"
        return "SELECT DISTINCT customer_id FROM read_parquet(" + _list(changed[table]) + ")"
    if kept.get("bases", {}).get(table) != _base_files(folder / table):
        return None
    about = delta_about(folder / DELTAS / table)
    if about is not None and "customer_id" not in about["keys"]:
        return None
    copied = f"SELECT customer_id FROM {DELTA_CUSTOMERS} WHERE table_name = '{table}'"
    tonight = _files(folder / DELTAS / table) if about is not None else []
    if not tonight:
        return copied
    return f"{copied} UNION SELECT customer_id FROM read_parquet({_list(tonight)})"


def _list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _base_files(folder: Path) -> list[list]:
    """A result's base files: relative path, size and modification time (ns)."""
    return [[str(Path(f).relative_to(folder)), Path(f).stat().st_size, Path(f).stat().st_mtime_ns]
            for f in _files(folder)]


def _copy_whole(con: duckdb.DuckDBPyConnection, folder: Path, tables) -> None:
    """Copy the CUSTOMER_TABLES `tables` whole into the file (replacing a copied file's)."""
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        files = _files(folder / table)
        if files:
            columns = PYRAMID_COPIED if table == "category_pyramid" else CUSTOMER_TABLES[table][0]
            _copy_merged(con, folder, table, columns, files)
    if "category_pyramid" in tables:
        # the buyers ahead of each spend follow the pyramid copied (decision 0128)
        con.execute(f"DROP TABLE IF EXISTS {RANKS_AHEAD}")
        if _files(folder / "category_pyramid"):
            count_ranks_ahead(con)


def _record(con: duckdb.DuckDBPyConnection, folder: Path, about: dict, whole_bytes: int | None) -> None:
    """Write the file's ABOUT_TABLE (what it is of, `about`; the IN_PLACE results' base files; its
    size written whole), DELTA_CUSTOMERS (the customers the IN_PLACE results' deltas name) and
    PYRAMID_DELTA_KEYS (the keys category_pyramid's delta names)."""
    con.execute(f"CREATE OR REPLACE TABLE {DELTA_CUSTOMERS} (table_name VARCHAR, customer_id BIGINT)")
    con.execute(f"CREATE OR REPLACE TABLE {PYRAMID_DELTA_KEYS} (customer_id BIGINT, category_code BIGINT)")
    for table in IN_PLACE:
        delta = delta_about(folder / DELTAS / table)
        files = _files(folder / DELTAS / table)
        if delta is not None and files and table == "category_pyramid":
            if sorted(delta["keys"]) == sorted(PYRAMID_KEYS):
                con.execute(f"INSERT INTO {PYRAMID_DELTA_KEYS} SELECT DISTINCT {', '.join(PYRAMID_KEYS)} "
                            "FROM read_parquet(?)", [files])
        elif delta is not None and files and "customer_id" in delta["keys"]:
            con.execute(f"INSERT INTO {DELTA_CUSTOMERS} SELECT DISTINCT ?, customer_id FROM read_parquet(?)",
                        [table, files])
    record = {"about": about, "bases": {table: _base_files(folder / table) for table in IN_PLACE},
              "whole_bytes": whole_bytes}
    con.execute(f"CREATE OR REPLACE TABLE {ABOUT_TABLE} AS SELECT ?::VARCHAR AS about", [json.dumps(record)])


def _record_size(con: duckdb.DuckDBPyConnection, whole_bytes: int) -> None:
    record = json.loads(con.execute(f"SELECT about FROM {ABOUT_TABLE}").fetchone()[0])
    con.execute(f"UPDATE {ABOUT_TABLE} SET about = ?", [json.dumps(record | {"whole_bytes": whole_bytes})])


def _copy_merged(con: duckdb.DuckDBPyConnection, folder: Path, table: str, columns: str, files: list[str]) -> None:
    """Copy `columns` of one result into the 360 file's `table`, merged with its delta if it has one."""
    about, changed = delta_about(folder / DELTAS / table), _files(folder / DELTAS / table)
    if about is not None and not set(about["keys"]) <= {"customer_id", *columns.split(", ")}:
        # keys the 360 does not copy: the merged rows, sorted again
        con.execute(f"CREATE TABLE {table} AS SELECT customer_id, {columns} "
                    f"FROM ({result_source(folder, table)}) ORDER BY customer_id")
        return
    # a result of several files (the baskets' one per month: decision 0137) sorted again
    order = " ORDER BY customer_id" if len(files) > 1 else ""
    con.execute(f"CREATE TABLE {table} AS SELECT customer_id, {columns} FROM read_parquet(?){order}", [files])
    if about is not None and changed:
        matched = " AND ".join(f"{table}.{key} = changed.{key}" for key in about["keys"])
        con.execute(f"DELETE FROM {table} USING read_parquet(?) AS changed WHERE {matched}", [changed])
        con.execute(f"INSERT INTO {table} SELECT customer_id, {columns} FROM read_parquet(?) "
                    f"WHERE NOT {GONE} ORDER BY customer_id", [changed])


_views: dict[tuple, duckdb.DuckDBPyConnection] = {}


def _view_cursor(lake: Path | None) -> tuple[duckdb.DuckDBPyConnection, set[str]] | None:
    """This thread's cursor on the current customer view file and the tables it holds (None before
    the first refresh). A new file (the next refresh's) is opened when it replaces the old one."""
    path = results_dir(lake) / VIEW_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_ino, stat.st_mtime_ns)
    cached = getattr(_local, "view", None)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    with _lock:
        if key not in _views:
            for old in [k for k in _views if k[0] == key[0]]:
                _views.pop(old)  # closed when the last thread's cursor on it is gone
            # attached to an instance of its own: duckdb.connect(path) would hand back the instance
            # still open on the replaced file (DuckDB caches instances by path)
            database = duckdb.connect()
            database.execute("ATTACH ? AS customer_view (READ_ONLY)", [str(path)])
            _views[key] = database
        cursor = _views[key].cursor()
    tables = {row[0] for row in cursor.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'customer_view'").fetchall()}
    _local.view = (key, cursor, tables)
    return cursor, tables


def customer_results(customer_id: int, lake: Path | None = None) -> dict[str, list[dict]]:
    """Per table of CUSTOMER_TABLES, the customer's rows of the last refresh (dicts, newest or most
    telling first); an empty list for a table the refresh has not written or that has no row of the
    customer."""
    view = _view_cursor(lake)
    found: dict[str, list[dict]] = {table: [] for table in CUSTOMER_TABLES}
    if view is None:
        return found
    cursor, tables = view
    for table, (columns, order, limit) in CUSTOMER_TABLES.items():
        if table not in tables:
            continue
        if table == "category_pyramid" and RANKS_AHEAD in tables:  # else a file of before decision 0128
            found[table] = ranked_categories(cursor, customer_id, limit)
            continue
        relation = cursor.execute(
            f"SELECT {columns} FROM customer_view.{table} WHERE customer_id = ? ORDER BY {order} LIMIT {limit}",
            [customer_id])
        names = [d[0] for d in relation.description]
        found[table] = [dict(zip(names, row)) for row in relation.fetchall()]
    return found


def refresh_state(lake: Path | None = None) -> dict:
    """What the last refresh recorded: refresh_date and as_of (ISO dates), or {} before any."""
    path = results_dir(lake) / "_refresh.json"
    if not path.exists():
        return {}
    state = json.loads(path.read_text(encoding="utf-8"))
    return {"refresh_date": state.get("refresh_date"), "as_of": state.get("as_of")}


def basket_lines_of(basket_id: str, basket_date: date, lake: Path | None = None) -> list[dict]:
    """The lines of one basket of the lake, read from the month partition of its day only: product,
    quantity, what was paid and the discounts, in line order."""
    folder = table_path(BASKET_LINES, lake) / f"month={basket_date:%Y-%m}"
    files = _files(folder)
    if not files:
        return []
    relation = _connection().execute(
        """SELECT line_no, product_id, quantity, sales_value, retail_disc + coupon_disc + coupon_match_disc AS discount,
                  store_id, transaction_ts
           FROM read_parquet(?) WHERE basket_id = ? ORDER BY line_no NULLS LAST, product_id""",
        [files, basket_id])
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row)) for row in relation.fetchall()]
