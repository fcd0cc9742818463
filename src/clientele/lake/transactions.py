"""Import any POS transaction log (CSV or Parquet) into the lake, row by row accounted for.

Every input row ends either in the lake or in the quarantine file with its line, field and reason;
rows read = rows loaded + rows quarantined, checked before anything is published. The work runs
inside DuckDB in two streaming passes (classify, then de-duplicate and write), so memory stays
bounded on files larger than RAM: DuckDB spills to <home>/tmp.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from clientele.config import settings
from clientele.errors import ClienteleError
from clientele.lake.mapping import REQUIRED, Mapping
from clientele.lake.schema import BASKET_LINE_SQL_TYPES, BASKET_LINES
from clientele.lake.store import ImportRecord, Lake, file_sha256

SOURCE = "transactions"
CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq")

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


class ImportFailed(ClienteleError):
    """The file cannot be imported at all; nothing of it was written."""

    code = "import_failed"


@dataclass
class TransactionImport:
    """The outcome of one import (the record is also in the lake's import log)."""

    record: ImportRecord

    def as_dict(self) -> dict:
        return self.record.as_dict()

    def as_text(self) -> Table | str:
        r = self.record
        if r.already_imported_as:
            return (f"{r.file} was already imported (import {r.already_imported_as}, same content): "
                    f"{r.rows_read:,} rows read, nothing added.")
        table = Table(title=f"Import of {r.file}", show_header=False)
        table.add_row("Rows read", f"{r.rows_read:,}")
        table.add_row("Loaded into the lake", f"{r.rows_loaded:,}")
        table.add_row("Quarantined", f"{r.rows_quarantined:,}")
        for reason, count in sorted(r.reasons.items(), key=lambda item: -item[1]):
            table.add_row(f"  {reason}", f"{count:,}")
        table.add_row("Reconciles (read = loaded + quarantined)", "yes" if r.reconciles else "NO")
        if r.quarantine_file:
            table.add_row("Quarantine file", r.quarantine_file)
        table.add_row("Import id", r.import_id)
        return table


def import_file(
    file: Path,
    mapping: Path | Mapping | None = None,
    strict: bool = False,
    lake: Lake | None = None,
    console: Console | None = None,
    now: datetime | None = None,
) -> TransactionImport:
    """Import one CSV or Parquet file of basket lines; see the module docstring for the contract.

    `strict` quarantines lines whose store or product the lake's reference tables do not know;
    `now` (store-local) is the moment after which a timestamp counts as in the future.
    """
    file = Path(file)
    if not file.is_file():
        raise ImportFailed(f"{file}: no such file")
    if not os.access(file, os.R_OK):
        raise ImportFailed(f"{file}: not readable (permissions)")
    mapping = mapping if isinstance(mapping, Mapping) else Mapping.load(mapping) if mapping else Mapping()
    kind = mapping.format or _kind_from_suffix(file)
    lake = lake or Lake()
    record = lake.new_import(SOURCE, file.resolve(), file_sha256(file))

    earlier = lake.previous_import(record.sha256)
    if earlier is not None:
        record.already_imported_as = earlier["import_id"]
        record.rows_read = earlier["rows_read"]
        record.rows_quarantined = earlier["rows_read"]
        record.reasons = {"file already imported": earlier["rows_read"]}
        lake.publish(record)
        return TransactionImport(record)

    staging = lake.staging_dir(record.import_id)
    con = lake.connect(staging / "work.duckdb")
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=console, disable=console is None, transient=True)
    try:
        with progress:
            task = progress.add_task(f"Reading {file.name}", total=None)
            source_sql, header = _source(con, file, kind, mapping)
            columns = mapping.resolve(header, file)
            checks = _checks(columns, mapping, strict, lake, now or datetime.now())
            con.execute(f"CREATE TABLE classified AS {_classify_sql(source_sql, columns, mapping, checks)}")
            progress.update(task, description="Checking duplicates")
            _resolve_lines_and_duplicates(con, kind, lake)
            progress.update(task, description="Writing the lake and the quarantine file")
            loaded_sql = f"SELECT {', '.join(_lake_columns(record, file))} FROM final WHERE reason IS NULL"
            lake.write_basket_lines(con, loaded_sql, record.import_id)
            quarantine = _write_quarantine(con, staging, kind, columns)
            _count(con, record, kind, staging, quarantine)
        if not record.reconciles:  # a bug, never a user error: refuse to publish an unbalanced import
            raise ImportFailed(f"{file}: counts do not reconcile ({record.rows_read} read, "
                               f"{record.rows_loaded} loaded, {record.rows_quarantined} quarantined); nothing written")
        if record.rows_quarantined:
            target = settings().home.resolve() / "quarantine" / f"{file.name}.{record.import_id}.quarantine.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(quarantine, target)
            record.quarantine_file = str(target)
        lake.publish(record)
    except duckdb.Error as error:
        lake.discard(record.import_id)
        raise ImportFailed(f"{file}: cannot be read as {kind.upper()} ({_first_line(error)}); nothing written") from None
    except BaseException:
        lake.discard(record.import_id)
        raise
    finally:
        con.close()
    return TransactionImport(record)


