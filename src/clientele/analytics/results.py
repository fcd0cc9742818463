"""The nightly refresh's results in the lake: where they live and how to read them back.

Each result is one table under <lake>/results/<table>/ (Parquet, every row stamped with its
refresh_date). These readers serve the CLI, the back office and the serving tables.
"""

from __future__ import annotations

from pathlib import Path

import ibis

from clientele.config import settings
from clientele.errors import ClienteleError
from clientele.lake.reader import read_table

RESULTS = "results"

#: The columns of the per-customer serving table (the operational database's customer profiles).
PROFILE_COLUMNS = (
    "customer_id", "rfm_segment", "recency_days", "frequency", "monetary", "pyramid_level",
    "value_class", "value_tier", "lifecycle_stage", "deal_proneness",
    "expected_purchases", "probability_alive", "churn_risk", "at_risk", "predicted_clv", "clv_lower", "clv_upper",
    "expected_next_visit",
)

#: Segment kinds `clientele export` understands: kind -> (result table, column holding the value).
SEGMENT_KINDS = {
    "rfm": ("customer_profiles", "rfm_segment"),
    "pyramid": ("customer_profiles", "pyramid_level"),
    "class": ("customer_profiles", "value_class"),
    "tier": ("customer_profiles", "value_tier"),
    "lifecycle": ("customer_profiles", "lifecycle_stage"),
    "exit": ("lifecycle", "exit_pattern"),
}


class UnknownSegment(ClienteleError):
    """The segment asked for is not one the refresh produces."""


def results_dir(lake: Path | None = None) -> Path:
    """The folder of the refresh's result tables."""
    return (lake or settings().lake_path) / RESULTS


def read_result(con: ibis.BaseBackend, table: str, lake: Path | None = None) -> ibis.Table:
    """One result table of the last refresh (raises LakeTableMissing before the first refresh)."""
    return read_table(con, f"{RESULTS}/{table}", lake)


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


def segment_members(con: ibis.BaseBackend, segment: str, lake: Path | None = None) -> ibis.Table:
    """The customers of one segment of the last refresh, as a table with a customer_id column.

    `segment` is KIND=VALUE with KIND one of SEGMENT_KINDS ("rfm=Champions", "pyramid=VIP",
    "tier=gold", "lifecycle=decline", "exit=after a long stability"), or
    "cell=CATEGORY/LOYALTY/USAGE" for a nine-cell ("cell=COLD CEREAL/national/high"), or
    "trait=NAME" ("trait=dog"), or "narrow" (regular customers buying from few departments), or
    "gone-top" (last period's top customers who did not buy this period).
    """
    kind, _, value = segment.partition("=")
    if kind in SEGMENT_KINDS and value:
        table_name, column = SEGMENT_KINDS[kind]
        table = read_result(con, table_name, lake)
        return table.filter(table[column] == value).select("customer_id")
    if kind == "cell" and value.count("/") == 2:
        category, loyalty, usage = value.split("/")
        cells = read_result(con, "brand_loyalty", lake)
        chosen = cells.filter(
            (cells.category == category) & (cells.brand_loyalty == loyalty) & (cells.usage == usage)
        )
        return chosen.select("customer_id")
    if kind == "trait" and value:
        traits = read_result(con, "traits", lake)
        return traits.filter((traits.trait == value) & traits.has_trait).select("customer_id")
    if segment == "narrow":
        narrow = read_result(con, "narrow_baskets", lake)
        return narrow.filter(narrow.narrow).select("customer_id")
    if segment == "gone-top":
        top = read_result(con, "year_over_year", lake)
        return top.filter(~top.bought_again).select("customer_id")
    raise UnknownSegment(
        f"unknown segment {segment!r}: use KIND=VALUE with KIND in {sorted(SEGMENT_KINDS)}, "
        "cell=CATEGORY/LOYALTY/USAGE, trait=NAME, narrow or gone-top"
    )


def segment_customer_ids(con: ibis.BaseBackend, segment: str, lake: Path | None = None) -> list[int]:
    """The customer ids of one segment of the last refresh, ascending."""
    members = segment_members(con, segment, lake).distinct().order_by("customer_id")
    return [row["customer_id"] for row in members.to_pyarrow().to_pylist()]
