"""The nightly refresh's results in the lake: where they live and how to read them back.

Each result is one table under <lake>/results/<table>/ (Parquet, every row stamped with its
refresh_date). A result whose nights change few rows is kept as a base and a delta (decision
0124): the base under results/<table>/, and under results/_delta/<table>/ the rows of the keys
changed since the base was written, with the keys gone as tombstones; `read_result` merges them.
Whatever reads a result reads it through `read_result` (an Ibis table on any engine) or, in
DuckDB's SQL, through `result_source`. These readers serve the CLI, the back office and the
serving tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis
import pyarrow.parquet as pq

from clientele.analytics.pyramid import CATEGORY_RANK, RANK_BEFORE, with_category_rank
from clientele.analytics.segments import VOCABULARY, Segment, SegmentError, Vocabulary, parse

from clientele.config import settings
from clientele.lake.reader import LakeTableMissing, read_table

RESULTS = "results"

#: The columns of the per-customer serving table (the operational database's customer profiles).
PROFILE_COLUMNS = (
    "customer_id", "rfm_segment", "recency_days", "frequency", "monetary", "pyramid_level",
    "value_class", "value_tier", "lifecycle_stage", "deal_proneness",
    "expected_purchases", "probability_alive", "churn_risk", "at_risk", "predicted_clv", "clv_lower", "clv_upper",
    "expected_next_visit",
)


def results_dir(lake: Path | None = None) -> Path:
    """The folder of the refresh's result tables."""
    return (lake or settings().lake_path) / RESULTS


#: Under the results folder: the deltas of the results kept as a base and a delta.
DELTAS = "_delta"
#: In a delta's folder: what it says of itself (keys, refresh_date). Spark skips files named "_...".
DELTA_ABOUT = "_about.json"
#: In a result's folder: what its base was computed from (the writer's, to know a delta applies).
BASE_ABOUT = "_base.json"
#: The delta's column marking a key gone since the base (a tombstone: its other columns are null).
GONE = "_gone"


@dataclass(frozen=True)
class ResultDelta:
    """A night's result written as a delta on the kept base: `rows`, the rows (the table's
    columns, refresh_date aside) of every key changed since the base was written, and `gone`, the
    keys (`keys`) the base holds that are no longer in the table."""

    rows: ibis.Table
    gone: ibis.Table
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Restamped:
    """A night's result that is the kept one, its base and delta as they are (decision 0136): no
    row is written, the delta's `_about.json` alone is (the night's refresh_date stamps every row
    read; a delta of no file is made when there is none, with `keys`)."""

    keys: tuple[str, ...]


def delta_dir(table: str, lake: Path | None = None) -> Path:
    """The folder of a result's delta (absent when the result is its base alone)."""
    return results_dir(lake) / DELTAS / table


def delta_about(folder: Path) -> dict | None:
    """What the delta under `folder` (a `delta_dir`) says of itself: keys and refresh_date
    (None: no delta)."""
    path = folder / DELTA_ABOUT
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def base_about(table: str, lake: Path | None = None) -> dict | None:
    """What the base of `table` was computed from, as its writer recorded it (None: unsaid)."""
    path = results_dir(lake) / table / BASE_ABOUT
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


#: The results with a rank not stored but computed when read (decision 0128): category_pyramid's
#: category_rank, which moves for most rows every night while its levels barely do.
RANKED_AT_READ = ("category_pyramid",)


def read_result(con: ibis.BaseBackend, table: str, lake: Path | None = None) -> ibis.Table:
    """One result table of the last refresh (raises LakeTableMissing, saying to run the refresh,
    before the first refresh). A result kept as a base and a delta is read merged: the delta's
    rows, the base's rows of the keys the delta does not name, every row stamped with the
    refresh_date of the night that wrote the delta. A result of RANKED_AT_READ gets its rank,
    computed on the merged rows."""
    merged = _merged_result(con, table, lake)
    return with_category_rank(merged) if table in RANKED_AT_READ else merged


def _merged_result(con: ibis.BaseBackend, table: str, lake: Path | None) -> ibis.Table:
    try:
        base = read_table(con, f"{RESULTS}/{table}", lake)
    except LakeTableMissing:
        raise LakeTableMissing(f"no refresh has written the result {table!r} to the lake at "
                               f"{(lake or settings().lake_path)}: run `clientele refresh` first") from None
    about = delta_about(delta_dir(table, lake))
    if about is None:
        return base
    stamp = ibis.date(about["refresh_date"])
    try:
        delta = read_table(con, f"{RESULTS}/{DELTAS}/{table}", lake)
    except LakeTableMissing:  # an empty delta Spark wrote without a file
        return base.mutate(refresh_date=stamp)
    keys = about["keys"]
    present = delta.filter(~delta[GONE]).select(*base.columns).cast(base.schema())
    return base.anti_join(delta, keys).union(present).mutate(refresh_date=stamp)


def result_source(folder: Path, table: str, ranked: bool = True) -> str:
    """DuckDB SQL of one result table under the results folder `folder` (a `results_dir`, or a
    copy of one), merged as `read_result` merges it: for the readers that query the files in
    DuckDB's own SQL (the customer-360 file, benchmarks' comparisons), with the rank of a result
    of RANKED_AT_READ computed as `read_result` computes it (unless not `ranked`: its stored
    columns alone)."""
    merged = _merged_source(folder, table)
    if table not in RANKED_AT_READ or not ranked:
        return merged
    names = pq.read_schema(sorted((folder / table).rglob("*.parquet"))[0]).names
    at = names.index(RANK_BEFORE)
    rank = (f"row_number() OVER (PARTITION BY category_code ORDER BY category_spend DESC, customer_id) "
            f"AS {CATEGORY_RANK}")
    return f"SELECT {', '.join([*names[:at], rank, *names[at:]])} FROM ({merged})"


