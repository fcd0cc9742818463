"""The incremental refresh: a new day rolled into the kept state gives every result table of a full
refresh, exactly; the lake's own changes (a late import, a rewritten month, a merge) make the state
of the customers concerned recompute."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from clientele import refresh_state as kept_state
from clientele.forecasting import nightly
from clientele.forecasting.next_purchase import cycles_from_sums, decay_epoch
from clientele.analytics.category_ranks import RANKS_AHEAD
from clientele.analytics.customer_view import CUSTOMER_TABLES, VIEW_FILE
from clientele.analytics.results import read_result
from clientele.lake.reader import read_table
from clientele.lake.schema import PROFILING_REFUSAL_SCHEMA, PROFILING_REFUSALS
from clientele.lake.synth import synthesize
from clientele import refresh as refreshing
from clientele.refresh import STEPS, RefreshOptions, RefreshResult, refresh

REFRESH_DATE = date(2025, 3, 1)
MONTH = "month=2024-12"
#: The tables scored with fitted models (kept between refits): the next-purchase calibration's
#: and the per-customer forecasts' (and value, profiles and lists, made from them).
FITTED = ("forecasts", "value", "customer_profiles", "next_purchases", "next_categories", "list_candidates")


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory, lake_builder_factory) -> Path:
    """A synthetic lake of 400 customers over 2024 (lake.synth), its last day (2024-12-31) split off
    into a file of its own beside it: the new day a nightly import appends to the month partition.
    Made once per module; a test changes a copy of it (`synthetic_lake`)."""
    folder = tmp_path_factory.mktemp("synthesized")
    shelf = lake_builder_factory(folder / "shelf").build()  # the test products, no lines
    lake = folder / "synthetic"
    synthesize(lake, customers=400, lines=60_000, products_file=shelf / "products" / "products.parquet",
               months=12, first_month=date(2024, 1, 1), seed=7)
    month = lake / "basket_lines" / MONTH
    lines = pq.read_table(month / "part-0.parquet")
    last = pc.greater_equal(lines["transaction_ts"], pa.scalar(pd.Timestamp("2024-12-31"), pa.timestamp("us")))
    pq.write_table(lines.filter(pc.invert(last)), month / "part-0.parquet")
    pq.write_table(lines.filter(last), folder / "new-day.parquet")
    return lake


@pytest.fixture
def synthetic_lake(synthesized, tmp_path) -> Path:
    """The test's own copy of the synthetic lake (`synthesized`), its new day beside it."""
    return _copy(synthesized, tmp_path / "synthetic")


@pytest.fixture(scope="module")
def refreshed_day_before(synthesized, duckdb_con, tmp_path_factory) -> tuple[Path, RefreshResult]:
    """The synthetic lake refreshed in full up to the day before the new one (as of 2024-12-30,
    stamped REFRESH_DATE - 1 day), and what that refresh did: the first refresh of several tests,
    made once per module; each test refreshes a copy of it (`_copy`), as each made its own before
    (decision 0138)."""
    lake = _copy(synthesized, tmp_path_factory.mktemp("day-before") / "synthetic")
    return lake, refresh(lake=lake, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)


def _copy(lake: Path, to: Path) -> Path:
    """A copy of `lake` at `to`, the new day's file beside it (what `_add_new_day` adds)."""
    shutil.copytree(lake, to)
    if not (to.parent / "new-day.parquet").exists():
        shutil.copyfile(lake.parent / "new-day.parquet", to.parent / "new-day.parquet")
    return to


def _add_new_day(lake: Path) -> None:
    shutil.copyfile(lake.parent / "new-day.parquet", lake / "basket_lines" / MONTH / "import-new-day-0.parquet")


def _models(lake: Path) -> dict:
    return json.loads((lake / "results" / "_state" / "models.json").read_text())


def _kept_models(lake: Path) -> Path:
    """The folder of the fitted models `lake`'s last refresh kept."""
    return lake / "results" / "_state"


def assert_same_results(con, got: Path, expected: Path, tables=STEPS, same_engine: bool = True) -> None:
    """Every result table of the two refreshes holds the same rows, to the last bit and with the
    same column types; from two engines, as the parity test compares them (floats to a relative
    1e-5: a window's running float sum is added in another order by each engine)."""
    for table in tables:
        frames = [read_result(con, table, lake).to_pandas() for lake in (got, expected)]
        columns = list(frames[1].columns)
        assert sorted(frames[0].columns) == sorted(columns), table
        ordered = [f[columns].sort_values(columns, na_position="first").reset_index(drop=True) for f in frames]
        pd.testing.assert_frame_equal(ordered[0], ordered[1], check_exact=same_engine, check_dtype=same_engine,
                                      obj=table)
    if same_engine:
        assert_same_customer_view(got, expected, [t for t in CUSTOMER_TABLES if t in tables])


def customer_view_tables(lake: Path) -> dict[str, pd.DataFrame]:
    """Every table of the lake's customer-360 file (CUSTOMER_TABLES and the ranks ahead), its rows
    sorted on every column (the ranks' lists of tied ids sorted, as text: sets of ids)."""
    with duckdb.connect(str(lake / "results" / VIEW_FILE), read_only=True) as con:
        names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        frames = {name: con.execute(f"SELECT * FROM {name}").df() for name in names if name in CUSTOMER_TABLES}
        if RANKS_AHEAD in names:
            frames[RANKS_AHEAD] = con.execute(
                f"SELECT * REPLACE (list_sort(tied)::VARCHAR AS tied) FROM {RANKS_AHEAD}").df()
    return {name: frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)
            for name, frame in frames.items()}


