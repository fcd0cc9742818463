"""The analytics engine: the only module that knows which engine runs the analytics.

`connect()` returns an Ibis backend: DuckDB in-process (default) or Apache Spark (local mode or a
cluster). Analytics functions take Ibis tables and return Ibis tables, so one code path serves both.
"""

from __future__ import annotations

import os
import sys
from typing import Literal

import ibis

from clientele.config import settings

EngineName = Literal["duckdb", "spark"]


def connect(engine: EngineName | None = None) -> ibis.BaseBackend:
    """An Ibis connection to the chosen engine (default: `CLIENTELE_ENGINE`, else DuckDB)."""
    chosen = engine or settings().engine
    if chosen == "duckdb":
        con = ibis.duckdb.connect()
        # beyond its memory budget the refresh spills to <home>/tmp, as imports do, not to ./.tmp
        con.raw_sql(f"SET temp_directory = '{settings().spill_path}'")
        if settings().duckdb_memory_limit:
            con.raw_sql(f"SET memory_limit = '{settings().duckdb_memory_limit}'")
        return con
    if chosen == "spark":
        return ibis.pyspark.connect(spark_session())
    raise ValueError(f"unknown engine {chosen!r}: choose duckdb or spark")


def spark_session():
    """The process's Spark session (created on first use; Spark is imported only here)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as missing:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            "the spark engine needs PySpark: pip install 'clientele[spark]'"
        ) from missing
    # Python workers (e.g. loading a result table computed on the driver, such as the forecasts)
    # run this interpreter, which has pandas and pyarrow; PySpark's default "python3" may not.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(settings().spark_master)
        .appName("clientele")
        .config("spark.driver.memory", settings().spark_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.jars", _splink_similarity_jar())
        .getOrCreate()
    )


def _splink_similarity_jar() -> str:
    """Splink's Scala similarity functions (Jaro-Winkler, Damerau-Levenshtein...) for the identity
    matching on Spark, loaded with the session (a jar cannot join a running one); '' without Splink."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:  # pragma: no cover - depends on the installed extras
        return ""
    return similarity_jar_location()
