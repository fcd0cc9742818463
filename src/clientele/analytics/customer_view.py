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
(category_pyramid's and brand_loyalty's by key, only the rows that differ, the pyramid's ranks
ahead moved with them: decisions 0132, 0142); the other tables are copied whole; the copy is then
swapped in whole, as a file written whole is.
"""

from __future__ import annotations

import json
import os
import re
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
#: (BY_KEY: the keys of both deltas, and RANKS_AHEAD moved with category_pyramid's: decisions
#: 0132, 0142).
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
#: The IN_PLACE results kept as a base and a delta that a night follows by key: per table, its
#: delta's keys and the file's table of the keys the copied delta names (decisions 0132, 0142).
BY_KEY = {"category_pyramid": (PYRAMID_KEYS, PYRAMID_DELTA_KEYS),
          "brand_loyalty": (("customer_id", "category"), "_brand_loyalty_delta_keys")}
#: A file updated in place grows by the rows it inserts (the deleted ones' space is not given
#: back): past GROWTH times its size written whole, and GROWTH_BYTES more than it (a small
#: file's blocks), the night writes it whole again.
GROWTH, GROWTH_BYTES = 1.5, 64 << 20

#: A file (or Spark's folder) of the baskets' one basket month (`refresh.BASKET_MONTH_FILE`).
BASKET_MONTH = re.compile(r"month-(\d{4}-\d{2})\.parquet")

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
                # no vacuum at the checkpoint: it rewrote every row group a delete touched (the
                # ranks ahead's `tied` lists and index whole) to give back space the copy does not
                # need; the rows are the same either way, and GROWTH bounds the file (decision 0145)
                con.execute("SET max_vacuum_tasks = 0")
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
        if table in BY_KEY and _update_by_key(con, folder, kept, tables, table):
            whole.discard(table)
            continue
        if table == "category_pyramid":
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
        source, within = f"({result_source(folder, table)})", ""
        months = _rewritten_months(folder, kept) if table == "baskets" else None
        if months is not None:
            # the changed customers' baskets of the month files written tonight; their other
            # months' files are last night's (linked), so are their rows (decision 0142)
            source = f"read_parquet({_list(months[1])})" if months[1] else f"(SELECT * FROM {table} WHERE false)"
            within = " AND date_trunc('month', basket_date) IN (" + (
                ", ".join(f"DATE '{month}-01'" for month in months[0]) or "NULL") + ")"
        con.execute(f"DELETE FROM {table} WHERE customer_id IN (SELECT customer_id FROM changed_customers){within}")
        con.execute(f"INSERT INTO {table} SELECT customer_id, {columns} FROM {source} "
                    f"WHERE customer_id IN (SELECT customer_id FROM changed_customers) ORDER BY customer_id")
        whole.discard(table)
    return whole


def _update_by_key(con: duckdb.DuckDBPyConnection, folder: Path, kept: dict, tables: set[str], table: str) -> bool:
    """Replace, in the copied file, the rows of `table` (of BY_KEY) that differ from tonight's, of
    the keys last night's delta or tonight's names (every other key's row is the base's on both
    nights): tonight's rows of those keys are the delta's (not gone) and, for a key last night's
    delta named and tonight's does not, the base's. Only the rows that differ are deleted (by
    rowid) and inserted; category_pyramid's RANKS_AHEAD moved with them (decision 0132). False
    (nothing done: the table is updated by customer, or copied whole) when the base is not the one
    the file was written with, or the file does not hold the keys last night's delta named."""
    keys, keys_table = BY_KEY[table]
    about = delta_about(folder / DELTAS / table)
    pyramid = table == "category_pyramid"
    if kept.get("bases", {}).get(table) != _base_files(folder / table) or (pyramid and RANKS_AHEAD not in tables) \
            or (about is not None and sorted(about["keys"]) != sorted(keys)):
        return False
    columns = PYRAMID_COPIED if pyramid else CUSTOMER_TABLES[table][0]
    listed, tonight = ", ".join(keys), _files(folder / DELTAS / table) if about is not None else []
    if keys_table not in tables:
        # a file of before the table: last night's keys are known when its delta named no customer
        if pyramid or DELTA_CUSTOMERS not in tables or con.execute(
                f"SELECT count(*) FROM {DELTA_CUSTOMERS} WHERE table_name = ?", [table]).fetchone()[0]:
            return False
        keys_table = f"(SELECT {listed} FROM {table} WHERE false)"
    delta = f"read_parquet({_list(tonight)})" if tonight else None
    named = f"SELECT {listed} FROM {keys_table}" + (f" UNION SELECT {listed} FROM {delta}" if delta else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE keys_named AS {named}")
    # the keys last night's delta named and tonight's does not: back to the base's rows
    reverted = f"SELECT {listed} FROM {keys_table}" + (f" ANTI JOIN {delta} USING ({listed})" if delta else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE keys_reverted AS {reverted}")
    after = [f"SELECT customer_id, {columns} FROM {delta} WHERE NOT {GONE}"] if delta else []
    if con.execute("SELECT count(*) FROM keys_reverted").fetchone()[0]:
        after.append(f"SELECT customer_id, {columns} FROM read_parquet({_list(_files(folder / table))}) "
                     f"SEMI JOIN keys_reverted USING ({listed})")
    empty = f"SELECT customer_id, {columns} FROM {table} WHERE false"
    con.execute(f"CREATE OR REPLACE TEMP TABLE rows_tonight AS {' UNION ALL '.join(after) or empty}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE rows_kept AS SELECT rowid AS row_id, customer_id, {columns} "
                f"FROM {table} SEMI JOIN keys_named USING ({listed})")
    # the rows that differ (a row with a null is taken as differing: replaced by itself)
    every = ", ".join(["customer_id", *columns.split(", ")])
    con.execute(f"CREATE OR REPLACE TEMP TABLE rows_removed AS SELECT * FROM rows_kept "
                f"ANTI JOIN rows_tonight USING ({every})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE rows_added AS SELECT * FROM rows_tonight "
                f"ANTI JOIN rows_kept USING ({every})")
    con.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT row_id FROM rows_removed)")
    con.execute(f"INSERT INTO {table} SELECT {every} FROM rows_added ORDER BY customer_id")
    if pyramid:
        move_ranks_ahead(con, "rows_removed", "rows_added")
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


def _rewritten_months(folder: Path, kept: dict) -> tuple[list[str], list[str]] | None:
    """The baskets' months (YYYY-MM) whose files differ from those the file was written with, and
    those files, when every file of the baskets is one basket month's (`refresh.BASKET_MONTH_FILE`
    + "YYYY-MM.parquet", a file or Spark's folder of files: decision 0137) and they hold no delta
    of rows; None otherwise."""
    table = "baskets"
    if kept.get("bases", {}).get(table) is None or any((folder / DELTAS / table).rglob("*.parquet")):
        return None
    before = {tuple(entry) for entry in kept["bases"][table]}
    now = {tuple(entry) for entry in _base_files(folder / table)}
    months: set[str] = set()
    files: list[str] = []
    for entry in before ^ now:  # a file written tonight, or one of last night's gone
        month = BASKET_MONTH.fullmatch(Path(entry[0]).parts[0])
        if month is None:
            return None
        months.add(month.group(1))
        if entry in now:
            files.append(str(folder / table / entry[0]))
    if any(BASKET_MONTH.fullmatch(Path(entry[0]).parts[0]) is None for entry in now):
        return None
    return sorted(months), sorted(files)


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
    the tables of BY_KEY (the keys category_pyramid's and brand_loyalty's deltas name)."""
    con.execute(f"CREATE OR REPLACE TABLE {DELTA_CUSTOMERS} (table_name VARCHAR, customer_id BIGINT)")
    con.execute(f"CREATE OR REPLACE TABLE {PYRAMID_DELTA_KEYS} (customer_id BIGINT, category_code BIGINT)")
    con.execute(f"CREATE OR REPLACE TABLE {BY_KEY['brand_loyalty'][1]} (customer_id BIGINT, category VARCHAR)")
    for table in IN_PLACE:
        delta = delta_about(folder / DELTAS / table)
        files = _files(folder / DELTAS / table)
        if delta is not None and files and table in BY_KEY:
            keys, keys_table = BY_KEY[table]
            if sorted(delta["keys"]) == sorted(keys):
                con.execute(f"INSERT INTO {keys_table} SELECT DISTINCT {', '.join(keys)} FROM read_parquet(?)",
                            [files])
        if delta is not None and files and table != "category_pyramid" and "customer_id" in delta["keys"]:
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
