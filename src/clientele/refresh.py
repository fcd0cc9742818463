"""The nightly refresh's analytics steps: read the lake, compute every customer result, write it back.

Each step writes one result table to <lake>/results/<table>/ (Parquet, each row stamped with the
refresh_date) and records itself in <lake>/results/_refresh.json. Run again on the same refresh
date with the same as_of and rules, it resumes after the last finished step; otherwise (or with
`restart=True`) it starts over.
A step's table is staged and then swapped in whole, so readers never see half a table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import ibis
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from clientele import analytics
from clientele.analytics.baskets import days_between, member_lines
from clientele.analytics.customer_view import write_customer_view
from clientele.analytics.results import PROFILE_COLUMNS, read_result, results_dir
from clientele.analytics.results import customer_profiles as read_profiles
from clientele.analytics.margin import customer_margin
from clientele.analytics.shopping_lists import ListRules, list_candidates
from clientele.analytics.till_context import PairRules, complementary_categories, till_context
from clientele.config import settings
from clientele.engine import connect
from clientele.forecasting import nightly
from clientele.lake.reader import LakeTableMissing, basket_lines, read_table
from clientele.lake.schema import GOLDEN_IDS, PROFILING_REFUSALS

STATE_FILE = "_refresh.json"
#: Under the results folder: what a refresh computes once for several steps (removed at its end).
WORK_FOLDER = "_work"
#: Under the results folder: the previous refresh's tables the next one compares with.
PREVIOUS_FOLDER = "_previous"
#: The previous refresh's tables kept when a refresh of a new day starts.
KEPT_TABLES = ("lifecycle",)


@dataclass(frozen=True)
class RefreshOptions:
    """What the refresh measures over: the window of RFM, pyramid and brand habits (days), and
    what the forecasts look ahead to (see `forecasting.nightly.ForecastOptions`)."""

    window_days: int = analytics.pyramid.WINDOW_DAYS
    year_over_year_days: int | None = None  # None: 365 when the lake holds two years, else half its span
    pyramid: analytics.PyramidCutoffs = analytics.PyramidCutoffs()
    lifecycle: analytics.LifecycleRules = analytics.LifecycleRules()
    brand_loyalty: analytics.BrandLoyaltyRules = analytics.BrandLoyaltyRules()
    traits: analytics.TraitRules = analytics.TraitRules()
    forecast: nightly.ForecastOptions = nightly.ForecastOptions()
    pairs: PairRules = PairRules()
    margin_rate: float | None = None  # None: the setting CLIENTELE_MARGIN_RATE


@dataclass
class RefreshResult:
    """What one refresh did: rows written per table, steps skipped as already done, seconds per step
    (wall time, and the CPU seconds of this process's threads: the engine's and numpy's)."""

    refresh_date: date
    as_of: date
    rows: dict[str, int] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)


