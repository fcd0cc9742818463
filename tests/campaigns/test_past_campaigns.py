"""The Complete Journey's own campaigns shown as past campaigns: counts from the real tables, the
comparison labelled observational."""

from __future__ import annotations

import duckdb

from clientele.analytics.past_campaigns import past_campaigns
from clientele.engine import connect
from clientele.lake.reader import basket_lines, read_table


def test_past_campaigns_count_the_targeted_and_redeeming_households_and_say_they_are_observational(cj_slice_lake):
    con = connect("duckdb")
    rows = past_campaigns(basket_lines(con, cj_slice_lake), read_table(con, "campaigns", cj_slice_lake),
                          read_table(con, "campaign_descriptions", cj_slice_lake),
                          read_table(con, "coupon_redemptions", cj_slice_lake))
    assert [row["campaign_id"] for row in rows] == list(range(1, 28))
    lines = f"read_parquet('{cj_slice_lake}/basket_lines/**/*.parquet', hive_partitioning=true)"
    targeted = dict(duckdb.sql(
        f"SELECT campaign_id, count(DISTINCT customer_id) FROM read_parquet('{cj_slice_lake}/campaigns/**/*.parquet') "
        f"WHERE customer_id IN (SELECT customer_id FROM {lines}) GROUP BY ALL").fetchall())
    redeemed = dict(duckdb.sql(
        f"SELECT r.campaign_id, count(DISTINCT r.customer_id) "
        f"FROM read_parquet('{cj_slice_lake}/coupon_redemptions/**/*.parquet') r "
        f"JOIN read_parquet('{cj_slice_lake}/campaigns/**/*.parquet') c USING (campaign_id, customer_id) "
        f"GROUP BY ALL").fetchall())
    for row in rows:
        assert row["targeted"] == targeted.get(row["campaign_id"], 0)
        assert row["redeemers"] == redeemed.get(row["campaign_id"], 0)
        assert row["label"].startswith("observational")
    compared = [row for row in rows if row["comparison"]]
    assert compared and all(row["comparison"]["method"] == "matched cells (observational)" for row in compared)
