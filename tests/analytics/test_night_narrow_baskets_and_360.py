"""A night follows the last refresh's narrow baskets for the customers none of whose lines (of any
product, with a category or without) entered or left the window, and updates the customer-360 file
in place (decision 0130): both give what a full refresh gives, exactly, and a reader never sees a
half-updated 360 file."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from test_incremental_refresh import (  # the same synthetic lake and comparisons
    REFRESH_DATE, _add_new_day, _copy, _kept_models, _night_against_full, assert_same_results,
    customer_view_tables,
    synthesized, synthetic_lake)

from clientele import analytics
from clientele.analytics import customer_view
from clientele.analytics.customer_view import CUSTOMER_TABLES, VIEW_FILE, customer_results
from clientele.analytics.results import read_result
from clientele.refresh import refresh

__all__ = ["synthesized", "synthetic_lake"]

#: A product the shelf lists without a category, and one the shelf does not list at all: their
#: lines are in the baskets (count and spend) but in no category sum.
UNCATEGORISED, UNLISTED = 8, 999
#: New customers of the test: E has 3 baskets in the window and a 4th on the new day, of an
#: uncategorised product alone (they become regular); D has 4, the oldest on the day leaving the
#: window, of an uncategorised product alone (they stop being regular); F's basket of the day
#: leaving the window begins with an uncategorised line and ends with a categorised one after
#: midnight (the basket leaves, its categorised line stays).
ENTERING, LEAVING, ACROSS = 90_001, 90_002, 90_003


def _line(customer_id: int, basket_id: str, at: datetime, product_id: int, spend: str, line_no: int = 1) -> dict:
    return dict(basket_id=basket_id, line_no=line_no, customer_id=customer_id, card_barcode=None, store_id=1,
                transaction_ts=at, product_id=product_id, quantity=Decimal("1.000"), sales_value=Decimal(spend),
                retail_disc=Decimal("0.00"), coupon_disc=Decimal("0.00"), coupon_match_disc=Decimal("0.00"),
                channel="store", source_file="test", import_id="test")


def _append(path: Path, rows: list[dict]) -> None:
    kept = pq.read_table(path)
    pq.write_table(pa.concat_tables([kept, pa.Table.from_pylist(rows, schema=kept.schema)]), path)


def _with_uncategorised(lake: Path, category: str | None = None) -> None:
    """The shelf with product UNCATEGORISED listed, under `category` (None: without one)."""
    _shelved(lake, UNCATEGORISED, category)


def _shelved(lake: Path, product_id: int, category: str | None) -> None:
    """The shelf with `product_id` listed (again), under `category`."""
    path = lake / "products" / "products.parquet"
    products = pq.read_table(path)
    products = products.filter(pc.not_equal(products["product_id"], product_id))
    row = {name: None for name in products.column_names} | {
        "product_id": product_id, "department": "GROCERY", "category": category, "subcategory": category,
        "brand_type": "National", "manufacturer_id": 1}
    pq.write_table(pa.concat_tables([products, pa.Table.from_pylist([row], schema=products.schema)]), path)


def _regulars_without_lines_on(lake: Path, day: str, count: int) -> list[int]:
    """`count` customers with baskets in most months of 2024 and no line on `day`."""
    lines = f"read_parquet('{lake}/basket_lines/*/*.parquet')"
    return [row[0] for row in duckdb.sql(
        f"SELECT customer_id FROM {lines} WHERE customer_id IS NOT NULL GROUP BY customer_id "
        f"HAVING count(DISTINCT date_trunc('month', transaction_ts)) >= 10 "
        f"AND count(*) FILTER (WHERE transaction_ts::DATE = DATE '{day}') = 0 "
        f"ORDER BY customer_id LIMIT {count}").fetchall()]


def _uncategorised_edges(synthetic_lake: Path) -> tuple[Path, list[int]]:
    """The synthetic lake with lines of uncategorised products at each edge of the window of the
    night as of 2024-12-31 (the day before's window starts on 2024-01-01, its own on 2024-01-02):
    two regular customers whose only line of the new day is uncategorised (a product listed
    without a category, one not listed), one whose only line of the day leaving the window is, and
    the new customers ENTERING, LEAVING and ACROSS. Returns the lake and the customers."""
    lake = synthetic_lake
    _with_uncategorised(lake)
    listed, unlisted, left = _regulars_without_lines_on(lake, "2024-12-31", 3)
    assert not duckdb.sql(f"SELECT * FROM read_parquet('{lake}/basket_lines/month=2024-01/*.parquet') "
                          f"WHERE customer_id = {left} AND transaction_ts::DATE = DATE '2024-01-01'").fetchall()
    new_day = datetime(2024, 12, 31, 15)
    _append(lake.parent / "new-day.parquet", [
        _line(listed, "UNCAT-1", new_day, UNCATEGORISED, "7.10"),
        _line(unlisted, "UNCAT-2", new_day, UNLISTED, "3.20"),
        _line(ENTERING, "UNCAT-3", new_day, UNCATEGORISED, "4.00"),
    ])
    first_day = datetime(2024, 1, 1, 12)
    _append(lake / "basket_lines" / "month=2024-01" / "part-0.parquet", [
        _line(left, "UNCAT-4", first_day, UNCATEGORISED, "5.50"),
        _line(LEAVING, "UNCAT-5", first_day, UNLISTED, "6.00"),
        _line(ACROSS, "UNCAT-6", datetime(2024, 1, 1, 23, 55), UNLISTED, "2.00"),
        _line(ACROSS, "UNCAT-6", datetime(2024, 1, 2, 0, 5), 1, "3.00", line_no=2),
    ])
    for number, month in enumerate(("2024-03", "2024-06", "2024-09", "2024-11")):
        at = datetime(int(month[:4]), int(month[5:]), 10, 11)
        rows = [_line(ACROSS, f"CAT-A{number}", at, 4, "10.00")]  # ACROSS stays regular
        if number < 3:
            rows += [_line(ENTERING, f"CAT-E{number}", at, 3, "20.00"),
                     _line(LEAVING, f"CAT-L{number}", at, 7, "30.00")]
        _append(lake / "basket_lines" / f"month={month}" / "part-0.parquet", rows)
    return lake, [listed, unlisted, left, ENTERING, LEAVING, ACROSS]


def _narrow_rows(lake: Path, con, customers: list[int]) -> dict[int, tuple]:
    table = read_result(con, "narrow_baskets", lake)
    rows = table.filter(table.customer_id.isin(customers)).to_pyarrow().to_pylist()
    return {row["customer_id"]: (row["baskets"], row["spend"]) for row in rows}


def test_a_night_follows_the_narrow_baskets_through_uncategorised_lines_at_every_edge(
        synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    """Every customer with a line entering or leaving the window is computed again, whatever the
    line's product: a regular whose only new line is of a product without a category (listed so,
    or not listed), one whose only line leaving the window is, a customer who becomes regular or
    stops being so by such a line, and a basket leaving the window while its categorised line
    stays in it. The night computes fewer than half the customers and gives the full refresh's
    tables."""
    lake, customers = _uncategorised_edges(synthetic_lake)
    nightly = _copy(lake, tmp_path / "nightly")
    refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    before = _narrow_rows(nightly, duckdb_con, customers)
    whole = _copy(nightly, tmp_path / "whole")

    seen: list[int] = []
    computed = analytics.narrow_baskets

    def counted(spend, baskets, *args, **kwargs):
        seen.append(baskets.customer_id.nunique().execute())
        return computed(spend, baskets, *args, **kwargs)

    monkeypatch.setattr(analytics, "narrow_baskets", counted)
    _add_new_day(nightly)
    assert refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con).mode == "incremental from 2024-12-30"
    _add_new_day(whole)
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole)

    everyone, night = seen[1], seen[0]
    assert 0 < night < everyone / 2
    after = _narrow_rows(nightly, duckdb_con, customers)
    listed, unlisted, left = customers[:3]
    for customer in (listed, unlisted, left):
        assert after[customer] != before[customer]  # one basket more (or less), its spend with it
    assert ENTERING not in before and after[ENTERING][0] == 4
    assert before[LEAVING][0] == 4 and LEAVING not in after
    assert after[ACROSS] != before[ACROSS]


def test_a_product_given_a_category_between_two_nights_makes_the_night_compute_in_full(
        synthetic_lake, duckdb_con, tmp_path):
    """The shelf's categories are what the kept tables were computed with: a product given a
    category between two nights makes the night compute every table (and write the 360 file
    whole), as the full refresh does."""
    lake, _ = _uncategorised_edges(synthetic_lake)
    nightly = _copy(lake, tmp_path / "nightly")
    _night_against_full(duckdb_con, nightly, tmp_path, between=lambda lake: _with_uncategorised(lake, "PET TOYS"),
                        mode="full (the products changed)")
    spend = read_result(duckdb_con, "category_spend", nightly)
    assert spend.filter(spend.category == "PET TOYS").count().execute() > 0


def _copied_whole(monkeypatch) -> list[str]:
    """The 360 tables the refreshes of the test copy whole, in order."""
    copied: list[str] = []
    copy = customer_view._copy_merged

    def recorded(con, folder, table, *args):
        copied.append(table)
        return copy(con, folder, table, *args)

    monkeypatch.setattr(customer_view, "_copy_merged", recorded)
    return copied


def test_a_night_updates_the_360_file_in_place_and_a_full_refresh_writes_it_whole(
        synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    """A night that follows the last refresh copies whole only the 360 tables whose changed
    customers it cannot name (category_pyramid, traits, the forecasts), and deletes and inserts
    the rows of the others' changed customers: the file equals the full refresh's, table by table;
    a refresh with `restart` writes it whole; a night closing a month inserts its history rows."""
    nightly = _copy(synthetic_lake, tmp_path / "nightly")
    refresh(lake=nightly, as_of=date(2024, 12, 28), refresh_date=REFRESH_DATE - timedelta(days=2), con=duckdb_con)
    refresh(lake=nightly, as_of=date(2024, 12, 29), refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    whole = _copy(nightly, tmp_path / "whole")
    copied = _copied_whole(monkeypatch)
    rewritten = []
    months = customer_view._rewritten_months

    def recorded(*args):
        found = months(*args)
        rewritten.append(found[0])
        return found

    monkeypatch.setattr(customer_view, "_rewritten_months", recorded)
    assert refresh(lake=nightly, as_of=date(2024, 12, 30), refresh_date=REFRESH_DATE,
                   con=duckdb_con).mode == "incremental from 2024-12-29"
    # brand_loyalty a delta on the same base two nights running: its keys' rows alone
    assert sorted(copied) == ["next_purchases", "next_visits", "traits"]
    # the baskets' rows replaced in the month files written tonight alone (decision 0142)
    assert rewritten == [["2024-12"]]
    copied.clear()
    refresh(lake=whole, as_of=date(2024, 12, 30), refresh_date=REFRESH_DATE, con=duckdb_con, restart=True,
            models=_kept_models(nightly))
    assert sorted(copied) == sorted(CUSTOMER_TABLES)
    assert_same_results(duckdb_con, nightly, whole)

    # the night closing December: its rows appended to the history, every stage copied whole
    for lake in (nightly, whole):
        _add_new_day(lake)
    copied.clear()
    refresh(lake=nightly, refresh_date=REFRESH_DATE + timedelta(days=1), con=duckdb_con)
    assert sorted(copied) == ["lifecycle", "next_purchases", "next_visits", "traits"]
    refresh(lake=whole, refresh_date=REFRESH_DATE + timedelta(days=1), con=duckdb_con, full=True,
            models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole)


def test_a_360_update_failing_midway_leaves_last_nights_file(synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    """The night's update of the 360 file fails after some tables were updated: the refresh
    fails, the file in place is last night's, whole and readable, and no staged copy is left; the
    night run again updates it."""
    nightly = _copy(synthetic_lake, tmp_path / "nightly")
    refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    last_night = customer_view_tables(nightly)
    whole = _copy(nightly, tmp_path / "whole")
    customer = int(last_night["baskets"].customer_id.iloc[0])
    shown = customer_results(customer, nightly)

    copy = customer_view._copy_merged

    def failing(con, folder, table, *args):
        if table == "next_purchases":  # the in-place tables are updated by then
            raise OSError("disk full")
        return copy(con, folder, table, *args)

    _add_new_day(nightly)
    with monkeypatch.context() as patched:
        patched.setattr(customer_view, "_copy_merged", failing)
        with pytest.raises(OSError, match="disk full"):
            refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con)
    views = nightly / "results"
    assert [p.name for p in views.glob("*.duckdb*")] == [VIEW_FILE]
    after = customer_view_tables(nightly)
    assert sorted(after) == sorted(last_night)
    for table, frame in last_night.items():
        assert after[table].equals(frame), table
    assert customer_results(customer, nightly) == shown

    # run again, the night resumes after its last step and writes the file
    refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con)
    _add_new_day(whole)
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole)


def test_a_360_file_grown_past_its_bound_is_written_whole(synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    nightly = _copy(synthetic_lake, tmp_path / "nightly")
    refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    monkeypatch.setattr(customer_view, "GROWTH", 0.5)
    monkeypatch.setattr(customer_view, "GROWTH_BYTES", 0)
    copied = _copied_whole(monkeypatch)
    _add_new_day(nightly)
    refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con)
    assert sorted(copied) == sorted(CUSTOMER_TABLES)


#: The products of the ranks test: VEGETABLES, BEEF, CAT FOOD (the shelf's), and PET TOYS, listed
#: but bought by nobody before the new day.
VEGETABLES, BEEF, CAT_FOOD, PET_TOYS = 3, 7, 6, 10
#: New customers of the ranks test (see `_spends_that_tie_leave_and_begin`).
JOINS_TIE, TIED_LOW, TIED_HIGH, LEAVES_TIE, STAYS, LEAVES_CATEGORY, FIRST, SECOND = range(91_101, 91_109)


def _spends_that_tie_leave_and_begin(lake: Path) -> None:
    """The synthetic lake with customers whose category spend, over the nights as of 2024-12-30
    and 2024-12-31, joins a tie, leaves one, leaves a category, or begins a category nobody bought:
    VEGETABLES: TIED_LOW and TIED_HIGH at 12.34, JOINS_TIE at 10.00, then 11.00 (the 30th), then
    12.34 (the 31st); BEEF: LEAVES_TIE and STAYS at 8.88, LEAVES_TIE at 9.88 on the 31st;
    CAT FOOD: LEAVES_CATEGORY's one line on 2024-01-01, leaving the window on the 31st; PET TOYS,
    listed and never bought: FIRST and SECOND at 4.00 on the 31st (a category of two tied buyers)."""
    _shelved(lake, PET_TOYS, "PET TOYS")
    rows = {"2024-01": [_line(LEAVES_CATEGORY, "R-L1", datetime(2024, 1, 1, 10), CAT_FOOD, "5.55")],
            "2024-03": [_line(TIED_LOW, "R-T1", datetime(2024, 3, 5, 10), VEGETABLES, "12.34"),
                        _line(JOINS_TIE, "R-J1", datetime(2024, 3, 6, 10), VEGETABLES, "10.00")],
            "2024-04": [_line(TIED_HIGH, "R-T2", datetime(2024, 4, 5, 10), VEGETABLES, "12.34")],
            "2024-05": [_line(LEAVES_TIE, "R-B1", datetime(2024, 5, 5, 10), BEEF, "8.88"),
                        _line(STAYS, "R-B2", datetime(2024, 5, 6, 10), BEEF, "8.88")],
            "2024-06": [_line(LEAVES_CATEGORY, "R-L2", datetime(2024, 6, 1, 10), VEGETABLES, "3.00"),
                        _line(FIRST, "R-F1", datetime(2024, 6, 2, 10), VEGETABLES, "2.00")],
            "2024-12": [_line(JOINS_TIE, "R-J2", datetime(2024, 12, 30, 10), VEGETABLES, "1.00")]}
    for month, lines in rows.items():
        _append(lake / "basket_lines" / f"month={month}" / "part-0.parquet", lines)
    new_day = datetime(2024, 12, 31, 11)
    _append(lake.parent / "new-day.parquet", [
        _line(JOINS_TIE, "R-J3", new_day, VEGETABLES, "1.34"),
        _line(LEAVES_TIE, "R-B3", new_day, BEEF, "1.00"),
        _line(FIRST, "R-F2", new_day, PET_TOYS, "4.00"),
        _line(SECOND, "R-S1", new_day, PET_TOYS, "4.00"),
    ])


def _shown_ranks(lake: Path, customer: int) -> dict[str, tuple[int, str]]:
    """The customer's categories on the 360 page: category -> (rank, level)."""
    return {row["category"]: (row["category_rank"], row["category_level"])
            for row in customer_results(customer, lake)["category_pyramid"]}