def _kind_from_suffix(file: Path) -> str:
    name = file.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise ImportFailed(f"{file}: unknown file type; name it .csv or .parquet, or set format in the mapping")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _source(con, file: Path, kind: str, mapping: Mapping) -> tuple[str, list[str]]:
    """SQL reading every row as text with its ordinal in the file, and the file's header."""
    if kind == "csv":
        delimiter = mapping.delimiter.replace("'", "''")
        reader = (f"read_csv('{_quote(file)}', all_varchar = true, header = true, delim = '{delimiter}', "
                  "store_rejects = true, rejects_table = 'rejects', rejects_scan = 'reject_scans', auto_detect = true)")
        sql = f"SELECT *, row_number() OVER () AS _ordinal FROM {reader}"
    else:
        reader = f"read_parquet('{_quote(file)}', file_row_number = true)"
        sql = f"SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _ordinal FROM {reader}"
    header = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    if kind == "parquet":
        header.remove("file_row_number")
    if not header:
        raise ImportFailed(f"{file}: the file has no header")
    return sql, header


def _text(column: str) -> str:
    escaped = column.replace('"', '""')
    return f"nullif(trim(CAST(\"{escaped}\" AS VARCHAR)), '')"


def _typed(columns: dict[str, str], mapping: Mapping) -> dict[str, str]:
    """SQL of each lake column typed from the source's text (NULL where it does not parse)."""
    typed = {}
    for lake_column in columns:
        text = f"r.{_q(lake_column)}"  # already trimmed text, NULL when empty
        kind = BASKET_LINE_SQL_TYPES[lake_column]
        if kind.startswith("DECIMAL"):
            number = f"replace(replace({text}, '.', ''), ',', '.')" if mapping.decimal_comma else text
            typed[lake_column] = f"TRY_CAST({number} AS {kind})"
        elif lake_column == "transaction_ts":
            fmt = mapping.timestamp_format
            typed[lake_column] = (f"TRY_STRPTIME({text}, '{fmt}')" if fmt else f"TRY_CAST({text} AS TIMESTAMP)")
        elif lake_column == "channel":
            typed[lake_column] = f"coalesce(lower({text}), '{mapping.channel}')"
        elif kind == "VARCHAR":
            typed[lake_column] = text
        else:
            typed[lake_column] = f"TRY_CAST({text} AS {kind})"
    for optional in ("retail_disc", "coupon_disc", "coupon_match_disc"):
        typed.setdefault(optional, "CAST(0 AS DECIMAL(12,2))")
    typed.setdefault("channel", f"'{mapping.channel}'")
    for nullable in ("line_no", "customer_id", "card_barcode"):
        typed.setdefault(nullable, f"CAST(NULL AS {BASKET_LINE_SQL_TYPES[nullable]})")
    return typed


def _checks(columns: dict[str, str], mapping: Mapping, strict: bool, lake: Lake, now: datetime) -> list[tuple[str, str, str]]:
    """(field, reason, SQL condition on the typed row `t` and the text row `r`), first match wins."""
    checks = [(f, "missing value", f"r.{_q(f)} IS NULL") for f in REQUIRED]
    for field in ("store_id", "product_id", "customer_id", "line_no"):
        if field in columns:
            checks.append((field, "not a whole number", f"r.{_q(field)} IS NOT NULL AND t.{field} IS NULL"))
    if "transaction_ts" in columns:
        expected = f" (expected {mapping.timestamp_format})" if mapping.timestamp_format else ""
        checks.append(("transaction_ts", f"unparseable date{expected}", "t.transaction_ts IS NULL"))
    for field in ("quantity", "sales_value", "retail_disc", "coupon_disc", "coupon_match_disc"):
        if field in columns:
            checks.append((field, "non-numeric amount", f"r.{_q(field)} IS NOT NULL AND t.{field} IS NULL"))
    checks += [
        ("transaction_ts", "timestamp in the future", f"t.transaction_ts > TIMESTAMP '{now.isoformat(sep=' ')}' + INTERVAL 1 DAY"),
        ("quantity", "negative quantity that is not a return (sales value is positive)", "t.quantity < 0 AND t.sales_value > 0"),
        ("sales_value", "negative sales value on a sale (quantity is positive)", "t.quantity > 0 AND t.sales_value < 0"),
        ("channel", "unknown channel (store or online)", "t.channel NOT IN ('store', 'online')"),
    ]
    if strict:
        for field, table in (("store_id", "stores"), ("product_id", "products")):
            if not lake.has_table(table):
                raise ImportFailed(f"--strict needs the lake's {table} table; import the reference data first")
            known = f"SELECT {field} FROM read_parquet('{lake.parquet_glob(table)}')"
            checks.append((field, f"unknown {field.removesuffix('_id')}", f"t.{field} NOT IN ({known})"))
    return checks


