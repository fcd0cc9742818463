"""The nightly refresh's results in the lake: where they live and how to read them back.

Each result is one table under <lake>/results/<table>/ (Parquet, every row stamped with its
refresh_date). These readers serve the CLI, the back office and the serving tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ibis

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


def read_result(con: ibis.BaseBackend, table: str, lake: Path | None = None) -> ibis.Table:
    """One result table of the last refresh (raises LakeTableMissing, saying to run the refresh,
    before the first refresh)."""
    try:
        return read_table(con, f"{RESULTS}/{table}", lake)
    except LakeTableMissing:
        raise LakeTableMissing(f"no refresh has written the result {table!r} to the lake at "
                               f"{(lake or settings().lake_path)}: run `clientele refresh` first") from None


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