def assert_same_customer_view(got: Path, expected: Path, tables=tuple(CUSTOMER_TABLES)) -> None:
    """The two lakes' customer-360 files hold the same rows in `tables`, to the last bit (a night
    updates its file in place, a full refresh writes it whole: decisions 0130 and 0132), and, with
    category_pyramid, in its ranks ahead (the buyers ahead of every spend, the ids tied at it)."""
    views = [customer_view_tables(lake) for lake in (got, expected)]
    assert sorted(views[0]) == sorted(views[1])
    for table in [*tables, *([RANKS_AHEAD] if "category_pyramid" in tables else [])]:
        if table in views[1]:
            pd.testing.assert_frame_equal(views[0][table], views[1][table], check_exact=True, obj=f"360 {table}")



def _copy_without_the_last_two_days(lake: Path, to: Path) -> tuple[Path, pa.Table]:
    """A copy of `lake` whose month partition lacks its lines from 2024-12-30 on, and those lines
    (the day before the new day, which a test imports back)."""
    nightly = _copy(lake, to)
    month = nightly / "basket_lines" / MONTH
    lines = pq.read_table(month / "part-0.parquet")
    day_before = pc.greater_equal(lines["transaction_ts"], pa.scalar(pd.Timestamp("2024-12-30"), pa.timestamp("us")))
    pq.write_table(lines.filter(pc.invert(day_before)), month / "part-0.parquet")
    return nightly, lines.filter(day_before)

def test_a_new_day_rolled_in_gives_every_table_of_the_full_refresh(
        refreshed_day_before, duckdb_con, tmp_path, monkeypatch):
    from clientele.forecasting import churn

    day_before, first = refreshed_day_before
    nightly = _copy(day_before, tmp_path / "nightly")
    assert first.as_of == date(2024, 12, 30) and first.mode.startswith("full")
    # the same lake and the same refresh of the day before (refresh_flows compares with it)
    whole = _copy(nightly, tmp_path / "whole")
    _add_new_day(nightly)
    with monkeypatch.context() as patched:  # the forecasts read the kept purchase history (decision 0133)
        patched.setattr(churn, "history_features", _not_called("history_features"))
        # the kept models' files are copied, not serialised again (decision 0140)
        patched.setattr(kept_state, "save_models", _not_called("save_models"))
        second = refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con)
    assert second.as_of == date(2024, 12, 31) and second.mode == "incremental from 2024-12-30"
    # the models were kept from the day before (refitted every 7 days), their files as they were
    kept = _models(nightly)
    assert kept["fitted_as_of"] == "2024-12-30" and kept["calibration"] is not None
    for name in (kept_state.MODELS, kept_state.FORECAST_MODELS):
        assert (_kept_models(nightly) / name).read_bytes() == (_kept_models(day_before) / name).read_bytes()

    _add_new_day(whole)
    full = refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(nightly))
    assert full.mode == "full (asked)"
    # the rows counted from the files' footers and the 360 file (decision 0142) are the tables' rows
    assert second.rows == full.rows == {t: read_result(duckdb_con, t, nightly).count().execute() for t in STEPS}
    assert_same_results(duckdb_con, nightly, whole)
    # the full refresh scores the pairs within reach alone (decision 0143), not every pair
    assert_every_pair_scored_gives_the_same_cut(duckdb_con, whole, full)

    # a full refresh fits its own models: only the tables scored with them may move
    refitted = _copy(whole, tmp_path / "refitted")
    fitted = refresh(lake=refitted, refresh_date=REFRESH_DATE, con=duckdb_con, restart=True)
    assert _models(refitted)["fitted_as_of"] == "2024-12-31"
    assert_same_results(duckdb_con, nightly, refitted, tables=[t for t in STEPS if t not in FITTED])
    assert_every_pair_scored_gives_the_same_cut(duckdb_con, refitted, fitted)


def assert_every_pair_scored_gives_the_same_cut(con, lake: Path, done: RefreshResult) -> None:
    """A refresh scoring every pair (a full refresh) scored only those within the pair reach it
    kept (decision 0143), yet its next_purchases and next_categories are those of every pair of its
    kept purchase cycles scored with its kept models, row for row, to the last bit."""
    state = _kept_models(lake)
    pairs = read_table(con, "results/_state/product_cycles", lake)
    assert 0 < done.pairs_scored < pairs.count().execute()
    models = kept_state.load_models(state)
    cutoff = kept_state.cutoff(done.as_of)
    every_product = nightly.product_forecasts(
        None, done.as_of, RefreshOptions().forecast, cycles=cycles_from_sums(pairs, cutoff),
        visit_cycles=cycles_from_sums(read_table(con, "results/_state/visit_cycles", lake), cutoff),
        calibration=models["calibration"], priors=models["priors"])
    products = read_table(con, "products", lake)
    for table, expected in (
            ("next_purchases", nightly.next_purchases(None, done.as_of, every_product=every_product)),
            ("next_categories", nightly.next_categories(None, products, done.as_of, every_product=every_product))):
        frames = [read_result(con, table, lake).drop("refresh_date").to_pandas(), expected.to_pandas()]
        columns = list(frames[1].columns)
        assert sorted(frames[0].columns) == sorted(columns), table
        assert len(frames[1]) > 0, table
        ordered = [f[columns].sort_values(columns).reset_index(drop=True) for f in frames]
        pd.testing.assert_frame_equal(ordered[0], ordered[1], check_exact=True, obj=table)


