"""One customer's results of the last refresh and one basket's lines, read from the lake's Parquet
files without scanning the rest: what the back office's customer 360 shows from the lake.

These are point reads (a few rows of one customer), answered by DuckDB in-process whichever engine
computed the results: Parquet's row-group statistics let it skip what cannot hold the customer.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from pathlib import Path

import duckdb

from clientele.analytics.results import results_dir
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
}

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


def customer_results(customer_id: int, lake: Path | None = None) -> dict[str, list[dict]]:
    """Per table of CUSTOMER_TABLES, the customer's rows of the last refresh (dicts, newest or most
    telling first); an empty list for a table the refresh has not written or that has no row of the
    customer."""
    found: dict[str, list[dict]] = {}
    cursor = _connection()
    for table, (columns, order, limit) in CUSTOMER_TABLES.items():
        files = _files(results_dir(lake) / table)
        if not files:
            found[table] = []
            continue
        relation = cursor.execute(
            f"SELECT {columns} FROM read_parquet(?) WHERE customer_id = ? ORDER BY {order} LIMIT {limit}",
            [files, customer_id])
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
