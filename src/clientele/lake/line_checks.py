"""The SQL that reads a POS file into typed basket lines and names the first check each row fails.

A CSV file is read by DuckDB's parallel CSV reader with the lake's types: a value that does not
cast (`n/a` as an amount, `S12` as a store, a date in the wrong format) makes the reader reject the
row into its rejects table, with the exact file line and column, at no extra cost. The checks that
need the typed row (a missing value, a date in the future, a negative quantity that is not a
return, an unknown store...) are a CASE numbering the first check that fails; those rows are rare
and get their file line from a second, numbered scan run only when some row failed (see
transactions.py). Values the reader cannot type itself (amounts written with a decimal comma, and
every column of a Parquet file) are cast in SQL and checked the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clientele.errors import ClienteleError
from clientele.lake.mapping import REQUIRED, Mapping
from clientele.lake.schema import BASKET_LINE_SQL_TYPES

#: How DuckDB's CSV reader names a row it could not parse, in words a store manager reads.
PARSER_REASONS = {
    "INVALID ENCODING": "bad encoding (not UTF-8)",
    "MISSING COLUMNS": "missing column (fewer fields than the header)",
    "TOO MANY COLUMNS": "too many fields for the header",
    "UNQUOTED VALUE": "badly quoted value",
    "LINE SIZE OVER MAXIMUM": "line too long",
    "CAST": "unreadable value",
    "INVALID STATE": "unreadable line",
}
WHOLE_NUMBERS = ("store_id", "product_id", "customer_id", "line_no")
AMOUNTS = ("quantity", "sales_value", "retail_disc", "coupon_disc", "coupon_match_disc")
TEXTS = ("basket_id", "card_barcode", "channel")
#: The key of a basket line: the same key twice is a duplicate.
LINE_KEY = "hash(basket_id, product_id, coalesce(line_no, 0))"


class ImportFailed(ClienteleError):
    """The file cannot be imported at all; nothing of it was written."""

    code = "import_failed"


def quote_path(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _blank_is_null(value: str) -> str:
    """SQL of a text value without its surrounding spaces, NULL when nothing is left.

    trim() decodes every character of every value; a value that neither starts nor ends with a
    space (nearly all of them) is kept as it is after two byte comparisons (a third of the cost).
    """
    return f"CASE WHEN prefix({value}, ' ') OR suffix({value}, ' ') THEN nullif(trim({value}), '') ELSE nullif({value}, '') END"


@dataclass
class LineReader:
    """How one file is read: its header, the mapped columns and which of them the reader types."""

    file: Path
    kind: str  # csv | parquet
    mapping: Mapping
    header: list[str]
    columns: dict[str, str]  # lake column -> source column

    @classmethod
    def open(cls, con, file: Path, kind: str, mapping: Mapping) -> LineReader:
        """Read the file's header (and check it can be read at all); map its columns."""
        probe = cls(file, kind, mapping, [], {})
        described = con.execute(f"DESCRIBE SELECT * FROM {probe._reader(native={}, rejects=False)}").fetchall()
        header = [row[0] for row in described if not (kind == "parquet" and row[0] == "file_row_number")]
        if not header:
            raise ImportFailed(f"{file}: the file has no header")
        return cls(file, kind, mapping, header, mapping.resolve(header, file))

    @property
    def natively_typed(self) -> dict[str, str]:
        """Lake column -> SQL type, for the mapped columns DuckDB's CSV reader casts itself."""
        if self.kind != "csv":
            return {}
        native = {}
        for lake_column in self.columns:
            sql_type = BASKET_LINE_SQL_TYPES[lake_column]
            if lake_column in TEXTS or (lake_column in AMOUNTS and self.mapping.decimal_comma):
                continue
            native[lake_column] = sql_type
        return native

    def source_of(self, source_column: str) -> str | None:
        """The lake column a source column feeds (None when unmapped)."""
        return next((lake for lake, source in self.columns.items() if source == source_column), None)

    def _reader(self, native: dict[str, str], rejects: bool) -> str:
        if self.kind == "parquet":
            return f"read_parquet('{quote_path(self.file)}', file_row_number = true)"
        options = [f"header = true, delim = {_literal(self.mapping.delimiter)}, auto_detect = true"]
        if self.header:
            # every column is read as text unless it is a mapped column the reader types: an unmapped
            # column the sniffer guessed wrong must never reject a row
            types = {source: "VARCHAR" for source in self.header}
            types |= {self.columns[lake]: sql_type for lake, sql_type in native.items()}
            options.append("types = {" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in types.items()) + "}")
        else:
            options.append("all_varchar = true")
        if "transaction_ts" in native and self.mapping.timestamp_format:
            options.append(f"timestampformat = {_literal(self.mapping.timestamp_format)}")
        if rejects:
            options.append("store_rejects = true, rejects_table = 'rejects', rejects_scan = 'reject_scans'")
        else:
            options.append("ignore_errors = true")
        return f"read_csv('{quote_path(self.file)}', {', '.join(options)})"

    def typed_lines_sql(self, checks: list[Check], numbered: bool, first_scan: bool) -> str:
        """Every row the reader accepts, as the lake's typed columns plus `check_no` (NULL: passes).

        `numbered` adds `_ordinal`, the row's number among the rows the reader accepted (a
        sequential scan for a CSV file; free for Parquet), and `raw`, the row before typing. The
        first scan stores the reader's rejects; a later one skips the same rows without storing them again.
        """
        native = self.natively_typed
        reader = self._reader(native, rejects=first_scan)
        text = []
        for lake_column, source in self.columns.items():
            if lake_column in native:
                text.append(f"{_q(source)} AS {lake_column}")
            else:
                text.append(f"{_blank_is_null(f'CAST({_q(source)} AS VARCHAR)')} AS {lake_column}")
        if numbered:
            text.append("file_row_number + 1 AS _ordinal" if self.kind == "parquet" else "row_number() OVER () AS _ordinal")
        typed = self._typed(native)
        # the checks name typed values `t.<column>`: put the typed expression in their place (one
        # projection, no LATERAL; DuckDB computes a repeated expression once)
        named_typed = re.compile(r"\bt\.(" + "|".join(typed) + r")\b")
        conditions = [named_typed.sub(lambda m: f"({typed[m.group(1)]})", c.condition) for c in checks]
        check_no = "CASE " + " ".join(f"WHEN {condition} THEN {i}" for i, condition in enumerate(conditions)) + " END"
        # a numbered scan also keeps the row's text (`raw`), to show a quarantined row as it was
        numbering = "r._ordinal, r AS raw, " if numbered else ""
        columns = ", ".join(f"{expression} AS {name}" for name, expression in typed.items())
        return f"""
            SELECT {numbering}{columns}, {check_no} AS check_no
            FROM (SELECT {', '.join(text)} FROM {reader}) AS r
        """

    def _typed(self, native: dict[str, str]) -> dict[str, str]:
        """SQL of each lake column, typed from the row `r` (NULL where a soft cast fails).

        A text the file does not give (the mapping's channel, no card) is a one-value ENUM: it stays
        a small integer through the partitioned write, and is written to Parquet as text.
        """
        typed = {}
        for lake_column in BASKET_LINE_SQL_TYPES:
            if lake_column in ("source_file", "import_id"):
                continue
            sql_type = BASKET_LINE_SQL_TYPES[lake_column]
            value = f"r.{lake_column}"
            if lake_column not in self.columns:
                if lake_column in ("retail_disc", "coupon_disc", "coupon_match_disc"):
                    typed[lake_column] = f"CAST(0 AS {sql_type})"
                elif lake_column == "channel":
                    typed[lake_column] = f"CAST({_literal(self.mapping.channel)} AS ENUM({_literal(self.mapping.channel)}))"
                elif sql_type == "VARCHAR":
                    typed[lake_column] = "CAST(NULL AS ENUM(''))"
                else:
                    typed[lake_column] = f"CAST(NULL AS {sql_type})"
            elif lake_column in native or lake_column in ("basket_id", "card_barcode"):
                typed[lake_column] = value
            elif lake_column == "channel":
                typed[lake_column] = f"coalesce(lower({value}), {_literal(self.mapping.channel)})"
            elif lake_column in AMOUNTS and self.mapping.decimal_comma:
                typed[lake_column] = f"TRY_CAST(replace(replace({value}, '.', ''), ',', '.') AS {sql_type})"
            elif lake_column == "transaction_ts" and self.mapping.timestamp_format:
                typed[lake_column] = f"TRY_STRPTIME({value}, {_literal(self.mapping.timestamp_format)})"
            else:
                typed[lake_column] = f"TRY_CAST({value} AS {sql_type})"
        return typed

    def cast_reason(self, lake_column: str | None) -> str | None:
        """The quarantine reason of a value of this lake column that does not cast."""
        if lake_column in WHOLE_NUMBERS:
            return "not a whole number"
        if lake_column == "quantity":
            return "non-numeric quantity"
        if lake_column in AMOUNTS:
            return "non-numeric amount"
        if lake_column == "transaction_ts":
            expected = f" (expected {self.mapping.timestamp_format})" if self.mapping.timestamp_format else ""
            return f"unparseable date{expected}"
        return None