def _q(field: str) -> str:
    return f'"{field}"'


def _classify_sql(source_sql: str, columns: dict[str, str], mapping: Mapping, checks) -> str:
    """One row per input row: ordinal, raw text of the mapped columns, typed lake columns, reason."""
    typed = _typed(columns, mapping)
    raw = ", ".join(f"{_text(source)} AS {_q(lake_column)}" for lake_column, source in columns.items())
    missing_raw = ", ".join(f"CAST(NULL AS VARCHAR) AS {_q(f)}" for f in REQUIRED if f not in columns)
    typed_sql = ", ".join(f"{expression} AS {name}" for name, expression in typed.items())
    # one integer CASE per row; the reason and field texts are looked up for the failing rows only
    check_no = "CASE " + " ".join(f"WHEN {cond} THEN {i}" for i, (_, _, cond) in enumerate(checks)) + " END"
    reason = "CASE check_no " + " ".join(f"WHEN {i} THEN '{r}'" for i, (_, r, _) in enumerate(checks)) + " END"
    field = "CASE check_no " + " ".join(f"WHEN {i} THEN '{f}'" for i, (f, _, _) in enumerate(checks)) + " END"
    return f"""
        SELECT _ordinal, {reason} AS reason, {field} AS field, * EXCLUDE (_ordinal, check_no, raw),
               CASE WHEN check_no IS NOT NULL THEN raw END AS raw
        FROM (
            SELECT r._ordinal, {check_no} AS check_no, t.*, r AS raw
            FROM (SELECT _ordinal, {raw}{', ' + missing_raw if missing_raw else ''} FROM ({source_sql})) AS r,
            LATERAL (SELECT {typed_sql}) AS t
        )
    """


def _resolve_lines_and_duplicates(con, kind: str, lake: Lake) -> None:
    """Views `final` (every row with its reason after de-duplication) and `numbered` (its file line).

    Duplicates are rare: they are found with one aggregate into a small table of repeated keys,
    so the large pass stays a streaming scan with a hash join, not a sort of the whole file.
    """
    # Count 64-bit hashes of the keys first (a fraction of the memory of the keys themselves), then
    # look at the real keys of the few hashes seen twice: collisions only add candidates.
    con.execute("""
        CREATE TABLE repeated AS
        WITH seen_twice AS (
            SELECT hash(basket_id, product_id, coalesce(line_no, 0)) AS key_hash FROM classified
            WHERE reason IS NULL GROUP BY 1 HAVING count(*) > 1
        )
        SELECT basket_id, product_id, coalesce(line_no, 0) AS line_key, min(_ordinal) AS first_ordinal
        FROM classified
        WHERE reason IS NULL AND hash(basket_id, product_id, coalesce(line_no, 0)) IN (SELECT key_hash FROM seen_twice)
        GROUP BY ALL HAVING count(*) > 1
    """)
    in_lake = "FALSE"
    if lake.has_table(BASKET_LINES):
        con.execute(f"""
            CREATE TABLE in_lake AS
            SELECT DISTINCT n.basket_id, n.product_id, coalesce(n.line_no, 0) AS line_key
            FROM classified AS n SEMI JOIN read_parquet('{lake.parquet_glob(BASKET_LINES)}') AS o
            ON o.basket_id = n.basket_id AND o.product_id = n.product_id AND coalesce(o.line_no, 0) = coalesce(n.line_no, 0)
            WHERE n.reason IS NULL
        """)
        in_lake = "l.basket_id IS NOT NULL"
    lake_join = ("LEFT JOIN in_lake AS l ON l.basket_id = c.basket_id AND l.product_id = c.product_id "
                 "AND l.line_key = coalesce(c.line_no, 0)") if in_lake != "FALSE" else ""
    con.execute(f"""
        CREATE TEMP VIEW final AS
        SELECT c.* REPLACE (
            CASE WHEN c.reason IS NOT NULL THEN c.reason
                 WHEN d.first_ordinal IS NOT NULL AND c._ordinal <> d.first_ordinal THEN 'duplicate line'
                 WHEN {in_lake} THEN 'already in the lake' END AS reason,
            CASE WHEN c.reason IS NOT NULL THEN c.field
                 WHEN (d.first_ordinal IS NOT NULL AND c._ordinal <> d.first_ordinal) OR {in_lake} THEN 'basket_id' END AS field
        ), d.first_ordinal
        FROM classified AS c
        LEFT JOIN repeated AS d ON d.basket_id = c.basket_id AND d.product_id = c.product_id
             AND d.line_key = coalesce(c.line_no, 0)
        {lake_join}
    """)
    if kind == "csv":
        # Rows the CSV reader rejected are not numbered by row_number(): shift a parsed row's
        # ordinal by the rejected lines before it (and by 1 for the header) to get its file line.
        con.execute("""
            CREATE TEMP TABLE shifts AS
            SELECT good_rows_before, max(j) AS rejected_before FROM (
                SELECT line, row_number() OVER (ORDER BY line) AS j,
                       line - row_number() OVER (ORDER BY line) - 1 AS good_rows_before
                FROM (SELECT DISTINCT line FROM rejects)) GROUP BY 1
        """)
        con.execute("""
            CREATE TEMP MACRO file_line(ordinal) AS
            ordinal + 1 + coalesce((SELECT max(rejected_before) FROM shifts WHERE good_rows_before < ordinal), 0)
        """)
    else:
        con.execute("CREATE TEMP MACRO file_line(ordinal) AS ordinal")