def test_a_night_moves_the_360_ranks_of_the_spends_that_changed_as_a_full_refresh_counts_them(
        synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    """Two nights update category_pyramid's rows in the 360 file in place, and its ranks ahead with
    them (decision 0132), while customers join a tie of spend, leave one, leave a category, and
    begin a category nobody bought before: the file equals the full refresh's, the ranks ahead
    (buyers ahead, ids tied) included, and the page shows the ranks `read_result` computes."""
    _spends_that_tie_leave_and_begin(synthetic_lake)
    nightly = _copy(synthetic_lake, tmp_path / "nightly")
    refresh(lake=nightly, as_of=date(2024, 12, 29), refresh_date=REFRESH_DATE - timedelta(days=2), con=duckdb_con)
    copied = _copied_whole(monkeypatch)
    assert refresh(lake=nightly, as_of=date(2024, 12, 30), refresh_date=REFRESH_DATE - timedelta(days=1),
                   con=duckdb_con).mode == "incremental from 2024-12-29"
    whole = _copy(nightly, tmp_path / "whole")
    _add_new_day(nightly)
    assert refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con).mode == "incremental from 2024-12-30"
    assert "category_pyramid" not in copied  # updated in place both nights
    _add_new_day(whole)
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, restart=True, models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole)

    pyramid = read_result(duckdb_con, "category_pyramid", nightly)
    customers = [JOINS_TIE, TIED_LOW, TIED_HIGH, LEAVES_TIE, STAYS, LEAVES_CATEGORY, FIRST, SECOND]
    read = {(row["customer_id"], row["category"]): row["category_rank"] for row in
            pyramid.filter(pyramid.customer_id.isin(customers)).to_pyarrow().to_pylist()}
    shown = {customer: _shown_ranks(nightly, customer) for customer in customers}
    for customer, categories in shown.items():
        for category, (rank, _) in categories.items():
            assert rank == read[(customer, category)], (customer, category)
    # three tied at 12.34 ranked by id, the tie of two left by one, a category left, one begun
    tied = [shown[customer]["VEGETABLES"][0] for customer in (JOINS_TIE, TIED_LOW, TIED_HIGH)]
    assert tied[1:] == [tied[0] + 1, tied[0] + 2]
    assert shown[LEAVES_TIE]["BEEF"][0] < shown[STAYS]["BEEF"][0]
    assert "CAT FOOD" not in shown[LEAVES_CATEGORY] and "VEGETABLES" in shown[LEAVES_CATEGORY]
    assert shown[FIRST]["PET TOYS"] == (1, "small") and shown[SECOND]["PET TOYS"] == (2, "small")