class _Run:
    """One refresh in progress: the connection, the inputs and the tables already written."""

    def __init__(self, con: ibis.BaseBackend, lake: Path, as_of: date | None, options: RefreshOptions):
        self.con, self.lake, self.options = con, lake, options
        self.refused = _profiling_refusals(con, lake)
        lines = _as_golden_customers(con, lake, basket_lines(con, lake))
        # customers who refused profiling are left out of every result (they still earn points: the
        # ledger never reads the lake); anonymous lines (no customer) are kept as they are
        if self.refused:
            refused = ibis.memtable({"customer_id": self.refused}, schema={"customer_id": "int64"})
            lines = lines.anti_join(refused, "customer_id")
        self.lines = lines
        self.products = read_table(con, "products", lake)
        self.as_of = as_of or analytics.last_day(self.lines)
        self._product_forecasts: ibis.Table | None = None

    def product_forecasts(self) -> ibis.Table:
        """Every customer x product forecast of the night (about one row per basket line), computed
        once for the two steps cut from it (next_purchases, next_categories), as are the purchase
        cycles it reads twice: both kept as Parquet in the results' work folder, never in memory."""
        if self._product_forecasts is None:
            lines = member_lines(self.lines_to_as_of())
            cycles = self._work_table("product_cycles", nightly.product_cycles(lines, self.as_of))
            every_product = nightly.product_forecasts(lines, self.as_of, self.options.forecast, cycles=cycles)
            self._product_forecasts = self._work_table("product_forecasts", every_product)
        return self._product_forecasts

    def _work_table(self, name: str, table: ibis.Table) -> ibis.Table:
        """`table` written to the results' work folder and read back: computed once, however
        often it is read, and spilled to disk rather than held in memory."""
        _write(self.con, table, results_dir(self.lake) / WORK_FOLDER / name)
        return self.result(f"{WORK_FOLDER}/{name}")

    def previous(self, table: str) -> ibis.Table | None:
        """The previous refresh's `table`, as kept by `_keep_previous` (None before a second refresh)."""
        try:
            return read_result(self.con, f"{PREVIOUS_FOLDER}/{table}", self.lake)
        except LakeTableMissing:
            return None

    def result(self, table: str) -> ibis.Table:
        return read_result(self.con, table, self.lake)

    def lines_to_as_of(self) -> ibis.Table:
        """The basket lines up to the end of the as_of day (later lines belong to a later refresh)."""
        day_after = ibis.timestamp((self.as_of + timedelta(days=1)).isoformat())
        return self.lines.filter(self.lines.transaction_ts < day_after)

    def demographics(self) -> ibis.Table | None:
        """The households' declared composition, when the lake has it (the Complete Journey does)."""
        try:
            return read_table(self.con, "demographics", self.lake)
        except LakeTableMissing:
            return None

    def since(self) -> date:
        return self.as_of - timedelta(days=self.options.window_days - 1)

    def year_over_year_days(self) -> int:
        if self.options.year_over_year_days:
            return self.options.year_over_year_days
        first = self.result("baskets").basket_date.min().execute()
        span = (self.as_of - (first if type(first) is date else first.date())).days + 1
        return 365 if span >= 730 else max(span // 2, 1)


def _steps() -> list[tuple[str, Callable[[_Run], ibis.Table]]]:
    """Every result table, in the order it is computed (later steps read earlier results)."""
    return [
        ("baskets", lambda run: analytics.baskets(run.lines_to_as_of())),
        ("category_spend", lambda run: analytics.category_spend(run.lines_to_as_of(), run.products, since=run.since())),
        ("rfm", lambda run: analytics.rfm(run.result("baskets"), run.as_of, run.options.window_days)),
        ("pyramid", lambda run: analytics.customer_pyramid(
            run.result("baskets"), run.as_of, run.options.window_days, run.options.pyramid)),
        ("category_pyramid", lambda run: analytics.category_pyramid(run.result("category_spend"), run.options.pyramid)),
        ("forecasts", lambda run: ibis.memtable(
            nightly.customer_forecasts(run.result("baskets"), run.as_of, run.options.forecast))),
        ("next_visits", lambda run: ibis.memtable(
            nightly.next_visits(member_lines(run.lines_to_as_of()), run.as_of, run.options.forecast))),
        ("next_purchases", lambda run: nightly.next_purchases(
            member_lines(run.lines_to_as_of()), run.as_of, run.options.forecast,
            every_product=run.product_forecasts())),
        ("next_categories", lambda run: nightly.next_categories(
            member_lines(run.lines_to_as_of()), run.products, run.as_of, run.options.forecast,
            every_product=run.product_forecasts())),
        ("value", _value),
        ("lifecycle_history", lambda run: analytics.lifecycle_history(
            run.result("baskets"), run.as_of, run.options.lifecycle)),
        ("lifecycle", lambda run: analytics.current_stage(run.result("lifecycle_history"), run.options.lifecycle)),
        ("stage_flows", lambda run: analytics.stage_flows(run.result("lifecycle_history"))),
        ("refresh_flows", lambda run: analytics.refresh_flows(run.previous("lifecycle"), run.result("lifecycle"))),
        ("brand_loyalty", lambda run: analytics.nine_cells(run.result("category_spend"), run.options.brand_loyalty)),
        ("deal_proneness", lambda run: analytics.deal_proneness(
            run.result("baskets"), run.as_of, run.options.window_days)),
        ("trait_quality", lambda run: analytics.trait_quality(
            run.lines_to_as_of(), run.products, run.demographics(), run.options.traits, since=run.since())),
        ("traits", lambda run: analytics.household_traits_learnt(
            run.lines_to_as_of(), run.products, run.result("category_spend"), run.demographics(), run.options.traits,
            since=run.since(), quality=run.result("trait_quality"))),
        ("year_over_year", lambda run: analytics.year_over_year(
            run.result("baskets"), run.as_of, run.year_over_year_days())),
        ("narrow_baskets", lambda run: analytics.narrow_baskets(
            run.result("category_spend"), run.result("baskets"), run.as_of, run.options.window_days)),
        ("customer_profiles", _profiles),
        ("complementary_categories", lambda run: complementary_categories(
            run.lines_to_as_of(), run.products, since=run.since(), rules=run.options.pairs)),
        ("till_context", lambda run: till_context(
            run.lines_to_as_of(), run.products, run.result("category_spend"), run.result("complementary_categories"))),
        ("customer_margin", lambda run: customer_margin(
            run.lines_to_as_of(),
            settings().margin_rate if run.options.margin_rate is None else run.options.margin_rate)),
        ("list_candidates", lambda run: list_candidates(
            run.result("baskets"), run.result("next_purchases"), run.as_of, ListRules.configured())),
    ]


def _value(run: _Run) -> ibis.Table:
    """Value classes and tiers by predicted lifetime value (the `forecasts` step); by the spend of
    the RFM window when the lake is too small for the forecasting models to be fitted."""
    forecasts = run.result("forecasts")
    if forecasts.predicted_clv.notnull().any().execute():
        customers = forecasts.select("customer_id", value=forecasts.predicted_clv)
    else:
        rfm = run.result("rfm")
        customers = rfm.select("customer_id", value=rfm.monetary)
    return analytics.value_tiers(analytics.value_classes(customers, "value"), "value")


def _profiles(run: _Run) -> ibis.Table:
    """One row per customer who ever bought up to as_of, with every headline result.

    Customers without a basket in the window are 'Lost', small, C and lead with zero frequency and
    spend; a customer whose first basket is in the still-open month is in exploration.
    """
    baskets = run.result("baskets")
    everyone = baskets.group_by("customer_id").aggregate(last_basket=baskets.basket_date.max())
    rfm, pyramid, value = run.result("rfm"), run.result("pyramid"), run.result("value")
    stage, deals = run.result("lifecycle"), run.result("deal_proneness")
    forecasts, visits = run.result("forecasts"), run.result("next_visits")
    joined = (
        everyone.left_join(rfm.drop("refresh_date"), "customer_id")
        .left_join(pyramid.select("customer_id", "pyramid_level"), "customer_id")
        .left_join(value.select("customer_id", "value_class", "value_tier"), "customer_id")
        .left_join(stage.select("customer_id", "lifecycle_stage"), "customer_id")
        .left_join(deals.select("customer_id", "deal_proneness"), "customer_id")
        .left_join(forecasts.drop("refresh_date"), "customer_id")
        .left_join(visits.select("customer_id", "expected_next_visit"), "customer_id")
    )
    return joined.select(
        customer_id=everyone.customer_id,
        rfm_segment=joined.rfm_segment.fill_null("Lost"),
        recency_days=joined.recency_days.fill_null(days_between(everyone.last_basket, run.as_of)),
        frequency=joined.frequency.fill_null(0),
        monetary=joined.monetary.fill_null(0.0),
        pyramid_level=joined.pyramid_level.fill_null("small"),
        value_class=joined.value_class.fill_null("C"),
        value_tier=joined.value_tier.fill_null("lead"),
        lifecycle_stage=joined.lifecycle_stage.fill_null("exploration"),
        deal_proneness=joined.deal_proneness,
        expected_purchases=joined.expected_purchases,
        probability_alive=joined.probability_alive,
        churn_risk=joined.churn_risk,
        at_risk=joined.at_risk,
        predicted_clv=joined.predicted_clv,
        clv_lower=joined.clv_lower,
        clv_upper=joined.clv_upper,
        expected_next_visit=joined.expected_next_visit.cast("date"),
    ).select(*PROFILE_COLUMNS)


def _as_golden_customers(con: ibis.BaseBackend, lake: Path, lines: ibis.Table) -> ibis.Table:
    """The lines with each merged member's customer_id replaced by the golden one it was merged
    into (the lake's `golden_ids`, written by the identity merges), so every result sees one
    customer; the lines as they are when no member was merged."""
    try:
        golden = read_table(con, GOLDEN_IDS, lake).rename(merged_customer_id="customer_id")
    except LakeTableMissing:
        return lines
    joined = lines.left_join(golden, lines.customer_id == golden.merged_customer_id)
    mapped = joined.mutate(customer_id=ibis.coalesce(joined.golden_customer_id, joined.customer_id))
    return mapped.select(*lines.columns)


def _profiling_refusals(con: ibis.BaseBackend, lake: Path) -> list[int]:
    """The customer ids of the members who refused profiling, ascending, as the last lake sync wrote
    them (`loyalty.lake_sync.export_profiling_refusals`); none before the first sync."""
    try:
        refusals = read_table(con, PROFILING_REFUSALS, lake)
    except LakeTableMissing:
        return []
    return sorted(refusals.customer_id.to_pyarrow().to_pylist())


STEPS = tuple(name for name, _ in _steps())


def refresh(
    engine: str | None = None,
    lake: Path | None = None,
    as_of: date | None = None,
    refresh_date: date | None = None,
    options: RefreshOptions = RefreshOptions(),
    restart: bool = False,
    console: Console | None = None,
    con: ibis.BaseBackend | None = None,
) -> RefreshResult:
    """Compute every result table from the lake and write it to <lake>/results/.

    `as_of` is the last day the results describe (default: the day of the lake's latest basket);
    `refresh_date` stamps the rows (default: today). Returns rows per table and seconds per step.
    """
    lake = (lake or settings().lake_path).resolve()
    con = con or connect(engine)
    run = _Run(con, lake, as_of, options)
    refresh_date = refresh_date or date.today()
    state = _load_state(lake)
    # a run resumes only the same refresh: same date, same as_of, same rules, same profiling refusals
    refusals = hashlib.sha256(json.dumps(run.refused).encode()).hexdigest()[:16]
    key = {"refresh_date": refresh_date.isoformat(), "as_of": run.as_of.isoformat(), "options": repr(options),
           "profiling_refusals": refusals}
    done = [] if restart or {k: state.get(k) for k in key} != key else state.get("done", [])
    if state.get("refresh_date") not in (None, key["refresh_date"]):
        _keep_previous(lake)
    result = RefreshResult(refresh_date=refresh_date, as_of=run.as_of)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console or Console(quiet=True),
    ) as progress:
        task = progress.add_task("refresh", total=len(STEPS))
        for name, build in _steps():
            progress.update(task, description=f"refresh: {name}")
            if name in done:
                result.resumed.append(name)
            else:
                started, cpu_started = time.perf_counter(), time.process_time()
                stamped = build(run).mutate(refresh_date=ibis.date(refresh_date.isoformat()))
                _write(con, stamped, results_dir(lake) / name)
                result.seconds[name] = round(time.perf_counter() - started, 2)
                result.cpu_seconds[name] = round(time.process_time() - cpu_started, 2)
                done.append(name)
                _save_state(lake, key | {"done": done})
            result.rows[name] = run.result(name).count().execute()
            progress.advance(task)
    started = time.perf_counter()
    write_customer_view(lake)
    result.seconds["customer_view"] = round(time.perf_counter() - started, 2)
    shutil.rmtree(results_dir(lake) / WORK_FOLDER, ignore_errors=True)
    return result


