"""Writing to the lake: stage everything, then publish in one step, and log every import.

An import writes its Parquet files into a staging folder first; only when every row has been
classified (loaded or quarantined) are the files moved into the table's month partitions and the
import recorded in the log. A failure before that leaves the lake as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from clientele.config import settings
from clientele.lake.schema import BASKET_LINES

IMPORT_LOG = "_imports/import_log.jsonl"
IMPORT_MEMORY_LIMIT = "2GB"
#: The month partition of a basket line (hive style: month=2017-01).
MONTH_OF_LINE = "strftime(transaction_ts, '%Y-%m')"
#: How the lake's Parquet files are written. zstd at level 1 makes files as small as DuckDB's
#: default level 3 on basket lines (dictionary pages do most of the work) for less CPU, and a
#: quarter smaller than snappy, DuckDB's default codec.
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"


@dataclass
class ImportRecord:
    """What one import did: rows read = rows loaded + rows quarantined."""

    import_id: str
    source: str
    file: str
    sha256: str
    started_at: str
    finished_at: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    quarantine_file: str | None = None
    tables: dict[str, int] = field(default_factory=dict)
    already_imported_as: str | None = None

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined

    def as_dict(self) -> dict:
        return asdict(self) | {"reconciles": self.reconciles}


class Lake:
    """The lake folder: its tables, its staging area and its import log."""

    def __init__(self, root: Path | None = None):
        self.root = (root or settings().lake_path).resolve()

    def table_dir(self, name: str) -> Path:
        return self.root / name

    def has_table(self, name: str) -> bool:
        folder = self.table_dir(name)
        return folder.exists() and any(folder.rglob("*.parquet"))

    def parquet_glob(self, name: str) -> str:
        return str(self.table_dir(name) / "**" / "*.parquet")

    def connect(self, database: Path | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection for writing, spilling to <home>/tmp instead of running out of memory.

        `database` is a scratch database file: its tables live on disk, so an import's working
        tables can be larger than the memory budget.
        """
        con = duckdb.connect(str(database) if database else ":memory:")
        con.execute(f"SET temp_directory = '{settings().spill_path}'")
        # imports stay within a fixed budget whatever the file's size: DuckDB spills beyond it
        con.execute(f"SET memory_limit = '{settings().duckdb_memory_limit or IMPORT_MEMORY_LIMIT}'")
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        return con

    def new_import(self, source: str, file: Path | str, sha256: str) -> ImportRecord:
        return ImportRecord(
            import_id=uuid.uuid4().hex[:16],
            source=source,
            file=str(file),
            sha256=sha256,
            started_at=_now(),
        )

    def staging_dir(self, import_id: str) -> Path:
        folder = self.root / "_staging" / import_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write_basket_lines(
        self,
        con: duckdb.DuckDBPyConnection,
        relation_sql: str,
        import_id: str,
        month: str | None = MONTH_OF_LINE,
        into: Path | None = None,
        name: str = "part",
    ) -> int:
        """Stage the rows of `relation_sql` (lake columns) as Parquet partitioned by month; their count.

        `month` is the SQL of the partition (None: the relation has a `month` column already);
        `into` another folder than the import's staged basket lines.
        """
        staged = into or self.staging_dir(import_id) / BASKET_LINES
        # the lake needs no row order; keeping it makes a partitioned write buffer the whole input
        con.execute("SET preserve_insertion_order = false")
        select = f"SELECT *, {month} AS month FROM ({relation_sql})" if month else relation_sql
        return con.execute(
            f"""
            COPY ({select})
            TO '{staged}' ({PARQUET_OPTIONS}, PARTITION_BY (month), FILENAME_PATTERN '{name}-{import_id}-{{i}}')
            """
        ).fetchall()[0][0]

    def write_table(self, con: duckdb.DuckDBPyConnection, name: str, relation_sql: str, import_id: str) -> None:
        """Stage a whole reference table (it replaces the lake's copy when published)."""
        staged = self.staging_dir(import_id) / name
        staged.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY ({relation_sql}) TO '{staged / (name + '.parquet')}' ({PARQUET_OPTIONS})")

    def publish(self, record: ImportRecord) -> None:
        """Move the staged files into the lake and append the import to the log."""
        staging = self.root / "_staging" / record.import_id
        if staging.exists():
            for table in sorted(p for p in staging.iterdir() if p.is_dir()):
                target = self.table_dir(table.name)
                if table.name != BASKET_LINES and target.exists():
                    shutil.rmtree(target)  # reference tables are snapshots: the new one replaces the old
                for staged_file in sorted(table.rglob("*.parquet")):
                    destination = target / staged_file.relative_to(table)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged_file, destination)
            shutil.rmtree(staging)
        record.finished_at = _now()
        log = self.root / IMPORT_LOG
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record.as_dict()) + "\n")

    def discard(self, import_id: str) -> None:
        """Forget everything an unfinished import staged."""
        shutil.rmtree(self.root / "_staging" / import_id, ignore_errors=True)

    def imports(self) -> list[dict]:
        """Every finished import, oldest first."""
        log = self.root / IMPORT_LOG
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]

    def previous_import(self, sha256: str) -> dict | None:
        """The earlier import of a file with the same content, if any loaded rows."""
        for entry in self.imports():
            if entry["sha256"] == sha256 and not entry.get("already_imported_as"):
                return entry
        return None


def file_sha256(path: Path) -> str:
    """Content hash of a file (read in 8 MB chunks: memory stays flat on large files)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
