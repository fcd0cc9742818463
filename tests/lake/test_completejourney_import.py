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