def _keep_previous(lake: Path) -> None:
    """Keep the last refresh's KEPT_TABLES under results/_previous/ before a refresh of a new day
    overwrites them: the next refresh compares its results with these (decision 0042). A refresh
    run again on the same day keeps the ones of the day before."""
    for table in KEPT_TABLES:
        source, kept = results_dir(lake) / table, results_dir(lake) / PREVIOUS_FOLDER / table
        if source.exists():
            shutil.rmtree(kept, ignore_errors=True)
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source, kept)


def _write(con: ibis.BaseBackend, table: ibis.Table, folder: Path) -> None:
    """Write a result table whole: stage it beside the old one, then swap. A per-customer table is
    written in customer order, so a read of one customer (the back office's customer 360) skips
    every row group but the customer's by its min/max statistics (decision 0029)."""
    staged = folder.parent / "_staging" / folder.name
    shutil.rmtree(staged, ignore_errors=True)
    if "customer_id" in table.columns:
        table = table.order_by("customer_id")
    if con.name == "duckdb":
        staged.mkdir(parents=True)
        con.to_parquet(table, staged / "part-0.parquet", compression="zstd")
    else:
        con.to_parquet(table, staged, mode="overwrite")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staged, folder)


def _load_state(lake: Path) -> dict:
    path = results_dir(lake) / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save_state(lake: Path, state: dict) -> None:
    path = results_dir(lake) / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=1), encoding="utf-8")


def customer_profiles(lake: Path | None = None, engine: str | None = None) -> list[dict]:
    """Per customer, the last refresh's serving profile (see `analytics.results.customer_profiles`).

    The lead's serving-table writer takes this list as it is: customer_id, rfm_segment,
    recency_days, frequency, monetary, pyramid_level, value_class, value_tier, lifecycle_stage,
    deal_proneness, and the forecasts expected_purchases, probability_alive, churn_risk, at_risk,
    predicted_clv, clv_lower, clv_upper, expected_next_visit.
    """
    return read_profiles(connect(engine or "duckdb"), lake)
