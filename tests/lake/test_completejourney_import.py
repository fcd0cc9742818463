"""Importing The Complete Journey into the lake: every line arrives, to the cent, exactly once."""

from __future__ import annotations

import duckdb

from clientele.barcodes import is_valid_ean13
from clientele.lake.completejourney import data_dir, import_to_lake
from clientele.lake.store import Lake


def _source_totals(customers: list[int]) -> tuple:
    ids = ", ".join(map(str, customers))
    return duckdb.sql(
        f"SELECT count(*), count(DISTINCT basket_id), sum(round(sales_value, 2))::DECIMAL(18,2) "
        f"FROM read_parquet('{data_dir() / 'transactions.parquet'}') WHERE household_id IN ({ids})"
    ).fetchall()[0]


def test_every_basket_line_of_the_slice_reaches_the_lake_to_the_cent(cj_slice_lake, slice_customers):
    lake = Lake(cj_slice_lake)
    in_lake = duckdb.sql(
        f"SELECT count(*), count(DISTINCT basket_id), sum(sales_value)::DECIMAL(18,2) "
        f"FROM read_parquet('{lake.parquet_glob('basket_lines')}')"
    ).fetchall()[0]
    assert in_lake == _source_totals(slice_customers)


def test_lake_is_partitioned_by_month_with_valid_card_barcodes(cj_slice_lake):
    months = sorted(p.name for p in (cj_slice_lake / "basket_lines").iterdir())
    assert months[0] == "month=2017-01" and "month=2017-12" in months
    barcodes = duckdb.sql(
        f"SELECT DISTINCT card_barcode FROM read_parquet('{cj_slice_lake}/basket_lines/**/*.parquet')"
    ).fetchall()
    assert barcodes and all(is_valid_ean13(code) for (code,) in barcodes)


def test_reference_tables_are_in_the_lake_with_the_lakes_names(cj_slice_lake):
    lake = Lake(cj_slice_lake)
    for table in ("products", "demographics", "campaigns", "campaign_descriptions", "coupons",
                  "coupon_redemptions", "promotions", "stores"):
        assert lake.has_table(table), table
    columns = [c[0] for c in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{lake.parquet_glob('products')}')").fetchall()]
    assert {"product_id", "department", "category", "subcategory", "brand_type"} <= set(columns)


def test_importing_the_same_slice_twice_adds_nothing(tmp_path, slice_customers):
    lake = Lake(tmp_path / "lake")
    first = import_to_lake(lake=lake, customers=slice_customers[:5]).record
    second = import_to_lake(lake=lake, customers=slice_customers[:5]).record
    assert first.rows_loaded == first.rows_read > 0
    assert second.rows_loaded == 0 and second.already_imported_as == first.import_id
    count = duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake.parquet_glob('basket_lines')}')").fetchall()[0][0]
    assert count == first.rows_read
    assert [entry["import_id"] for entry in lake.imports()] == [first.import_id, second.import_id]


def test_a_wider_slice_after_a_narrow_one_adds_only_the_new_households(tmp_path, slice_customers):
    lake = Lake(tmp_path / "lake")
    import_to_lake(lake=lake, customers=slice_customers[:3])
    wider = import_to_lake(lake=lake, customers=slice_customers[:6]).record
    assert wider.rows_loaded == _source_totals(slice_customers[3:6])[0]
    assert wider.reasons == {"already in the lake": _source_totals(slice_customers[:3])[0]}
    assert wider.reconciles


def _baskets(lake_root) -> duckdb.DuckDBPyRelation:
    return duckdb.sql(f"SELECT basket_id, min(transaction_ts) AS ts FROM read_parquet('{lake_root}/basket_lines/**/*.parquet') "
                      "GROUP BY basket_id")


def test_the_lake_keeps_the_stores_new_york_wall_clock_time_of_the_source_s_utc_instants(cj_slice_lake):
    from datetime import timezone
    from zoneinfo import ZoneInfo

    source = duckdb.sql(f"SELECT CAST(basket_id AS VARCHAR), min(transaction_timestamp) FROM "
                        f"read_parquet('{data_dir() / 'transactions.parquet'}') WHERE basket_id IN "
                        f"(SELECT CAST(basket_id AS BIGINT) FROM read_parquet('{cj_slice_lake}/basket_lines/**/*.parquet')) "
                        "GROUP BY basket_id").fetchall()
    in_lake = dict(_baskets(cj_slice_lake).fetchall())
    new_york = ZoneInfo("America/New_York")
    expected = {basket: utc.replace(tzinfo=timezone.utc).astimezone(new_york).replace(tzinfo=None)
                for basket, utc in source}
    assert in_lake == expected
    offsets = {round((utc - in_lake[basket]).total_seconds() / 3600) for basket, utc in source}
    assert offsets == {4, 5}  # summer (EDT) and winter (EST) time both met


def test_the_stores_busiest_hours_are_afternoon_and_evening_and_no_basket_falls_on_new_year_2018(cj_slice_lake):
    baskets = _baskets(cj_slice_lake)
    by_hour = dict(duckdb.sql("SELECT hour(ts), count(*) FROM baskets GROUP BY 1").fetchall())
    busiest = max(by_hour, key=by_hour.get)
    assert 12 <= busiest <= 20
    night = sum(count for hour, count in by_hour.items() if hour < 6)
    assert night / sum(by_hour.values()) < 0.03  # read as UTC, 19% of baskets fell between midnight and 6 am
    days = duckdb.sql("SELECT min(ts)::DATE, max(ts)::DATE FROM baskets").fetchall()[0]
    assert days[0].year == days[1].year == 2017
    by_day = dict(duckdb.sql("SELECT dayname(ts), count(*) FROM baskets GROUP BY 1").fetchall())
    assert max(by_day, key=by_day.get) in ("Saturday", "Sunday")