@dataclass
class Check:
    """One quarantine rule: the field at fault, the reason, and its SQL condition on `r` and `t`."""

    field: str
    reason: str
    condition: str


def line_checks(reader: LineReader, strict: bool, now: datetime, lake) -> list[Check]:
    """The checks of a typed row, first match wins (the reader's cast rejects come before them)."""
    native = reader.natively_typed
    checks = [Check(f, "missing value", f"r.{f} IS NULL") for f in REQUIRED]
    soft = [c for c in reader.columns if c not in native and c not in TEXTS]
    for field in (*WHOLE_NUMBERS, "transaction_ts", *AMOUNTS):
        if field in soft:
            checks.append(Check(field, reader.cast_reason(field), f"r.{field} IS NOT NULL AND t.{field} IS NULL"))
    checks += [
        Check("transaction_ts", "timestamp in the future",
              f"t.transaction_ts > TIMESTAMP '{now.isoformat(sep=' ')}' + INTERVAL 1 DAY"),
        Check("quantity", "negative quantity that is not a return (sales value is positive)",
              "t.quantity < 0 AND t.sales_value > 0"),
        Check("sales_value", "negative sales value on a sale (quantity is positive)", "t.quantity > 0 AND t.sales_value < 0"),
        Check("channel", "unknown channel (store or online)", "t.channel NOT IN ('store', 'online')"),
    ]
    if strict:
        for field, table in (("store_id", "stores"), ("product_id", "products")):
            if not lake.has_table(table):
                raise ImportFailed(f"--strict needs the lake's {table} table; import the reference data first")
            known = f"SELECT {field} FROM read_parquet('{lake.parquet_glob(table)}')"
            checks.append(Check(field, f"unknown {field.removesuffix('_id')}", f"t.{field} NOT IN ({known})"))
    return checks
