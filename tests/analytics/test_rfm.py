"""RFM: scores by quintile, ties equal, one named segment per customer."""

from datetime import date, timedelta

import pytest

from clientele import analytics
from clientele.analytics.rfm import SEGMENTS, SegmentGrid
from clientele.lake.reader import basket_lines as lines_of

AS_OF = date(2024, 6, 30)


def scored(con, lake):
    return analytics.rfm(analytics.baskets(lines_of(con, lake)), AS_OF, window_days=365).execute()


def test_every_customer_has_exactly_one_rfm_segment(lake_builder, duckdb_con):
    for customer in range(1, 41):
        first = AS_OF - timedelta(days=7 * customer)
        lake_builder.weekly(customer, first, weeks=customer % 7 + 1, spend=customer * 3.0)
    result = scored(duckdb_con, lake_builder.build())
    assert len(result) == 40
    assert result.customer_id.is_unique
    assert set(result.rfm_segment) <= set(SEGMENTS) and result.rfm_segment.notna().all()


def test_equal_customers_get_equal_scores(lake_builder, duckdb_con):
    for customer in range(1, 11):
        lake_builder.weekly(customer, date(2024, 5, 1), weeks=4, spend=40.0)
    result = scored(duckdb_con, lake_builder.build())
    assert result[["r_score", "f_score", "m_score", "rfm_segment"]].nunique().max() == 1


def test_recent_frequent_big_spender_is_a_champion_and_long_gone_small_one_lost(lake_builder, duckdb_con):
    lake_builder.weekly(1, AS_OF - timedelta(days=7 * 30), weeks=31, spend=120.0)
    lake_builder.basket(2, AS_OF - timedelta(days=300), spend=5.0)
    for customer in range(3, 13):
        lake_builder.weekly(customer, AS_OF - timedelta(days=150), weeks=customer, spend=30.0)
    result = scored(duckdb_con, lake_builder.build()).set_index("customer_id")
    assert result.loc[1, "rfm_segment"] == "Champions"
    assert result.loc[2, "rfm_segment"] == "Lost"
    assert result.loc[1, "recency_days"] == 0 and result.loc[2, "recency_days"] == 300


def test_segment_grid_must_name_every_cell_once():
    with pytest.raises(ValueError, match="missing"):
        SegmentGrid(cells={"Everyone": [(r, f) for r in range(1, 6) for f in range(1, 5)]})
    every_cell = SegmentGrid(cells={"Everyone": [(r, f) for r in range(1, 6) for f in range(1, 6)]})
    assert every_cell.cells["Everyone"][0] == (1, 1)


def test_every_customer_of_a_real_complete_journey_slice_has_exactly_one_segment(cj_slice_lake, duckdb_con):
    baskets = analytics.baskets(lines_of(duckdb_con, cj_slice_lake))
    result = analytics.rfm(baskets, analytics.last_day(baskets)).execute()
    assert len(result) == baskets.customer_id.nunique().execute() == 40
    assert result.customer_id.is_unique and result.rfm_segment.isin(SEGMENTS).all()
