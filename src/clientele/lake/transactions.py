"""Import any POS transaction log (CSV or Parquet) into the lake, row by row accounted for.

Every input row ends either in the lake or in the quarantine file with its line, field and reason;
rows read = rows loaded + rows quarantined, checked before anything is published. One parallel
scan reads, types, checks and writes the file's lines straight to the staged month partitions
(line_checks.py); the rows that fail a check go to a partition of their own. Repeated keys and keys
already in the lake are then searched in the staged Parquet. Only when some row failed a check or
repeats a key is the file scanned a second time, numbered, to give those few rows their file line
(and to keep the first of repeated lines); the month partitions holding repeats are rewritten
without them. Memory stays bounded on files larger than RAM: DuckDB spills to <home>/tmp.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from clientele.config import settings
from clientele.lake.line_checks import LINE_KEY, PARSER_REASONS, Check, ImportFailed, LineReader, line_checks, quote_path
from clientele.lake.mapping import Mapping
from clientele.lake.schema import BASKET_LINE_SQL_TYPES, BASKET_LINES
from clientele.lake.store import MONTH_OF_LINE, PARQUET_OPTIONS, ImportRecord, Lake, file_sha256

__all__ = ["ImportFailed", "TransactionImport", "import_file"]

SOURCE = "transactions"
CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: The staged partition of the rows that fail a check (never published).
FAILED_PARTITION = "month=_failed"
#: One rejected row per line: a line the reader could not split or decode is that, before a bad cast.
REJECTED_LINES = ("(SELECT DISTINCT ON (line) * FROM rejects "
                  "ORDER BY line, CAST(error_type AS VARCHAR) = 'CAST', column_idx)")
SAME_KEY = ("{a}.basket_id = {b}.basket_id AND {a}.product_id = {b}.product_id "
            "AND coalesce({a}.line_no, 0) = {b}.line_key")


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
        table.add_column(overflow="fold")
        table.add_column(overflow="fold")  # a path is folded onto more lines, never cut with "…"
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
    if file.is_dir():
        raise ImportFailed(f"{file}: is a folder; import its files one at a time (clientele import transactions FILE)")
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
        _check_mapping(file, kind, mapping)  # a wrong mapping is the news, not that the lines are in
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
            task = progress.add_task(f"Reading, checking and writing {file.name}", total=None)
            reader = LineReader.open(con, file, kind, mapping)
            run = _Run(con, lake, reader, line_checks(reader, strict, now or datetime.now(), lake), record, staging)
            parsed = run.check_and_write()
            progress.update(task, description="Checking duplicates")
            run.find_repeated_keys()
            progress.update(task, description="Finding the lines of the quarantined rows")
            run.locate_quarantined_rows()
            run.keep_first_of_repeated_lines()
            progress.update(task, description="Writing the quarantine file")
            quarantine = run.write_quarantine()
            run.count(parsed, quarantine)
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


def _check_mapping(file: Path, kind: str, mapping: Mapping) -> None:
    """Raise the MappingError (or ImportFailed) this file's header gives with `mapping`, if any."""
    con = duckdb.connect()
    try:
        LineReader.open(con, file, kind, mapping)
    except duckdb.Error as error:
        raise ImportFailed(f"{file}: cannot be read as {kind.upper()} ({_first_line(error)})") from None
    finally:
        con.close()


def _kind_from_suffix(file: Path) -> str:
    name = file.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise ImportFailed(f"{file}: unknown file type; name it .csv or .parquet, or set format in the mapping")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _files_sql(files: list[Path]) -> str:
    return "[" + ", ".join(f"'{quote_path(f)}'" for f in files) + "]"