def test_two_nights_write_only_the_pairs_they_touch_and_give_the_full_refresh(
        synthetic_lake, refreshed_day_before, duckdb_con, tmp_path, monkeypatch):
    """The purchase cycles and the category sums are kept as a base and a delta: a night writes the
    delta alone (the pairs bought since the base, the customer x category keys entering or leaving
    the window, rolled), the next night rolls base and delta forward, and the base is rewritten
    once it is `refit_days` old; every night gives the full refresh's tables."""
    nightly, taken = _copy_without_the_last_two_days(synthetic_lake, tmp_path / "nightly")
    refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=3), con=duckdb_con)
    state = nightly / "results" / "_state"
    base = sorted((state / "product_cycles").rglob("*.parquet"))
    base_rows = pq.read_table(base).num_rows
    # the base in customer order (decision 0129: the nights' reads of it cost less)
    customers = pq.read_table(base, columns=["customer_id"])["customer_id"].to_pylist()
    assert customers == sorted(customers) and len(set(customers)) > 1
    sums_base = sorted((state / "category_sums").rglob("*.parquet"))
    sums_rows = pq.read_table(sums_base).num_rows
    assert not (state / "product_cycles_delta").exists() and not (state / "category_sums_delta").exists()
    spend_base = sorted((nightly / "results" / "category_spend").rglob("*.parquet"))
    spend_times = [p.stat().st_mtime_ns for p in spend_base]
    pyramid_times = [p.stat().st_mtime_ns for p in sorted((nightly / "results" / "category_pyramid").rglob("*.parquet"))]
    assert not (nightly / "results" / "_delta" / "category_spend").exists()
    # a night without a new line: nothing touched, an empty delta
    assert refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=2), con=duckdb_con).mode == \
        "incremental from 2024-12-29"
    assert pq.read_table(state / "product_cycles_delta").num_rows == 0
    assert pq.read_table(state / "category_sums_delta").num_rows == 0

    pq.write_table(taken, nightly / "basket_lines" / MONTH / "import-day-before-0.parquet")
    monkeypatch.setattr(refreshing, "MARGIN_DELTA_SHARE", 1.0)  # the margins' delta kept over both nights
    assert refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con).mode.startswith("incr")
    first_delta = pq.read_table(state / "product_cycles_delta").num_rows
    _add_new_day(nightly)
    night = refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con)
    # customer_margin: the rows of the customers with a line on either night, a delta (decision 0137)
    bought = pa.concat_tables([taken, pq.read_table(tmp_path / "new-day.parquet")])
    margins = pq.read_table(nightly / "results" / "_delta" / "customer_margin")
    assert sorted(margins["customer_id"].to_pylist()) == sorted(
        pc.unique(pc.drop_null(bought["customer_id"])).to_pylist())
    assert night.mode == "incremental from 2024-12-30"
    # a night between refits: the pairs picked from the base and the delta (decisions 0122, 0129), not all
    assert 0 < night.pairs_scored < base_rows
    # the base is the first night's file, untouched; the delta holds both nights' pairs, a few of the base's
    assert sorted((state / "product_cycles").rglob("*.parquet")) == base
    assert [p.stat().st_mtime_ns for p in base] == [p.stat().st_mtime_ns for p in sorted(
        (state / "product_cycles").rglob("*.parquet"))]
    delta_rows = pq.read_table(state / "product_cycles_delta").num_rows
    assert first_delta < delta_rows < base_rows / 10
    # the category sums: the base untouched, the delta the keys of the days entering and leaving,
    # a key whose lines all left the window as a row of zero lines
    assert [p.stat().st_mtime_ns for p in sums_base] == [p.stat().st_mtime_ns for p in sorted(
        (state / "category_sums").rglob("*.parquet"))]
    sums_delta = pq.read_table(state / "category_sums_delta")
    assert 0 < sums_delta.num_rows < sums_rows / 10
    assert pc.min(sums_delta["lines"]).as_py() == 0
    # the category_spend result likewise: its base the first night's file, the night's delta the
    # sums' delta named, the keys gone as tombstones; read merged, stamped with the night's date
    assert [p.stat().st_mtime_ns for p in sorted((nightly / "results" / "category_spend").rglob("*.parquet"))] == \
        spend_times
    spend_delta = pq.read_table(nightly / "results" / "_delta" / "category_spend")
    assert spend_delta.num_rows == sums_delta.num_rows
    assert pc.sum(spend_delta["_gone"]).as_py() == pc.sum(pc.equal(sums_delta["lines"], 0)).as_py() > 0
    spend = read_result(duckdb_con, "category_spend", nightly)
    assert spend.select("refresh_date").distinct().to_pyarrow()["refresh_date"].to_pylist() == [REFRESH_DATE]
    # brand_loyalty too: the touched keys and the rows whose usage moved with a tercile's bound
    cells_delta = pq.read_table(nightly / "results" / "_delta" / "brand_loyalty")
    assert spend_delta.num_rows <= cells_delta.num_rows < sums_rows / 5
    # category_pyramid's levels likewise (decision 0128): its base untouched, the delta the touched
    # keys and the rows near a cut that moved, no rank stored (read_result computes it)
    assert [p.stat().st_mtime_ns for p in sorted((nightly / "results" / "category_pyramid").rglob("*.parquet"))] == \
        pyramid_times
    pyramid_delta = pq.read_table(nightly / "results" / "_delta" / "category_pyramid")
    assert spend_delta.num_rows <= pyramid_delta.num_rows < sums_rows / 5
    assert "category_rank" not in pyramid_delta.column_names
    assert "category_rank" in read_result(duckdb_con, "category_pyramid", nightly).columns

    whole = _copy(refreshed_day_before[0], tmp_path / "whole")
    _add_new_day(whole)
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole)

    # a week after the base, the night rewrites it whole and keeps no delta; the results are the same
    compacted = _copy(nightly, tmp_path / "compacted")
    (compacted / "results" / "_refresh.json").unlink()  # not a resumed refresh: a night of no new line
    watermark = json.loads((compacted / "results" / "_state" / "watermark.json").read_text())
    watermark["product_cycles"]["base_as_of"] = watermark["category_sums"]["base_as_of"] = "2024-12-23"
    (compacted / "results" / "_state" / "watermark.json").write_text(json.dumps(watermark))
    assert refresh(lake=compacted, refresh_date=REFRESH_DATE, con=duckdb_con,
                   models=_kept_models(nightly)).mode == "incremental from 2024-12-31"
    assert not (compacted / "results" / "_state" / "product_cycles_delta").exists()
    assert not (compacted / "results" / "_state" / "category_sums_delta").exists()
    assert not (compacted / "results" / "_delta" / "category_spend").exists()
    assert not (compacted / "results" / "_delta" / "brand_loyalty").exists()
    assert not (compacted / "results" / "_delta" / "category_pyramid").exists()
    assert pq.read_table(compacted / "results" / "_state" / "product_cycles").num_rows > base_rows
    assert_same_results(duckdb_con, compacted, whole)