def _lake_columns(record: ImportRecord, file: Path) -> list[str]:
    columns = []
    for name in BASKET_LINE_SQL_TYPES:
        if name == "source_file":
            columns.append(f"'{_quote(file.resolve())}' AS source_file")
        elif name == "import_id":
            columns.append(f"'{record.import_id}' AS import_id")
        else:
            columns.append(name)
    return columns


def _write_quarantine(con, staging: Path, kind: str, columns: dict[str, str]) -> Path:
    """The quarantine CSV: line, field, reason and the row as it was in the file."""
    target = staging / "quarantine.csv"
    raw_fields = ", ".join(f"coalesce(raw.{_q(c)}, CAST({_q(c)} AS VARCHAR)) AS {_q(s)}" for c, s in columns.items())
    typed_rows = f"""
        SELECT file_line(_ordinal) AS line, field,
               CASE WHEN reason = 'duplicate line' THEN
                    'duplicate line (same basket, product and line number as line ' || file_line(first_ordinal) || ')'
                    ELSE reason END AS reason,
               {raw_fields}, NULL AS raw_line
        FROM final WHERE reason IS NOT NULL
    """
    if kind == "csv":
        nulls = ", ".join(f"NULL AS {_q(s)}" for s in columns.values())
        cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in PARSER_REASONS.items())
        parser_rows = f"""
            SELECT line, column_name AS field, CASE CAST(error_type AS VARCHAR) {cases} END AS reason, {nulls},
                   csv_line AS raw_line
            FROM (SELECT DISTINCT ON (line) * FROM rejects ORDER BY line)
        """
        typed_rows = f"{typed_rows} UNION ALL {parser_rows}"
    con.execute(f"COPY (SELECT * FROM ({typed_rows}) ORDER BY line) TO '{target}' (FORMAT csv, HEADER true)")
    return target


def _count(con, record: ImportRecord, kind: str, staging: Path, quarantine: Path) -> None:
    """Rows read, loaded (counted in the staged Parquet) and quarantined (counted in its file)."""
    parsed = con.execute("SELECT count(*) FROM final").fetchall()[0][0]
    rejected = con.execute("SELECT count(DISTINCT line) FROM rejects").fetchall()[0][0] if kind == "csv" else 0
    record.rows_read = parsed + rejected
    staged = staging / BASKET_LINES
    record.rows_loaded = (
        con.execute(f"SELECT count(*) FROM read_parquet('{staged}/**/*.parquet')").fetchall()[0][0]
        if any(staged.rglob("*.parquet")) else 0
    )
    record.rows_quarantined = con.execute(f"SELECT count(*) FROM read_csv('{quarantine}', all_varchar = true)").fetchall()[0][0]
    reasons = con.execute("SELECT reason, count(*) FROM final WHERE reason IS NOT NULL GROUP BY 1").fetchall()
    if kind == "csv":
        reasons += con.execute(
            "SELECT CAST(error_type AS VARCHAR), count(*) FROM (SELECT DISTINCT ON (line) * FROM rejects) GROUP BY 1"
        ).fetchall()
    merged: dict[str, int] = {}
    for reason, count in reasons:
        label = PARSER_REASONS.get(reason, reason)
        merged[label] = merged.get(label, 0) + count
    record.reasons = merged