def test_a_night_after_a_360_file_without_brand_loyaltys_keys_follows_them_when_none_was_copied(
        synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    """A 360 file written before the file kept brand_loyalty's delta keys (decision 0142): the
    night after a refresh that copied no delta of it (a full refresh) updates it by key, from
    tonight's delta alone, and the file equals the full refresh's; after a night that copied one
    (its customers named) the night updates it by customer, as before; the rows counted in the
    file equal the full refresh's."""
    nightly = _copy(synthetic_lake, tmp_path / "nightly")
    refresh(lake=nightly, as_of=date(2024, 12, 28), refresh_date=REFRESH_DATE - timedelta(days=2), con=duckdb_con)

    def without_keys() -> None:
        with duckdb.connect(str(nightly / "results" / VIEW_FILE)) as con:
            con.execute(f"DROP TABLE {customer_view.BY_KEY['brand_loyalty'][1]}")

    without_keys()
    by_key = []
    update = customer_view._update_by_key

    def recorded(*args):
        found = update(*args)
        by_key.append((args[-1], found))
        return found

    monkeypatch.setattr(customer_view, "_update_by_key", recorded)
    for day, refresh_date in ((29, REFRESH_DATE - timedelta(days=1)), (30, REFRESH_DATE)):
        if day == 30:
            without_keys()  # last night's delta named customers: not followed by key
        whole = _copy(nightly, tmp_path / f"whole-{day}")
        by_key.clear()
        night = refresh(lake=nightly, as_of=date(2024, 12, day), refresh_date=refresh_date, con=duckdb_con)
        assert night.mode == f"incremental from 2024-12-{day - 1}"
        assert by_key == [("brand_loyalty", day == 29), ("category_pyramid", True)]
        full = refresh(lake=whole, as_of=date(2024, 12, day), refresh_date=refresh_date, con=duckdb_con,
                       restart=True, models=_kept_models(nightly))
        assert night.rows == full.rows
        assert_same_results(duckdb_con, nightly, whole)