@pytest.fixture(scope="module")
def refreshed_and_kept(synthesized, duckdb_con, tmp_path_factory) -> Path:
    """The lake refreshed on two nights: the first in full, the second (the new day) incremental,
    so the state a test changes the lake under was itself rolled. Made once per module; each test
    changes a copy of it (decision 0138)."""
    lake = _copy(synthesized, tmp_path_factory.mktemp("kept") / "lake")
    refresh(lake=lake, refresh_date=REFRESH_DATE - timedelta(days=2), con=duckdb_con)
    _add_new_day(lake)
    assert refresh(lake=lake, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con).mode.startswith("incr")
    assert (lake / "results" / "_delta" / "category_spend").exists()  # a delta on the first night's base
    assert (lake / "results" / "_delta" / "category_pyramid").exists()
    return lake


def _incremental_against_full(duckdb_con, lake: Path, tmp_path: Path) -> str:
    """Refresh `lake` (incremental, from its kept state) and a copy of it in full, with the same
    fitted parameters; assert they give the same results; the incremental refresh's mode."""
    whole = _copy(lake, tmp_path / "whole")
    mode = refresh(lake=lake, refresh_date=REFRESH_DATE, con=duckdb_con).mode
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(lake))
    assert_same_results(duckdb_con, lake, whole)
    return mode


def test_a_night_writes_again_only_the_baskets_files_of_the_months_it_touched(refreshed_day_before, duckdb_con,
                                                                              tmp_path):
    """The baskets are one file per basket month (decision 0137): a night writes the files of the
    months of the baskets with a line in a month partition it read again, and keeps the others
    (their rows read with the night's date)."""
    nightly = _copy(refreshed_day_before[0], tmp_path / "nightly")
    folder = nightly / "results" / "baskets"
    before = {f.name: f.stat().st_ino for f in folder.glob("*.parquet")}
    assert sorted(before) == [f"month-2024-{month:02d}.parquet" for month in range(1, 13)]
    _add_new_day(nightly)
    assert refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con).mode == "incremental from 2024-12-30"
    after = {f.name: f.stat().st_ino for f in folder.glob("*.parquet")}
    assert sorted(after) == sorted(before)
    assert [name for name in sorted(after) if after[name] != before[name]] == ["month-2024-12.parquet"]
    read = read_result(duckdb_con, "baskets", nightly)
    assert [str(day)[:10] for day in read.refresh_date.to_pyarrow().unique().to_pylist()] == [str(REFRESH_DATE)]
    assert str(read.basket_date.max().execute())[:10] == "2024-12-31"


def test_a_late_import_of_old_days_recomputes_the_state_it_touches(refreshed_and_kept, duckdb_con, tmp_path):
    lake = _copy(refreshed_and_kept, tmp_path / "lake")
    # baskets of March found late: customer 3 (known) and 9,999 (new) bought on 2024-03-10
    march = pq.read_table(lake / "basket_lines" / "month=2024-03" / "part-0.parquet")
    late = march.slice(0, 6).to_pylist()
    for i, row in enumerate(late):
        row.update(basket_id=f"LATE-{i // 3}", customer_id=3 if i < 3 else 9_999,
                   transaction_ts=pd.Timestamp("2024-03-10 11:00").to_pydatetime())
    pq.write_table(pa.Table.from_pylist(late, schema=march.schema),
                   lake / "basket_lines" / "month=2024-03" / "import-late-0.parquet")
    mode = _incremental_against_full(duckdb_con, lake, tmp_path)
    assert mode == "incremental from 2024-12-31; months rewritten before it: month=2024-03"
    baskets = read_table(duckdb_con, "results/baskets", lake)
    assert baskets.filter(baskets.basket_id.startswith("LATE")).count().execute() == 2
    # the category sums' base rewritten: the pyramid's levels too, whole, customer 9,999 among them
    assert not (lake / "results" / "_delta" / "category_pyramid").exists()
    pyramid = read_result(duckdb_con, "category_pyramid", lake)
    assert pyramid.filter(pyramid.customer_id == 9_999).count().execute() > 0


def test_an_erasure_rewriting_a_month_recomputes_the_state_it_touches(refreshed_and_kept, duckdb_con, tmp_path):
    lake = _copy(refreshed_and_kept, tmp_path / "lake")
    path = lake / "basket_lines" / "month=2024-11" / "part-0.parquet"
    lines = pq.read_table(path)
    gone = int(lines["customer_id"][0].as_py())
    pq.write_table(lines.filter(pc.invert(pc.equal(lines["customer_id"], gone))), path)
    mode = _incremental_against_full(duckdb_con, lake, tmp_path)
    assert mode == "incremental from 2024-12-31; months rewritten before it: month=2024-11"
    # the sums' base rewritten, the result is too, with no delta; the erased customer's November gone
    assert not (lake / "results" / "_delta" / "category_spend").exists()
    assert not (lake / "results" / "_delta" / "category_pyramid").exists()