def _merged_source(folder: Path, table: str) -> str:
    base = f"read_parquet('{folder / table}/**/*.parquet', hive_partitioning = false)"
    deltas = folder / DELTAS / table
    about = delta_about(deltas)
    if about is None:
        return f"SELECT * FROM {base}"
    stamp = f"DATE '{about['refresh_date']}'"
    if not any(deltas.rglob("*.parquet")):
        return f"SELECT * REPLACE ({stamp} AS refresh_date) FROM {base}"
    delta = f"read_parquet('{deltas}/**/*.parquet', hive_partitioning = false)"
    keys = ", ".join(about["keys"])
    return (f"SELECT * REPLACE ({stamp} AS refresh_date) FROM ("
            f"SELECT kept.* FROM {base} AS kept ANTI JOIN {delta} AS changed USING ({keys}) "
            f"UNION ALL BY NAME SELECT * EXCLUDE ({GONE}) FROM {delta} WHERE NOT {GONE})")


def customer_profiles(con: ibis.BaseBackend, lake: Path | None = None) -> list[dict]:
    """Per customer, the serving profile of the last refresh: one dict per customer.

    Keys: customer_id, rfm_segment, recency_days (days), frequency (baskets in the RFM window),
    monetary (spend in the window, currency units), pyramid_level, value_class, value_tier,
    lifecycle_stage, deal_proneness (0..1, None without spend), the forecasts (see
    `forecasting.nightly`; None when the lake is too small to fit the models): expected_purchases
    (purchase days in the next 13 weeks), probability_alive (0..1), churn_risk (0..1, no purchase in
    13 weeks), at_risk (churn_risk >= 0.5), predicted_clv, clv_lower, clv_upper (12-month value and
    its 90% interval, currency units), expected_next_visit (date), and refresh_date.
    """
    profiles = read_result(con, "customer_profiles", lake)
    return profiles.select(*PROFILE_COLUMNS, "refresh_date").order_by("customer_id").to_pyarrow().to_pylist()


def till_contexts(con: ibis.BaseBackend, lake: Path | None = None) -> list[dict]:
    """Per customer, the last refresh's till context (`analytics.till_context.till_context`'s
    columns): one dict per customer, in customer order."""
    return read_result(con, "till_context", lake).drop("refresh_date").order_by("customer_id").to_pyarrow().to_pylist()


def segment_vocabulary(con: ibis.BaseBackend, lake: Path | None = None,
                       loyalty_tiers: Sequence[str] | None = None) -> Vocabulary:
    """The segment fields with the values of the last refresh's data filled in: the product
    categories (read only when an expression names one) and, when given, the loyalty tier names."""
    def categories() -> list[str]:
        cells = read_result(con, "brand_loyalty", lake)
        return sorted(cells.select("category").distinct().category.to_pyarrow().to_pylist())

    vocabulary = VOCABULARY.with_values("category", categories)
    return vocabulary if loyalty_tiers is None else vocabulary.with_values("loyalty_tier", loyalty_tiers)


def parse_segment(con: ibis.BaseBackend, text: str, lake: Path | None = None,
                  loyalty_tiers: Sequence[str] | None = None) -> Segment:
    """The segment `text` names, its values checked against the last refresh's data (SegmentError
    saying what is wrong and listing the valid values otherwise)."""
    return parse(text, segment_vocabulary(con, lake, loyalty_tiers))


def segment_members(
    con: ibis.BaseBackend, segment: str | Segment, lake: Path | None = None,
    supplied: dict[str, ibis.Table] | None = None,
) -> ibis.Table:
    """The customers of one segment of the last refresh, as a table with a customer_id column.

    `segment` is a segment expression (`analytics.segments`: "pyramid=VIP OR rfm=champions",
    "cell=COLD CEREAL/national/high AND NOT at_risk") or one already parsed; `supplied` holds the
    tables the lake does not have (`loyalty_tiers`: customer_id, loyalty_tier, from the operational
    database). Raises SegmentError on an expression that cannot be read or names unknown values.
    """
    parsed = parse_segment(con, segment, lake) if isinstance(segment, str) else segment
    supplied = supplied or {}

    def tables(name: str) -> ibis.Table:
        if name in supplied:
            return supplied[name]
        if name == "loyalty_tiers":
            raise SegmentError("loyalty_tier= reads the members' loyalty tiers from the operational database, "
                               "which this caller did not give")
        return read_result(con, name, lake)

    return parsed.members(read_result(con, "customer_profiles", lake), tables).select("customer_id")


def segment_customer_ids(
    con: ibis.BaseBackend, segment: str | Segment, lake: Path | None = None,
    supplied: dict[str, ibis.Table] | None = None,
) -> list[int]:
    """The customer ids of one segment of the last refresh, ascending."""
    members = segment_members(con, segment, lake, supplied).distinct().order_by("customer_id")
    return [row["customer_id"] for row in members.to_pyarrow().to_pylist()]
