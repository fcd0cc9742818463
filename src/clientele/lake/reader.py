"""Reading the lake's tables as Ibis tables, on whichever engine the caller connected."""

from __future__ import annotations

from pathlib import Path

import ibis

from clientele.config import settings
from clientele.errors import ClienteleError
from clientele.lake.schema import BASKET_LINES


class LakeTableMissing(ClienteleError):
    """The lake has no such table yet (nothing was imported)."""


def table_path(name: str, lake: Path | None = None) -> Path:
    """The folder of one lake table."""
    return (lake or settings().lake_path) / name


def read_table(con: ibis.BaseBackend, name: str, lake: Path | None = None) -> ibis.Table:
    """One lake table (all its Parquet files, hive partitions included) as an Ibis table."""
    folder = table_path(name, lake)
    files = sorted(folder.rglob("*.parquet")) if folder.exists() else []
    if not files:
        raise LakeTableMissing(
            f"the lake at {folder.parent} has no table {name!r}: import data first "
            "(clientele import completejourney, or clientele import transactions FILE)"
        )
    if con.name == "duckdb":
        return con.read_parquet(str(folder / "**" / "*.parquet"), hive_partitioning=True)
    return con.read_parquet(str(folder))


def basket_lines(con: ibis.BaseBackend, lake: Path | None = None) -> ibis.Table:
    """Every basket line in the lake."""
    return read_table(con, BASKET_LINES, lake)