def test_a_merge_of_two_customers_recomputes_both(refreshed_and_kept, duckdb_con, tmp_path):
    lake = _copy(refreshed_and_kept, tmp_path / "lake")
    profiles = read_table(duckdb_con, "results/customer_profiles", lake)
    before = profiles.count().execute()
    (lake / "golden_ids").mkdir()
    pq.write_table(pa.table({"customer_id": pa.array([5], pa.int64()), "golden_customer_id": pa.array([7], pa.int64())}),
                   lake / "golden_ids" / "golden_ids.parquet")
    mode = _incremental_against_full(duckdb_con, lake, tmp_path)
    assert mode == "incremental from 2024-12-31; golden ids changed"
    profiles = read_table(duckdb_con, "results/customer_profiles", lake)
    assert profiles.count().execute() == before - 1
    assert profiles.filter(profiles.customer_id == 5).count().execute() == 0
    assert not (lake / "results" / "_delta" / "category_spend").exists()  # written whole
    spend = read_result(duckdb_con, "category_spend", lake)
    assert spend.filter(spend.customer_id == 5).count().execute() == 0
    assert spend.filter(spend.customer_id == 7).count().execute() > 0
    assert not (lake / "results" / "_delta" / "category_pyramid").exists()
    pyramid = read_result(duckdb_con, "category_pyramid", lake)
    assert pyramid.filter(pyramid.customer_id == 5).count().execute() == 0


@pytest.mark.spark
def test_a_new_day_rolled_in_on_spark_gives_duckdbs_results(synthetic_lake, duckdb_con, tmp_path, gathering_per_step):
    """The state is rolled by the same Ibis code on Spark: its incremental night equals DuckDB's
    full refresh of the same days (the tables the parity test compares, and the baskets). Neither
    the full refresh nor the night moves all its rows into one partition in any query (decision
    0075), on a lake of 400 synthetic customers (the parity test's has 30)."""
    from clientele.engine import connect

    spark = connect("spark")
    nightly = _copy(synthetic_lake, tmp_path / "nightly")
    with gathering_per_step(spark) as first:
        refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=1), con=spark)
    whole = _copy(nightly, tmp_path / "whole")
    _add_new_day(nightly)
    with gathering_per_step(spark) as night:
        assert refresh(lake=nightly, refresh_date=REFRESH_DATE, con=spark).mode == "incremental from 2024-12-30"
    assert set(STEPS) <= set(first) and {step: found for step, found in first.items() if found} == {}
    assert {step: found for step, found in night.items() if found} == {}
    _add_new_day(whole)
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole, tables=[
        "baskets", "rfm", "pyramid", "value", "lifecycle", "brand_loyalty", "deal_proneness", "traits",
        "year_over_year", "customer_profiles", "list_candidates", "complementary_categories", "category_pyramid"],
        same_engine=False)


def test_a_night_past_the_decayed_counts_epoch_recomputes_the_whole_state(duckdb_con, tmp_path):
    """The purchase cycles' decayed counts are sums of weights from an epoch that moves every
    `DECAY_BLOCK_DAYS` (2029-06-09 is the first day of a block): the night whose lines reach into a
    new block recomputes the state, the nights before it roll it forward."""
    fingerprint = {"months": {}, "products": [], "golden_ids": []}

    def planned(kept_as_of: date, as_of: date) -> kept_state.Plan:
        old = {"format": kept_state.FORMAT, "rules": "rules", "fingerprint": fingerprint,
               "as_of": kept_as_of.isoformat(), "months": {}}
        return kept_state.plan(duckdb_con, tmp_path, old, fingerprint, as_of, "rules")

    assert decay_epoch(date(2029, 6, 9)) == date(2029, 6, 9) > decay_epoch(date(2029, 6, 8))
    assert planned(date(2029, 6, 6), date(2029, 6, 7)).mode == "incremental"
    crossing = planned(date(2029, 6, 7), date(2029, 6, 8))
    assert crossing.mode == "full" and "epoch" in crossing.reason


@pytest.mark.parametrize("edge", ["first", "last"])
def test_a_basket_across_an_edge_of_the_window_is_counted_as_a_full_refresh_counts_it(
        synthetic_lake, duckdb_con, tmp_path, edge):
    """The complementary categories roll the window's basket counts by the days entering and
    leaving it; a basket on both sides of midnight at an edge of the window (its lines in the
    window change without its entering or leaving whole) makes the night count the window
    again: the same results as a full refresh (decision 0117)."""
    if edge == "last":  # a basket of 2024-12-30 with a line more just after midnight: the new day
        path, day = synthetic_lake.parent / "new-day.parquet", "2024-12-30"
        lines = pq.read_table(synthetic_lake / "basket_lines" / MONTH / "part-0.parquet")
    else:  # a basket of 2024-01-01 (the day leaving the window) with a line more the day after
        path, day = synthetic_lake / "basket_lines" / "month=2024-01" / "part-0.parquet", "2024-01-01"
        lines = pq.read_table(path)
    start = pd.Timestamp(day)
    at = lines["transaction_ts"]
    on_day = lines.filter(pc.and_(pc.greater_equal(at, pa.scalar(start, at.type)),
                                  pc.less(at, pa.scalar(start + pd.Timedelta(days=1), at.type))))
    on_day = on_day.filter(pc.is_valid(on_day["customer_id"]))
    row = on_day.slice(0, 1).to_pylist()[0]
    row["transaction_ts"] = (start + pd.Timedelta(days=1, minutes=5)).to_pydatetime()
    kept = pq.read_table(path)
    pq.write_table(pa.concat_tables([kept, pa.Table.from_pylist([row], schema=kept.schema)]), path)

    _night_against_full(duckdb_con, _copy(synthetic_lake, tmp_path / "nightly"), tmp_path)


def _night_against_full(duckdb_con, nightly: Path, tmp_path: Path, between=None,
                        mode: str = "incremental from 2024-12-30", refreshed: bool = False) -> None:
    """Refresh `nightly` up to the day before the new one (in full; `refreshed`: it is already),
    change it by `between`, add the new day and refresh it (`mode`: incremental); a copy refreshed
    in full with the same fitted models gives the same tables."""
    if not refreshed:
        refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    if between:
        between(nightly)
    whole = _copy(nightly, tmp_path / "whole")
    _add_new_day(nightly)
    assert refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con).mode == mode
    _add_new_day(whole)
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole)


