"""The one schema of the transaction lake (documented in docs/data-model.md).

A *customer* is a member of the programme; in the Complete Journey data it is the household.
Its number is `customer_id` in the lake and `Member.customer_id` in the operational database.
"""

from __future__ import annotations

BASKET_LINES = "basket_lines"

#: The customers who refused profiling (`Member.profiling_consent` false): one customer_id per row,
#: written whole by every lake sync; the refresh leaves their lines out.
PROFILING_REFUSALS = "profiling_refusals"
#: Every merged member's customer_id -> the golden customer_id it now is (identity merges): written
#: whole by `clientele identity resolve`, merge and unmerge; the refresh reads the lines through it.
GOLDEN_IDS = "golden_ids"


def _arrow_schemas() -> dict:
    """The Arrow schemas, built on first use: the importers need only the SQL types below, and
    importing pyarrow costs a command about a quarter of a CPU second at start."""
    import pyarrow as pa

    refusals = pa.schema([pa.field("customer_id", pa.int64(), nullable=False)])
    #: One row per basket line. `month` is the partition column (hive style: month=2017-01).
    lines = pa.schema(
        [
            pa.field("basket_id", pa.string(), nullable=False),  # receipt id, unique per basket
            pa.field("line_no", pa.int32()),  # line number within the basket, when the POS gives one
            pa.field("customer_id", pa.int64()),  # the member (household); null for anonymous baskets
            pa.field("card_barcode", pa.string()),  # EAN-13 of the card scanned, when known
            pa.field("store_id", pa.int64(), nullable=False),
            pa.field("transaction_ts", pa.timestamp("us"), nullable=False),  # store-local wall-clock time
            pa.field("product_id", pa.int64(), nullable=False),
            pa.field("quantity", pa.decimal128(12, 3), nullable=False),  # units or kg; negative = return
            pa.field("sales_value", pa.decimal128(12, 2), nullable=False),  # what the customer paid
            pa.field("retail_disc", pa.decimal128(12, 2), nullable=False),  # loyalty-card discount (>= 0)
            pa.field("coupon_disc", pa.decimal128(12, 2), nullable=False),  # coupon discount (>= 0)
            pa.field("coupon_match_disc", pa.decimal128(12, 2), nullable=False),  # manufacturer match
            pa.field("channel", pa.string(), nullable=False),  # store | online
            pa.field("source_file", pa.string(), nullable=False),  # file the line was imported from
            pa.field("import_id", pa.string(), nullable=False),  # the import run that wrote it
        ]
    )
    return {"BASKET_LINE_SCHEMA": lines, "PROFILING_REFUSAL_SCHEMA": refusals}


def __getattr__(name: str):
    """`BASKET_LINE_SCHEMA` and `PROFILING_REFUSAL_SCHEMA`, the lake's Arrow schemas (PEP 562)."""
    if name in ("BASKET_LINE_SCHEMA", "PROFILING_REFUSAL_SCHEMA"):
        schemas = _arrow_schemas()
        globals().update(schemas)
        return schemas[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: DuckDB column types of the same schema, in order (used by the importers' SQL).
BASKET_LINE_SQL_TYPES = {
    "basket_id": "VARCHAR",
    "line_no": "INTEGER",
    "customer_id": "BIGINT",
    "card_barcode": "VARCHAR",
    "store_id": "BIGINT",
    "transaction_ts": "TIMESTAMP",
    "product_id": "BIGINT",
    "quantity": "DECIMAL(12,3)",
    "sales_value": "DECIMAL(12,2)",
    "retail_disc": "DECIMAL(12,2)",
    "coupon_disc": "DECIMAL(12,2)",
    "coupon_match_disc": "DECIMAL(12,2)",
    "channel": "VARCHAR",
    "source_file": "VARCHAR",
    "import_id": "VARCHAR",
}

#: Reference tables of the Complete Journey kept in the lake for the offer and campaign work.
REFERENCE_TABLES = (
    "products",
    "demographics",
    "campaigns",
    "campaign_descriptions",
    "coupons",
    "coupon_redemptions",
    "promotions",
)