@dataclass
class _Run:
    """One import's work in its DuckDB connection: the steps import_file calls in order."""

    con: duckdb.DuckDBPyConnection
    lake: Lake
    reader: LineReader
    checks: list[Check]
    record: ImportRecord
    staging: Path

    @property
    def staged(self) -> Path:
        return self.staging / BASKET_LINES

    def staged_files(self) -> list[Path]:
        """The staged Parquet files of the lines that passed every check."""
        if not self.staged.exists():
            return []
        return sorted(p for p in self.staged.rglob("*.parquet") if p.parent.name != FAILED_PARTITION)

    def lake_columns(self) -> str:
        """The lake's columns; the file and import, the same on every line, typed as a one-value ENUM.

        An ENUM stays a small integer through DuckDB's partitioned write (a text constant is copied
        into every row there, a sixth of the write's time) and is written to Parquet as plain text.
        """
        constants = {"source_file": f"'{quote_path(self.reader.file.resolve())}'", "import_id": f"'{self.record.import_id}'"}
        return ", ".join(
            f"CAST({constants[name]} AS ENUM({constants[name]})) AS {name}" if name in constants else name
            for name in BASKET_LINE_SQL_TYPES
        )

    def check_and_write(self) -> int:
        """The one full scan: every row the reader accepts, typed, checked and staged; their count.

        Rows that pass go to their month partition; rows that fail a check to FAILED_PARTITION.
        """
        failed = FAILED_PARTITION.removeprefix("month=")
        lines = self.reader.typed_lines_sql(self.checks, numbered=False, first_scan=True)
        return self.lake.write_basket_lines(
            self.con, f"SELECT {self.lake_columns()} , CASE WHEN check_no IS NULL THEN {MONTH_OF_LINE} "
                      f"ELSE '{failed}' END AS month FROM ({lines})",
            self.record.import_id, month=None)

    def find_repeated_keys(self) -> None:
        """Tables `repeated` (keys staged twice or more) and `in_lake` (keys the lake already has).

        Duplicates are rare: 64-bit hashes of the keys are counted first (a fraction of the memory
        of the keys themselves), then the real keys of the few hashes seen twice are compared.
        """
        files = self.staged_files()
        staged = f"read_parquet({_files_sql(files)})" if files else (
            "(SELECT NULL::VARCHAR AS basket_id, NULL::BIGINT AS product_id, NULL::INTEGER AS line_no WHERE false)")
        self.con.execute(f"""
            CREATE TABLE repeated AS
            WITH hashes AS (SELECT {LINE_KEY} AS key_hash FROM {staged}),
            -- sorting 64-bit integers and comparing neighbours costs a third less than a hash table of them
            seen_twice AS (SELECT DISTINCT key_hash FROM (
                SELECT key_hash, lead(key_hash) OVER (ORDER BY key_hash) AS next_hash FROM hashes) WHERE key_hash = next_hash)
            SELECT basket_id, product_id, coalesce(line_no, 0) AS line_key
            FROM {staged} WHERE {LINE_KEY} IN (SELECT key_hash FROM seen_twice)
            GROUP BY ALL HAVING count(*) > 1
        """)
        in_lake = "SELECT * FROM repeated WHERE false"
        if self.lake.has_table(BASKET_LINES) and files:
            in_lake = f"""
                SELECT DISTINCT n.basket_id, n.product_id, coalesce(n.line_no, 0) AS line_key
                FROM {staged} AS n SEMI JOIN read_parquet('{self.lake.parquet_glob(BASKET_LINES)}') AS o
                ON o.basket_id = n.basket_id AND o.product_id = n.product_id AND coalesce(o.line_no, 0) = coalesce(n.line_no, 0)
            """
        self.con.execute(f"CREATE TABLE in_lake AS {in_lake}")
        self.con.execute("CREATE TABLE suspect AS SELECT * FROM repeated UNION SELECT * FROM in_lake")

    def failed_rows(self) -> int:
        folder = self.staged / FAILED_PARTITION
        if not folder.exists():
            return 0
        return self.con.execute(f"SELECT count(*) FROM read_parquet('{quote_path(folder)}/*.parquet')").fetchall()[0][0]

    def locate_quarantined_rows(self) -> None:
        """Table `located`: the rows that failed a check or share a suspect key, with their ordinal.

        A second scan, numbered (sequential for a CSV file), run only when such rows exist.
        """
        failed = self.failed_rows()
        suspects = self.con.execute("SELECT count(*) FROM suspect").fetchall()[0][0]
        lines = self.reader.typed_lines_sql(self.checks, numbered=True, first_scan=False)
        wanted = "false"
        if failed or suspects:
            self.con.execute("SET preserve_insertion_order = true")  # row numbers follow the file
            wanted = (f"check_no IS NOT NULL OR {LINE_KEY} IN "
                      "(SELECT hash(basket_id, product_id, line_key) FROM suspect)")
        self.con.execute(f"CREATE TABLE located AS SELECT * FROM ({lines}) WHERE {wanted}")
        found = self.con.execute("SELECT count(*) FROM located WHERE check_no IS NOT NULL").fetchall()[0][0]
        if found != failed:  # the two scans read the same rows: a mismatch is a bug, never published
            raise ImportFailed(f"{self.reader.file}: {failed} rows failed a check but {found} were found again; nothing written")
        reason = "CASE l.check_no " + " ".join(f"WHEN {i} THEN '{c.reason}'" for i, c in enumerate(self.checks)) + " END"
        field = "CASE l.check_no " + " ".join(f"WHEN {i} THEN '{c.field}'" for i, c in enumerate(self.checks)) + " END"
        self.con.execute(f"""
            CREATE TABLE first_of_repeated AS
            SELECT l.basket_id, l.product_id, coalesce(l.line_no, 0) AS line_key, min(l._ordinal) AS first_ordinal
            FROM located AS l SEMI JOIN repeated AS d ON {SAME_KEY.format(a='l', b='d')}
            WHERE l.check_no IS NULL GROUP BY ALL
        """)
        self.con.execute(f"""
            CREATE TEMP VIEW classified AS
            SELECT l.*, f.first_ordinal,
                CASE WHEN l.check_no IS NOT NULL THEN {reason}
                     WHEN f.first_ordinal IS NOT NULL AND l._ordinal <> f.first_ordinal THEN 'duplicate line'
                     WHEN k.basket_id IS NOT NULL THEN 'already in the lake' END AS reason,
                CASE WHEN l.check_no IS NOT NULL THEN {field} ELSE 'basket_id' END AS field
            FROM located AS l
            LEFT JOIN first_of_repeated AS f ON {SAME_KEY.format(a='l', b='f')}
            LEFT JOIN in_lake AS k ON {SAME_KEY.format(a='l', b='k')}
        """)
        self.con.execute("CREATE TEMP VIEW quarantined AS SELECT * FROM classified WHERE reason IS NOT NULL")
        if self.reader.kind == "csv":
            # Rows the CSV reader rejected are not numbered by row_number(): shift a parsed row's
            # ordinal by the rejected lines before it (and by 1 for the header) to get its file line.
            self.con.execute("""
                CREATE TEMP TABLE shifts AS
                SELECT good_rows_before, max(j) AS rejected_before FROM (
                    SELECT line, row_number() OVER (ORDER BY line) AS j,
                           line - row_number() OVER (ORDER BY line) - 1 AS good_rows_before
                    FROM (SELECT DISTINCT line FROM rejects)) GROUP BY 1
            """)
            self.con.execute("""
                CREATE TEMP MACRO file_line(ordinal) AS
                ordinal + 1 + coalesce((SELECT max(rejected_before) FROM shifts WHERE good_rows_before < ordinal), 0)
            """)
        else:
            self.con.execute("CREATE TEMP MACRO file_line(ordinal) AS ordinal")

    def keep_first_of_repeated_lines(self) -> None:
        """Rewrite the staged months holding suspect keys: without them, then with the first of each.

        One plain file per month (the folder is the partition): half the cost of a partitioned write.
        """
        self.con.execute("SET preserve_insertion_order = false")
        months = [row[0] for row in self.con.execute(
            f"SELECT DISTINCT {MONTH_OF_LINE} FROM located WHERE check_no IS NULL").fetchall()]
        kept = f"SELECT {self.lake_columns()} FROM classified WHERE check_no IS NULL AND reason IS NULL"
        for month in months:
            folder = self.staged / f"month={month}"
            files = sorted(folder.glob("*.parquet"))
            self.con.execute(f"""
                COPY (
                    SELECT s.* FROM read_parquet({_files_sql(files)}, hive_partitioning = false) AS s
                    ANTI JOIN suspect AS k ON {SAME_KEY.format(a='s', b='k')}
                    UNION ALL BY NAME SELECT * FROM ({kept}) WHERE {MONTH_OF_LINE} = '{month}'
                ) TO '{quote_path(folder / f"dedup-{self.record.import_id}.parquet")}' ({PARQUET_OPTIONS})
            """)
            for file in files:
                file.unlink()

    def write_quarantine(self) -> Path:
        """The quarantine CSV: line, field, reason and the row's values (or its raw line)."""
        target = self.staging / "quarantine.csv"
        columns = self.reader.columns
        raw_fields = ", ".join(f"coalesce(CAST(raw.{c} AS VARCHAR), CAST({c} AS VARCHAR)) AS {_q(s)}" for c, s in columns.items())
        typed_rows = f"""
            SELECT file_line(_ordinal) AS line, field,
                   CASE WHEN reason = 'duplicate line' THEN
                        'duplicate line (same basket, product and line number as line ' || file_line(first_ordinal) || ')'
                        ELSE reason END AS reason,
                   {raw_fields}, NULL AS raw_line
            FROM quarantined
        """
        if self.reader.kind == "csv":
            nulls = ", ".join(f"NULL AS {_q(s)}" for s in columns.values())
            typed_rows = f"""{typed_rows} UNION ALL
                SELECT line, {self._rejected_field()} AS field, {self._rejected_reason()} AS reason, {nulls}, csv_line AS raw_line
                FROM {REJECTED_LINES}
            """
        self.con.execute(f"COPY (SELECT * FROM ({typed_rows}) ORDER BY line) TO '{quote_path(target)}' (FORMAT csv, HEADER true)")
        return target

    def _rejected_field(self) -> str:
        """The lake field of a cast the CSV reader rejected; the file's column name otherwise."""
        cases = " ".join(f"WHEN '{s.replace(chr(39), chr(39) * 2)}' THEN '{c}'" for c, s in self.reader.columns.items())
        return f"CASE WHEN CAST(error_type AS VARCHAR) = 'CAST' THEN CASE column_name {cases} ELSE column_name END ELSE column_name END"

    def _rejected_reason(self) -> str:
        casts = " ".join(f"WHEN '{s.replace(chr(39), chr(39) * 2)}' THEN '{self.reader.cast_reason(c)}'"
                         for c, s in self.reader.columns.items() if self.reader.cast_reason(c))
        parser = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in PARSER_REASONS.items())
        cast = f"CASE column_name {casts} ELSE '{PARSER_REASONS['CAST']}' END" if casts else f"'{PARSER_REASONS['CAST']}'"
        return f"CASE WHEN CAST(error_type AS VARCHAR) = 'CAST' THEN {cast} ELSE CASE CAST(error_type AS VARCHAR) {parser} END END"

    def count(self, parsed: int, quarantine: Path) -> None:
        """Rows read, loaded (counted in the staged Parquet) and quarantined (counted in its file)."""
        record, csv = self.record, self.reader.kind == "csv"
        rejected = self.con.execute("SELECT count(DISTINCT line) FROM rejects").fetchall()[0][0] if csv else 0
        record.rows_read = parsed + rejected
        shutil.rmtree(self.staged / FAILED_PARTITION, ignore_errors=True)  # quarantined: never published
        files = self.staged_files()
        record.rows_loaded = (
            self.con.execute(f"SELECT count(*) FROM read_parquet({_files_sql(files)})").fetchall()[0][0] if files else 0
        )
        record.rows_quarantined = self.con.execute(
            f"SELECT count(*) FROM read_csv('{quote_path(quarantine)}', all_varchar = true)").fetchall()[0][0]
        reasons = self.con.execute("SELECT reason, count(*) FROM quarantined GROUP BY 1").fetchall()
        if csv:
            reasons += self.con.execute(
                f"SELECT {self._rejected_reason()}, count(*) FROM {REJECTED_LINES} GROUP BY 1"
            ).fetchall()
        merged: dict[str, int] = {}
        for reason, number in reasons:
            merged[reason] = merged.get(reason, 0) + number
        record.reasons = merged