def test_a_refusal_of_profiling_between_two_nights_gives_the_full_refreshs_tables(
        refreshed_day_before, duckdb_con, tmp_path):
    """A customer who refuses profiling leaves every result the next night, the kept window's
    basket counts of the complementary categories too (they are counted again without them)."""
    nightly = _copy(refreshed_day_before[0], tmp_path / "nightly")
    lines = pq.read_table(nightly / "basket_lines" / MONTH / "part-0.parquet")
    refused = int(pc.mode(pc.drop_null(lines["customer_id"]))[0]["mode"].as_py())  # the busiest customer

    def refuse(lake: Path) -> None:
        (lake / PROFILING_REFUSALS).mkdir()
        pq.write_table(pa.table({"customer_id": [refused]}, schema=PROFILING_REFUSAL_SCHEMA),
                       lake / PROFILING_REFUSALS / "part-0.parquet")

    _night_against_full(duckdb_con, nightly, tmp_path, between=refuse, refreshed=True)
    profiles = read_table(duckdb_con, "results/customer_profiles", nightly)
    assert profiles.filter(profiles.customer_id == refused).count().execute() == 0


def _not_called(name: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{name} computed from every basket on a night that follows the kept one")
    return fail


def _nights_against_full(duckdb_con, lake: Path, tmp_path: Path, first: date, second: date, monkeypatch,
                         not_called: tuple[str, ...] = ("lifecycle_history", "stage_flows")) -> None:
    """Refresh `lake` as of `first` (in full) and as of `second` (incremental), the second
    without computing the lifecycle history nor the stage flows over every basket or row
    (`not_called`: the analytics functions it must not call); a copy refreshed as of `second`
    in full with the same fitted models gives the same tables."""
    from clientele import analytics

    refresh(lake=lake, as_of=first, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    whole = _copy(lake, tmp_path / "whole")
    with monkeypatch.context() as patched:
        for name in not_called:
            patched.setattr(analytics, name, _not_called(name))
        night = refresh(lake=lake, as_of=second, refresh_date=REFRESH_DATE, con=duckdb_con)
    assert night.mode == f"incremental from {first}"
    refresh(lake=whole, as_of=second, refresh_date=REFRESH_DATE, con=duckdb_con, full=True,
            models=_kept_models(lake))
    assert_same_results(duckdb_con, lake, whole)


def _delta_rows(lake: Path, table: str) -> int | None:
    """The rows of `table`'s delta (None: it has none)."""
    folder = lake / "results" / "_delta" / table
    if not (folder / "_about.json").exists():
        return None
    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.rglob("*.parquet"))


def test_a_night_inside_a_month_keeps_the_lifecycle_history_and_the_untouched_top_categories(
        synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    """A night that closes no month keeps the last refresh's lifecycle history as it is, and the
    top categories of the customers none of whose lines entered or left the window (decision 0126)."""
    import clientele.refresh as refreshing

    seen: list[int] = []
    whole_top = refreshing.top_categories

    def counted(spend):
        seen.append(spend.customer_id.nunique().execute())
        return whole_top(spend)

    monkeypatch.setattr(refreshing, "top_categories", counted)
    lake = _copy(synthetic_lake, tmp_path / "nightly")
    _nights_against_full(duckdb_con, lake, tmp_path, date(2024, 12, 28), date(2024, 12, 29), monkeypatch,
                         ("lifecycle_history", "current_stage", "stage_flows"))
    # the full refreshes rank every customer's categories, the night only those its lines touched
    everyone, night = seen[0], seen[1]
    assert seen[2] == everyone and 0 < night < everyone / 2
    # the history and the stages are not written again (their files hold the full refresh's date);
    # their rows read carry the night's (decision 0136)
    for table in ("lifecycle_history", "lifecycle"):
        assert _delta_rows(lake, table) == 0
        written = read_table(duckdb_con, f"results/{table}", lake).refresh_date.max().execute()
        read = read_result(duckdb_con, table, lake).refresh_date
        assert str(written)[:10] == str(REFRESH_DATE - timedelta(days=1))
        assert [str(day)[:10] for day in read.to_pyarrow().unique().to_pylist()] == [str(REFRESH_DATE)]


def test_a_night_closing_a_month_adds_its_rows_to_the_lifecycle_history(
        synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    """The closed month's rows are written as a delta on the kept history (decision 0136), its
    flows added to the kept flows; the next night, inside a month, keeps both as they are; the
    next month's rows are added to the history written whole."""
    from clientele import analytics

    lake = _copy(synthetic_lake, tmp_path / "nightly")
    _nights_against_full(duckdb_con, lake, tmp_path, date(2024, 11, 29), date(2024, 11, 30), monkeypatch)
    history = read_result(duckdb_con, "lifecycle_history", lake)
    assert str(history.month.max().execute())[:10] == "2024-11-01"
    november = history.filter(history.month == date(2024, 11, 1)).count().execute()
    assert _delta_rows(lake, "lifecycle_history") == november > 0
    base = read_table(duckdb_con, "results/lifecycle_history", lake)
    assert str(base.month.max().execute())[:10] == "2024-10-01"

    for as_of, closes in ((date(2024, 12, 1), False), (date(2024, 12, 31), True)):
        shutil.rmtree(tmp_path / "whole")
        whole = _copy(lake, tmp_path / "whole")
        if closes:
            _add_new_day(lake)
            _add_new_day(whole)
        with monkeypatch.context() as patched:
            for name in ("lifecycle_history", "stage_flows", *(() if closes else ("current_stage",))):
                patched.setattr(analytics, name, _not_called(name))
            night = refresh(lake=lake, as_of=as_of, refresh_date=REFRESH_DATE + timedelta(days=as_of.day),
                            con=duckdb_con)
        assert night.mode.startswith("incremental")
        refresh(lake=whole, as_of=as_of, refresh_date=REFRESH_DATE + timedelta(days=as_of.day), con=duckdb_con,
                full=True, models=_kept_models(lake))
        assert_same_results(duckdb_con, lake, whole)
        # inside the month, November's rows stay a delta; December's are added to the whole table
        assert _delta_rows(lake, "lifecycle_history") == (None if closes else november)


def test_a_basket_begun_in_a_closed_month_and_grown_since_recomputes_the_lifecycle_history(
        synthetic_lake, duckdb_con, tmp_path):
    """A line after the kept day in a basket begun in a month the kept history holds (a basket
    across midnight at the month's end) changes that month's spend: the night computes the
    history from every basket, as the full refresh does."""
    lake = _copy(synthetic_lake, tmp_path / "nightly")
    path = lake / "basket_lines" / "month=2024-11" / "part-0.parquet"
    lines = pq.read_table(path)
    at = lines["transaction_ts"]
    last_day = lines.filter(pc.and_(pc.greater_equal(at, pa.scalar(pd.Timestamp("2024-11-30"), at.type)),
                                    pc.is_valid(lines["customer_id"])))
    row = last_day.slice(0, 1).to_pylist()[0]
    row["transaction_ts"] = pd.Timestamp("2024-12-01 00:05").to_pydatetime()
    december = lake / "basket_lines" / MONTH / "part-0.parquet"
    kept = pq.read_table(december)
    pq.write_table(pa.concat_tables([kept, pa.Table.from_pylist([row], schema=kept.schema)]), december)

    refresh(lake=lake, as_of=date(2024, 11, 30), refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    whole = _copy(lake, tmp_path / "whole")
    assert refresh(lake=lake, as_of=date(2024, 12, 1), refresh_date=REFRESH_DATE,
                   con=duckdb_con).mode == "incremental from 2024-11-30"
    refresh(lake=whole, as_of=date(2024, 12, 1), refresh_date=REFRESH_DATE, con=duckdb_con, full=True,
            models=_kept_models(lake))
    assert_same_results(duckdb_con, lake, whole)


def test_a_base_and_delta_read_for_some_keys_give_those_rows_of_the_whole_table(duckdb_con):
    """`with_delta(..., only=)` (decision 0129: the night reads the kept cycles for the pairs
    bought, or the pairs picked, without the whole base + delta): the delta's row of a key hides
    the base's, for a filter by customer as by pair."""
    import ibis

    keys = ["customer_id", "product_id"]
    base = ibis.memtable({"customer_id": [1, 1, 2, 3], "product_id": [10, 11, 10, 12], "n_days": [1, 2, 3, 4]})
    delta = ibis.memtable({"customer_id": [1, 4], "product_id": [10, 13], "n_days": [9, 5]})

    def rows(table):
        return sorted(map(tuple, duckdb_con.execute(table).to_numpy().tolist()))

    customers = ibis.memtable({"customer_id": [1, 4]})
    pairs = ibis.memtable({"customer_id": [1, 3, 2], "product_id": [10, 12, 99]})
    for only, expected in ((customers, [(1, 10, 9), (1, 11, 2), (4, 13, 5)]), (pairs, [(1, 10, 9), (3, 12, 4)])):
        got = rows(kept_state.with_delta(base, delta, keys, only))
        assert got == expected
        assert got == rows(kept_state.with_delta(base, delta, keys).semi_join(only, list(only.columns)))


def test_a_night_stopped_after_its_forecasts_resumes_and_keeps_the_history_it_rolled(
        synthetic_lake, duckdb_con, tmp_path, monkeypatch):
    """A night stopped after the forecasts step resumes without rolling the kept purchase history
    again (decision 0133: it reads back the one it wrote under the next state), and the night after
    it rolls the history that night kept: the full refresh's tables."""
    from clientele.forecasting import nightly

    lake = _copy(synthetic_lake, tmp_path / "nightly")
    refresh(lake=lake, as_of=date(2024, 12, 28), refresh_date=REFRESH_DATE - timedelta(days=2), con=duckdb_con)
    with monkeypatch.context() as patched:
        patched.setattr(nightly, "next_visits_table", _not_called("next_visits"))
        with pytest.raises(AssertionError):
            refresh(lake=lake, as_of=date(2024, 12, 29), refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    resumed = refresh(lake=lake, as_of=date(2024, 12, 29), refresh_date=REFRESH_DATE - timedelta(days=1),
                      con=duckdb_con)
    assert "forecasts" in resumed.resumed and resumed.mode == "incremental from 2024-12-28"
    whole = _copy(lake, tmp_path / "whole")
    assert refresh(lake=lake, as_of=date(2024, 12, 30), refresh_date=REFRESH_DATE,
                   con=duckdb_con).mode == "incremental from 2024-12-29"
    refresh(lake=whole, as_of=date(2024, 12, 30), refresh_date=REFRESH_DATE, con=duckdb_con, full=True,
            models=_kept_models(lake))
    assert_same_results(duckdb_con, lake, whole)


def _pairs_picked(lake: Path, groups: bool = True) -> int:
    """How many customer x product pairs a night between refits scores, counted from the state it
    kept: the pair reach's, the delta's (every pair bought since the base) and, with `groups`,
    every other pair of the customer x category groups the delta's pairs belong to."""
    state, products = lake / "results" / "_state", lake / "products"
    in_groups = f"""
        UNION SELECT p.customer_id, p.product_id FROM pairs p JOIN categories c USING (product_id)
        JOIN (SELECT DISTINCT d.customer_id, c.category FROM delta d JOIN categories c USING (product_id)) g
          ON g.customer_id = p.customer_id AND g.category = c.category""" if groups else ""
    return duckdb.sql(f"""
        WITH delta AS (SELECT customer_id, product_id FROM read_parquet('{state}/product_cycles_delta/*.parquet')),
        pairs AS (SELECT customer_id, product_id FROM read_parquet('{state}/product_cycles/*.parquet')
                  UNION SELECT * FROM delta),
        categories AS (SELECT product_id, category FROM read_parquet('{products}/*.parquet')
                       WHERE category IS NOT NULL)
        SELECT count(*) FROM (
            SELECT customer_id, product_id FROM read_parquet('{state}/pair_reach/*.parquet')
            UNION SELECT * FROM delta {in_groups})""").fetchall()[0][0]


def _a_category_out_of_reach(lake: Path) -> tuple[int, int, str]:
    """A customer, a product they never bought and its category, in which they bought another
    product that is not within the kept pair reach."""
    state, products = lake / "results" / "_state", lake / "products"
    return duckdb.sql(f"""
        WITH categories AS (SELECT product_id, category FROM read_parquet('{products}/*.parquet')
                            WHERE category IS NOT NULL),
        pairs AS (SELECT customer_id, product_id FROM read_parquet('{state}/product_cycles/*.parquet')),
        out_of_reach AS (SELECT * FROM pairs EXCEPT
                         SELECT customer_id, product_id FROM read_parquet('{state}/pair_reach/*.parquet'))
        SELECT o.customer_id, other.product_id, c.category FROM out_of_reach o JOIN categories c USING (product_id)
        JOIN categories other ON other.category = c.category AND other.product_id <> c.product_id
        WHERE (o.customer_id, other.product_id) NOT IN (SELECT * FROM pairs)
        ORDER BY 1, 2 LIMIT 1""").fetchall()[0]


def _buy(lake: Path, customer: int, product: int, day: date) -> None:
    """A line of `customer` buying `product` on `day`, imported in a file of its own (one of the
    customer's lines as its template)."""
    month = lake / "basket_lines" / f"month={day:%Y-%m}"
    schema = pq.read_schema(month / "part-0.parquet")
    line = next(row for file in sorted((lake / "basket_lines").rglob("*.parquet"))
                for row in pq.read_table(file, filters=[("customer_id", "=", customer)]).to_pylist())
    line |= {"basket_id": f"extra-{customer}-{product}", "line_no": 1, "product_id": product,
             "transaction_ts": datetime.combine(day, time(12))}
    pq.write_table(pa.Table.from_pylist([line], schema=schema), month / "import-extra-0.parquet")


def test_a_night_scores_every_pair_of_the_categories_bought_in(refreshed_day_before, duckdb_con, tmp_path):
    """A night between refits scores the pairs of the kept reach, of tonight's delta and every
    other pair of the customer x category groups bought in, the base's rows of all of them read
    before the roll (decisions 0122, 0134): a customer buys a product new to them in a category
    where they bought another one that is out of reach, which is then scored from the base; the
    night gives the full refresh's tables."""
    nightly = _copy(refreshed_day_before[0], tmp_path / "nightly")
    customer, product, category = _a_category_out_of_reach(nightly)
    whole = _copy(nightly, tmp_path / "whole")
    for lake in (nightly, whole):
        _add_new_day(lake)
        _buy(lake, customer, product, date(2024, 12, 31))
    night = refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con)
    assert night.mode == "incremental from 2024-12-30"
    # exactly the pairs picked, the groups' other pairs among them (without them, fewer)
    assert night.pairs_scored == _pairs_picked(nightly) > _pairs_picked(nightly, groups=False)
    # the comparison bites: the category bought in is forecast, its probability counting the
    # pair out of reach (a pick without the groups' pairs differs there)
    categories = read_result(duckdb_con, "next_categories", nightly)
    assert categories.filter((categories.customer_id == customer) & (categories.category == category)).count(
        ).execute() == 1
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole)


def test_a_reach_kept_by_a_refit_night_with_a_delta_is_read_by_the_next_night(
        synthetic_lake, refreshed_day_before, duckdb_con, tmp_path):
    """A night that refits its models without rewriting the cycles' base keeps the reach as its
    pairs' rows of the base with the delta, some of them the delta's (decision 0146); the next
    night reads the reach's rows for the customers without a pair in its delta, the base's for
    the others, and gives the full refresh's tables."""
    nightly, taken = _copy_without_the_last_two_days(synthetic_lake, tmp_path / "nightly")
    refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=2), con=duckdb_con)
    state = nightly / "results" / "_state"
    # the models a week old, the base a day: the next night refits them and keeps the base
    models = _models(nightly)
    models["fitted_as_of"] = "2024-12-22"
    (state / "models.json").write_text(json.dumps(models))
    pq.write_table(taken, nightly / "basket_lines" / MONTH / "import-day-before-0.parquet")
    refit = refresh(lake=nightly, refresh_date=REFRESH_DATE - timedelta(days=1), con=duckdb_con)
    assert refit.mode == "incremental from 2024-12-29" and _models(nightly)["fitted_as_of"] == "2024-12-30"
    assert (state / "product_cycles_delta").exists()
    with duckdb.connect() as con:
        from_delta = con.execute(f"""SELECT count(*) FROM read_parquet('{state}/pair_reach/*.parquet')
            SEMI JOIN read_parquet('{state}/product_cycles_delta/*.parquet') USING (customer_id, product_id)""").fetchone()[0]
    assert from_delta > 0  # reach rows that are the delta's, hidden by every later night's delta
    _add_new_day(nightly)
    night = refresh(lake=nightly, refresh_date=REFRESH_DATE, con=duckdb_con)
    assert night.mode == "incremental from 2024-12-30"
    assert night.pairs_scored == _pairs_picked(nightly)  # a night between refits, reading the kept rows
    whole = _copy(refreshed_day_before[0], tmp_path / "whole")
    _add_new_day(whole)
    refresh(lake=whole, refresh_date=REFRESH_DATE, con=duckdb_con, full=True, models=_kept_models(nightly))
    assert_same_results(duckdb_con, nightly, whole)
