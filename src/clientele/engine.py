"""The analytics engine: the only module that knows which engine runs the analytics.

`connect()` returns an Ibis backend: DuckDB in-process (default) or Apache Spark (local mode or a
cluster). Analytics functions take Ibis tables and return Ibis tables, so one code path serves both.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def recorded_spark_plans(con: ibis.BaseBackend) -> Iterator[list[str]]:
    """Inside the block, every query the Spark connection `con` runs leaves its physical plan (Spark's
    text, as `explain` prints it) in the yielded list: what `gathering_operators` reads."""
    session = con._session
    plans: list[str] = []
    run = session.sql

    def recorded(query, *args, **kwargs):
        frame = run(query, *args, **kwargs)
        plans.append(frame._jdf.queryExecution().executedPlan().toString())
        return frame

    session.sql = recorded
    try:
        yield plans
    finally:
        del session.sql


#: Aggregates whose partial result holds every distinct value of their input, not a few numbers.
_VALUE_HOLDING_AGGREGATES = ("partial_percentile(", "partial_collect_list(", "partial_collect_set(")


def gathering_operators(plan: str) -> list[str]:
    """The operators of a Spark physical plan that move every row of their input into one
    partition: a window without a partition (its rows exchanged to a single partition), a global
    sort or limit, any exchange to a single partition but the one that gathers a global
    aggregate's partial results (one per partition), and partial aggregates that hold all their
    input's values (exact percentiles; a list collected without grouping keys) unless that input
    is a few single-row aggregates.
    Returns each offending operator's line (none: the plan runs spread over partitions)."""
    lines = [line for line in plan.splitlines() if line.strip()]
    nodes = [(len(line) - len(line.lstrip(" :+-")), line.strip(" :+-")) for line in lines]
    found = []
    for index, (depth, node) in enumerate(nodes):
        children = _children(nodes, index)
        if node.startswith("Exchange SinglePartition"):
            below = nodes[children[0]][1] if children else ""
            # a global aggregate's partial results (or a row per partition of one whose results are unused)
            partial = "partial_" in below or "functions=[]" in below
            if not ("Aggregate(keys=[]" in below and partial):
                found.append(node)
        elif node.startswith("Window [") and not _partitioned(node):
            found.append(node)
        elif any(name in node for name in _VALUE_HOLDING_AGGREGATES) and not _few_rows(nodes, children) \
                and not _keyed_collect(node):
            found.append(node)
    return found


def _keyed_collect(node: str) -> bool:
    """Whether an aggregate's line collects values per key (`collect_list` or `collect_set` with
    grouping keys, no percentile): each key's values are gathered in the key's partition, as any
    keyed aggregate's rows are, not the whole input in one (decision 0144: a basket's categories)."""
    holding = [name for name in _VALUE_HOLDING_AGGREGATES if name in node]
    return "keys=[]" not in node and "keys=[" in node and all("collect_" in name for name in holding)


def _partitioned(window: str) -> bool:
    """Whether a Window operator's line has partition keys: Spark prints it `Window [functions],
    [partition keys], [order]`, leaving out an empty list."""
    groups = _bracket_groups(window)
    if len(groups) == 3:
        return True
    return len(groups) == 2 and not any(order in groups[1] for order in (" ASC NULLS", " DESC NULLS"))


def _bracket_groups(node: str) -> list[str]:
    """The top-level [...] groups of an operator's line."""
    groups, depth, start = [], 0, 0
    for position, character in enumerate(node):
        if character == "[":
            depth += 1
            start = position if depth == 1 else start
        elif character == "]":
            depth -= 1
            if depth == 0:
                groups.append(node[start:position + 1])
    return groups


def _children(nodes: list[tuple[int, str]], index: int) -> list[int]:
    depth = nodes[index][0]
    children, child_depth = [], None
    for later in range(index + 1, len(nodes)):
        if nodes[later][0] <= depth:
            break
        child_depth = child_depth or nodes[later][0]
        if nodes[later][0] == child_depth:
            children.append(later)
    return children


def _few_rows(nodes: list[tuple[int, str]], children: list[int]) -> bool:
    """Whether these plan nodes yield a handful of rows: each is a global aggregate's final result
    (one row), reached through projections, unions and exchanges only."""
    for child in children:
        node = nodes[child][1]
        if "Aggregate(" in node and "keys=[]" in node and "partial_" not in node:
            continue
        if not node.startswith(("Project", "Union", "Exchange", "Filter", "*(")):
            return False
        if not _few_rows(nodes, _children(nodes, child)):
            return False
    return True
