"""The nightly refresh's analytics steps: read the lake, compute every customer result, write it back.

Each step writes one result table to <lake>/results/<table>/ (Parquet, each row stamped with the
refresh_date) and records itself in <lake>/results/_refresh.json. Run again on the same refresh
date with the same as_of and rules, it resumes after the last finished step; otherwise (or with
`restart=True`) it starts over.
A step's table is staged and then swapped in whole, so readers never see half a table.

The steps that read the basket lines read them through the state the last refresh kept
(`refresh_state`): a refresh with a valid state reads only the new days (and the month they fall
in), the days leaving the window and the lines of the customers whose history changed; without one
(or with `full=True` / `restart=True`) it computes the state from every line. Both give the same
result tables, to the last bit (decision 0070).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import ibis
import pandas as pd
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from clientele import analytics
from clientele import refresh_state as kept
from clientele.analytics.baskets import baskets_from_sums, basket_sums, days_between, member_lines, regroup_basket_sums
from clientele.analytics.brand_loyalty import category_spend_from_sums, category_sums, cells_delta
from clientele.analytics.brand_loyalty import category_names, cells_within_bounds, usage_bounds
from clientele.analytics.customer_view import CUSTOMER_TABLES, write_customer_view
from clientele.analytics.results import BASE_ABOUT, DELTA_ABOUT, GONE, PROFILE_COLUMNS, ResultDelta, base_about
from clientele.analytics.results import DELTAS, RESULTS, Restamped, delta_about, delta_dir, read_result
from clientele.analytics.results import results_dir
from clientele.analytics.results import customer_profiles as read_profiles
from clientele.analytics.margin import customer_margin_of_baskets
from clientele.analytics.shopping_lists import ListRules, list_candidates
from clientele.analytics.till_context import COUNTS, PairRules, category_basket_counts, complementary_of_counts
from clientele.analytics.till_context import last_bought, till_context, top_categories
from clientele.analytics.traits import produce_totals, rolled_produce_totals, rolled_signal_baskets, signal_baskets
from clientele.config import settings
from clientele.engine import connect
from clientele.forecasting import nightly
from clientele.forecasting.churn import features_of_history
from clientele.forecasting.history_state import history_of_state, history_state, roll_history_state, rolled_days
from clientele.forecasting.next_purchase import Calibration, cycle_priors, cycles_from_sums, roll_cycle_sums
from clientele.forecasting.next_purchase import pairs_within_reach, reach_bounds
from clientele.forecasting.next_purchase import cycle_sums as nextp_cycle_sums
from clientele.lake.reader import LakeTableMissing, basket_lines, read_table, table_path
from clientele.lake.schema import BASKET_LINES, GOLDEN_IDS, PROFILING_REFUSALS

STATE_FILE = "_refresh.json"
#: Under the results folder: what a refresh computes once for several steps (removed at its end).
WORK_FOLDER = "_work"
#: Under the results folder: the previous refresh's tables the next one compares with.
PREVIOUS_FOLDER = "_previous"
#: Under the results folder: the `spend_distribution` of category_spend's base, its BASE_ABOUT
#: the base's (decision 0141).
SPEND_DISTRIBUTION = "_distribution/category_spend"
#: The kept category sums' columns, as the incremental refresh writes them on either engine.
CATEGORY_SUMS = ibis.schema({"customer_id": "int64", "category_code": "int64", "category_spend": "decimal(38, 2)",
                             "store_brand_spend": "decimal(38, 2)", "lines": "int64"})
#: customer_margin's delta is written while it holds at most this share of its base's rows (0137).
MARGIN_DELTA_SHARE = 0.125
#: The lifecycle history's keys (its delta's: decision 0136).
HISTORY_KEYS = ("customer_id", "month")
#: The previous refresh's tables kept when a refresh of a new day starts.
KEPT_TABLES = ("lifecycle",)
#: The result tables a night builds on as the last refresh wrote them (decision 0126): the
#: watermark records their files, so a table rewritten since (a refresh stopped midway) is not.
FOLLOWED = ("baskets", "lifecycle_history", "lifecycle", "stage_flows", "till_context", "narrow_baskets",
            "customer_margin")


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
    #: Days between two fits of the next-purchase calibration (an incremental refresh scores with
    #: the kept one in between; a full refresh always fits). 1: every night.
    refit_days: int = 7

    def state_rules(self) -> str:
        """What the kept state depends on (a change makes it recompute): all but the refit schedule."""
        return repr(replace(self, refit_days=1))


@dataclass
class RefreshResult:
    """What one refresh did: rows written per table, steps skipped as already done, seconds per step
    (wall time, and the CPU seconds of this process's threads: the engine's and numpy's). Besides the
    steps, `seconds` and `cpu_seconds` have "plan" (reading the lake's layout and the kept state to
    plan the refresh), "state" (keeping the state for the next refresh) and "customer_view" (the 360's
    file), and `cpu_seconds` "rows" (counting each step's rows): with the process's imports, the cost
    of a night that is not any step's."""

    refresh_date: date
    as_of: date
    mode: str = "full"
    rows: dict[str, int] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    #: How many customer x product pairs the night scored (those within reach of the cut: decisions
    #: 0122 and 0143; every pair when the calibration gives no bound); None when next_purchases was resumed.
    pairs_scored: int | None = None


class _Run:
    """One refresh in progress: the connection, the inputs and the tables already written."""

    def __init__(self, con: ibis.BaseBackend, lake: Path, as_of: date | None, options: RefreshOptions,
                 full: bool = False, models: Path | None = None):
        self.con, self.lake, self.options = con, lake, options
        self.refused = _profiling_refusals(con, lake)
        self.golden = kept.golden_table(con, lake)
        # the lines as the kept state sees them: merged members under their golden id, refusals in
        self.golden_lines = _as_golden_customers(con, lake, basket_lines(con, lake))
        # customers who refused profiling are left out of every result (they still earn points: the
        # ledger never reads the lake); anonymous lines (no customer) are kept as they are
        self.lines = self._profiled(self.golden_lines)
        self.products = read_table(con, "products", lake)
        self.as_of = as_of or self._last_day()
        self.fingerprint = kept.lake_fingerprint(lake)
        self.watermark = kept.load_watermark(lake)
        self.plan = kept.plan(con, lake, self.watermark, self.fingerprint, self.as_of, options.state_rules(), full)
        if self.plan.mode == "incremental" and not all(
                (kept.state_dir(lake) / name).exists()
                for name in (*kept.ROLLED_TABLES, kept.CUSTOMER_HISTORY, kept.CUSTOMER_HISTORY_OF, "golden_ids")):
            self.plan = kept.Plan("full", "the kept state is incomplete")
        for layout, delta in ((kept.cycles_layout, kept.CYCLES_DELTA), (kept.sums_layout, kept.SUMS_DELTA)):
            if self.plan.mode == "incremental" and layout(self.plan.old)["delta"] and not (
                    kept.state_dir(lake) / delta).exists():
                self.plan = kept.Plan("full", "the kept state is incomplete")
        self.forced_models = models
        self.months: dict[str, dict] = {}
        #: Each month's basket sums as read (`month_sums`): a read is a view and a schema query,
        #: some 8 ms of CPU whatever the lake's size, and a night asked for each month six times.
        self._month_tables: dict[str, ibis.Table] = {}
        #: The result tables as read (`result`), by the version of their files.
        self._results: dict[tuple, ibis.Table] = {}
        self._product_forecasts: ibis.Table | None = None
        #: The kept cycles' base rows this night scores, read once (`_picked_base`; None: every pair).
        self._picked: ibis.Table | None = None
        self._state: dict[str, ibis.Table] = {}
        self._affected: ibis.Table | None | bool = False
        self._touched: ibis.Table | None = None
        self._edge_customers: ibis.Table | None = None
        self._edge_basket_sums: ibis.Table | None = None
        self._distribution: ibis.Table | None = None
        #: Per table of the customer-360 file, the customers whose rows this night changed, as a
        #: table of customer_id (decision 0130); a table not named is copied whole.
        self.view_changes: dict[str, ibis.Table] = {}
        #: Per table of the 360 file, the rows this night added to the kept ones, none of which it
        #: changed: a DuckDB condition on the result's rows (decision 0130).
        self.view_appends: dict[str, str] = {}
        self._edges: tuple[ibis.Table, ibis.Table] | None = None
        self._models: dict | None = None
        self.pair_reach_cpu: float | None = None
        self.pairs_scored: int | None = None
        #: Per result written whole, what its base is computed from (`results.BASE_ABOUT`).
        self.bases: dict[str, dict] = {}
        #: Whether this night kept the lifecycle history's rows as they were (`_history_kept`), and
        #: the month whose rows it added to the kept ones (`lifecycle_history`; decision 0136).
        self.history_unchanged = False
        self.history_added: date | None = None

    def _last_day(self) -> date:
        """The day of the latest line of the lines read (`analytics.last_day`): from the line files'
        Parquet statistics, checked by a read of the lines from that day on (the row groups before
        it skipped by the same statistics); by a scan of every line's time when the statistics say
        nothing or name a later day than the lines hold (decision 0145)."""
        latest = _latest_line_time(self.lake)
        if latest is not None:
            at = self.lines.transaction_ts
            found = self.lines.filter(at >= ibis.timestamp(latest.date().isoformat())).transaction_ts.max().execute()
            if found is not None and not pd.isna(found):
                return found if type(found) is date else found.date()
        return analytics.last_day(self.lines)

    def _profiled(self, table: ibis.Table) -> ibis.Table:
        """`table` without the customers who refused profiling."""
        if not self.refused:
            return table
        refused = ibis.memtable({"customer_id": self.refused}, schema={"customer_id": "int64"})
        return table.anti_join(refused, "customer_id")

    def product_forecasts(self) -> ibis.Table:
        """Every customer x product forecast the two steps cut from it need (next_purchases,
        next_categories), computed once and kept as Parquet in the results' work folder, never in
        memory. Between two refits of the models a night scores only the pairs that may reach the
        cut (decision 0122: `_scored_pairs`); a night that would score every pair (a full refresh,
        a refit, a rewritten base) computes that set for the nights until the next refit, tonight
        included, keeps it, and scores it alone (decision 0143: the same rows cut as from every pair)."""
        if self._product_forecasts is None:
            models = self.models()
            # the base's rows the night may score, read before the roll, which reads its own from them
            self._picked = self._picked_base()
            cycles_state = self.state("product_cycles")
            scored = self._scored_pairs()
            if scored is None:
                # a night scoring every pair (a full refresh too) keeps the pairs that may reach the
                # cut until the refit, tonight included, and scores those alone (decision 0143)
                started = time.process_time()
                # the reach is kept as its pairs' rows of the cycles: those scored
                scored = self._keep_pair_reach(cycles_state)
                self.pair_reach_cpu = round(time.process_time() - started, 2)
            cycles = cycles_from_sums(self._profiled(scored if scored is not None else cycles_state),
                                      kept.cutoff(self.as_of))
            every_product = nightly.product_forecasts(
                None, self.as_of, self.options.forecast, cycles=cycles, visit_cycles=self.visit_cycles(),
                calibration=models["calibration"], priors=models["priors"])
            # what the two steps read of it, unordered and lightly compressed: written once, read
            # twice, then deleted (decision 0111: a third less CPU than every column in zstd)
            read = every_product.select(
                "customer_id", "product_id", "probability", "expected_date", "typical_cycle_days", "last_purchase",
                "purchase_days", "recent_purchases")
            self._product_forecasts = self._work_table("product_forecasts", read, order=False, compression="snappy")
            self.pairs_scored = int(self._product_forecasts.count().execute())
        return self._product_forecasts

    def _models_digest(self) -> str:
        """What a kept pair reach was computed with: the next-purchase models and rules. The
        models as the night keeps them (`models()` writes or copies models.json under the next
        state: the calibration and the priors, floats by repr), hashed as stored: serialising the
        priors again for it cost 0.2-0.3 CPU s a night (decision 0146)."""
        self.models()
        stored = (kept.next_dir(self.lake) / kept.MODELS).read_bytes()
        return hashlib.sha256(stored + repr(self.options.forecast).encode()).hexdigest()[:16]

    def _picked_base(self) -> ibis.Table | None:
        """The kept cycles' base rows of every pair this night scores (None: the night scores
        every pair), read once, before tonight's delta is rolled: with a kept pair reach valid
        for this night (the same models, a night it covers, the same cycles' base), the pairs it
        holds, the pairs of tonight's delta (the kept delta's and those bought since the kept day)
        and every pair of the customer x category groups those belong to (decision 0122). The roll
        reads the rows of the pairs bought from here (decision 0134). The reach's pairs of the
        customers without a pair in tonight's delta are read from the reach's kept rows, not from
        the base (decision 0146)."""
        state = kept.state_dir(self.lake)
        if self.plan.mode != "incremental" or self._compacts_cycles() or not (state / kept.PAIR_REACH_OF).exists():
            return None
        about = json.loads((state / kept.PAIR_REACH_OF).read_text(encoding="utf-8"))
        if about["models"] != self._models_digest() or not about["first"] <= self.as_of.isoformat() <= about["last"] \
                or about["base_as_of"] != kept.cycles_layout(self.plan.old)["base_as_of"] or not about.get("rows"):
            return None
        keys = kept.CYCLE_KEYS
        base = kept.read_state(self.con, self.lake, "product_cycles")
        # tonight's delta holds the kept delta's pairs and every pair bought since (the roll adds
        # a row for each): its keys are known before it is rolled
        delta = self._pairs_bought()
        if kept.cycles_layout(self.plan.old)["delta"]:
            delta = ibis.union(kept.read_state(self.con, self.lake, kept.CYCLES_DELTA).select(*keys), delta)
        delta = self._work_table("cycles_delta_keys", delta.distinct(), order=False)
        customers = delta.select("customer_id").distinct()
        # the base's rows of tonight's delta's customers, read once (one scan of the base): the
        # groups' pairs are among them, and the pairs bought, which the roll reads
        theirs = self._work_table("cycles_theirs", base.semi_join(customers, "customer_id"), order=False,
                                  compression="snappy")
        categories = self.products.select("product_id", product_category=self.products.category)
        groups = delta.join(categories.filter(categories.product_category.notnull()), "product_id").select(
            "customer_id", "product_category").distinct()
        # the pairs of the groups' customers: the base's and the delta's keys (a delta pair is a
        # candidate anyway, whoever's it is)
        pairs = ibis.union(theirs.select(*keys), delta, distinct=False)
        in_groups = pairs.join(categories, "product_id").semi_join(groups, ["customer_id", "product_category"])
        reach = kept.read_state(self.con, self.lake, kept.PAIR_REACH)
        candidates = ibis.union(in_groups.select(*keys), delta, reach.select(*keys), distinct=True)
        # a reach row of a customer without a pair in tonight's delta is the base's row of that
        # pair: not bought since the base (a pair of a reach computed on a night with a delta stays
        # in every delta until the base is rewritten, which voids the reach: decision 0146)
        rows = ibis.union(reach.anti_join(customers, "customer_id").cast(base.schema()),
                          theirs.semi_join(candidates, keys), distinct=False)
        return self._work_table("cycles_picked", rows, order=False, compression="snappy")

    def _scored_pairs(self) -> ibis.Table | None:
        """The rows of the purchase cycles this night scores (None: every pair): the picked base
        rows (`_picked_base`) set against tonight's delta, every row of which is picked."""
        if self._picked is None:
            return None
        delta = kept.read_state(self.con, self.lake, kept.CYCLES_DELTA, kept.NEXT_FOLDER)
        return kept.with_delta(self._picked, delta, kept.CYCLE_KEYS)

    def _keep_pair_reach(self, cycles: ibis.Table) -> ibis.Table | None:
        """Write the pairs that may reach the cut on a night from this one to the last the night's
        models are kept for (`refit_days`), with what they hold for, under the next state, and
        return them (None: no bound, every pair may reach the cut): their rows of `cycles` (the
        night's purchase cycles), which the nights until the refit read instead of the base's
        (decision 0146)."""
        models, forecast = self.models(), self.options.forecast
        last = max(models["fitted_as_of"] + timedelta(days=self.options.refit_days - 1), self.as_of)
        bounds = reach_bounds(cycles_from_sums(cycles, kept.cutoff(self.as_of)), models["priors"],
                              models["calibration"], kept.cutoff(self.as_of), kept.cutoff(last),
                              forecast.next_purchase_days)
        folder = kept.next_dir(self.lake)
        (folder / kept.PAIR_REACH_OF).unlink(missing_ok=True)
        if bounds is None:
            return None
        within = pairs_within_reach(bounds, self.products, forecast.min_purchase_probability)
        _write(self.con, cycles.semi_join(within, kept.CYCLE_KEYS), folder / kept.PAIR_REACH, order=False)
        base_as_of = self.as_of.isoformat() if (folder / "product_cycles").exists() else \
            kept.cycles_layout(self.plan.old)["base_as_of"]
        (folder / kept.PAIR_REACH_OF).write_text(json.dumps({
            "first": self.as_of.isoformat(), "last": last.isoformat(), "models": self._models_digest(),
            "base_as_of": base_as_of, "rows": True}), encoding="utf-8")
        return kept.read_state(self.con, self.lake, kept.PAIR_REACH, kept.NEXT_FOLDER)

    # --- the kept state (refresh_state), rolled forward or computed whole -------------------------

    def cutoff_ts(self, day: date) -> ibis.Value:
        return ibis.timestamp(day.isoformat())

    def golden_member_lines(self, start: date | None, end: date) -> ibis.Table:
        """The identified customers' lines (golden ids, refusals included) from `start` (None: the
        first) to before `end`."""
        lines = self.golden_lines
        keep = lines.transaction_ts < self.cutoff_ts(end)
        if start is not None:
            keep &= lines.transaction_ts >= self.cutoff_ts(start)
        return member_lines(lines.filter(keep))

    def state(self, name: str) -> ibis.Table:
        """One rolled state table of this refresh (`refresh_state.ROLLED_TABLES`): computed once,
        written under results/_state_next/ (a resumed refresh reads it back), then read from there."""
        if name == "product_cycles":
            if name not in self._state:
                self._state[name] = self._product_cycles_state()
            return self._state[name]
        if name == "category_sums":
            if name not in self._state:
                self._state[name] = self._category_sums_state()
            return self._state[name]
        if name not in self._state:
            folder = kept.next_dir(self.lake) / name
            if not folder.exists():
                build = {"category_sums": self._category_sums, "product_cycles": self._product_cycles,
                         "visit_cycles": self._visit_cycles, "last_lines": self._last_lines}[name]
                _write(self.con, build(), folder, order=False)
            self._state[name] = kept.read_state(self.con, self.lake, name, kept.NEXT_FOLDER)
        return self._state[name]

    def _kept(self, name: str, only: ibis.Table | None = None, base: ibis.Table | None = None) -> ibis.Table:
        """The kept state table `name` (`only`, for the purchase cycles: the rows of those keys,
        see `with_delta`, read from `base` when given: some of the base's rows, `only`'s among them)."""
        if name == "product_cycles":
            base = kept.read_state(self.con, self.lake, name) if base is None else base
            if not kept.cycles_layout(self.plan.old)["delta"]:
                return base if only is None else base.semi_join(only, list(only.columns))
            return kept.with_delta(base, kept.read_state(self.con, self.lake, kept.CYCLES_DELTA), kept.CYCLE_KEYS,
                                   only)
        if name == "category_sums":
            base = kept.read_state(self.con, self.lake, name)
            if not kept.sums_layout(self.plan.old)["delta"]:
                return base
            return _sums_of(base, kept.read_state(self.con, self.lake, kept.SUMS_DELTA))
        return kept.read_state(self.con, self.lake, name)

    def _product_cycles_state(self) -> ibis.Table:
        """The per customer x product purchase cycles of this refresh: a base table and the delta of
        the pairs bought since it was written (decision 0111). A night writes the delta alone (the
        kept delta with the pairs bought that day rolled in: a few rows a line of the new days); the
        base is rewritten whole, with no delta, in customer order (decision 0129), by a full
        refresh, when customers' state is recomputed (a rewritten month, a merge) and once the base
        is `refit_days` old."""
        folder = kept.next_dir(self.lake)
        if not (folder / "product_cycles").exists() and not (folder / kept.CYCLES_DELTA).exists():
            if self._compacts_cycles():
                # in customer order: the nights' reads of it (the pairs bought, the pick) cost less
                # than of a base in the aggregation's order, for a sort on the nights writing it
                # (decision 0129)
                _write(self.con, self._product_cycles(), folder / "product_cycles")
            else:
                _write(self.con, self._cycles_delta(), folder / kept.CYCLES_DELTA, order=False)
        if (folder / "product_cycles").exists():
            return kept.read_state(self.con, self.lake, "product_cycles", kept.NEXT_FOLDER)
        return kept.with_delta(kept.read_state(self.con, self.lake, "product_cycles"),
                               kept.read_state(self.con, self.lake, kept.CYCLES_DELTA, kept.NEXT_FOLDER),
                               kept.CYCLE_KEYS)

    def _compacts_cycles(self, layout=kept.cycles_layout) -> bool:
        """Whether this refresh writes the purchase cycles (or, `layout` `sums_layout`, the
        category sums) whole (see `_product_cycles_state`)."""
        if self.plan.mode == "full" or self.affected() is not None:
            return True
        base_as_of = date.fromisoformat(layout(self.plan.old)["base_as_of"])
        return (self.as_of - base_as_of).days >= self.options.refit_days

    def _category_sums_state(self) -> ibis.Table:
        """The per customer x category sums of this refresh's window: a base table and the delta
        of the keys touched since it was written (decision 0121), as the purchase cycles (0111). A
        night writes the delta alone: the kept delta with the keys of the lines entering and
        leaving the window rolled in (a key whose lines fall to zero kept as a row of zero lines,
        so that it hides the base's row). The base is rewritten whole, with no delta, when the
        cycles' would be (a full refresh, customers recomputed, a base `refit_days` old)."""
        folder = kept.next_dir(self.lake)
        if not (folder / "category_sums").exists() and not (folder / kept.SUMS_DELTA).exists():
            if self._compacts_cycles(kept.sums_layout):
                _write(self.con, self._category_sums(), folder / "category_sums", order=False)
            else:
                _write(self.con, self._sums_delta(), folder / kept.SUMS_DELTA, order=False)
        if (folder / "category_sums").exists():
            return kept.read_state(self.con, self.lake, "category_sums", kept.NEXT_FOLDER)
        return _sums_of(kept.read_state(self.con, self.lake, "category_sums"),
                        kept.read_state(self.con, self.lake, kept.SUMS_DELTA, kept.NEXT_FOLDER))

    def _sums_delta(self) -> ibis.Table:
        """The kept delta of the category sums with the keys of the days entering and leaving the
        window rolled in: their rolled rows (zero lines: gone) replace their kept ones."""
        keys = kept.SUMS_KEYS
        added, taken = self._window_edges()
        touched = ibis.union(added.select(*keys), taken.select(*keys), distinct=True)
        current = self._kept("category_sums").semi_join(touched, keys)
        rolled = _signed_sums(current, added, taken)
        if not kept.sums_layout(self.plan.old)["delta"]:
            return rolled
        old_delta = kept.read_state(self.con, self.lake, kept.SUMS_DELTA).cast(CATEGORY_SUMS)
        return old_delta.anti_join(touched, keys).union(rolled)

    def _window_edges(self, affected: ibis.Table | None = None) -> tuple[ibis.Table, ibis.Table]:
        """The category sums of the days entering the window since the kept state's and of the
        days leaving it (the `affected` customers' lines left out)."""
        since, new_cutoff = self.since(), kept.cutoff(self.as_of)
        old_as_of = date.fromisoformat(self.plan.old["as_of"])
        old_since, old_cutoff = old_as_of - timedelta(days=self.options.window_days - 1), kept.cutoff(old_as_of)
        entering = self.golden_member_lines(max(old_cutoff, since), new_cutoff)
        leaving = self.golden_member_lines(old_since, min(since, old_cutoff))
        if affected is not None:
            entering = entering.anti_join(affected, "customer_id")
            leaving = leaving.anti_join(affected, "customer_id")
            return category_sums(entering, self.products), category_sums(leaving, self.products)
        # read once (each edge scans the lines' times) for the category sums and the touched customers
        if self._edges is None:
            self._edges = (self._work_table("entering_sums", category_sums(entering, self.products), order=False),
                           self._work_table("leaving_sums", category_sums(leaving, self.products), order=False))
        return self._edges

    def _cycles_delta(self) -> ibis.Table:
        """The kept delta of the purchase cycles with the pairs bought since the kept day rolled
        in: their rolled rows replace their kept ones (base or delta)."""
        keys = kept.CYCLE_KEYS
        new = self._new_member_lines()
        touched = self._pairs_bought()
        # the kept rows of the pairs bought, read once: `roll_cycle_sums` reads its table three
        # times, and each read of the base + delta was a scan of the whole base (decision 0129);
        # from the night's picked base rows when it picks (they hold the pairs bought: 0134)
        current = self._work_table("cycles_bought", self._kept("product_cycles", touched, base=self._picked),
                                   order=False)
        rolled = roll_cycle_sums(current, new, keys, kept.cutoff(self.as_of))
        if not kept.cycles_layout(self.plan.old)["delta"]:
            return rolled
        old_delta = kept.read_state(self.con, self.lake, kept.CYCLES_DELTA)
        return old_delta.anti_join(touched, keys).union(rolled.cast(old_delta.schema()))

    def _new_member_lines(self) -> ibis.Table:
        """The identified customers' lines since the kept day (golden ids, refusals included)."""
        return self.golden_member_lines(kept.cutoff(date.fromisoformat(self.plan.old["as_of"])),
                                        kept.cutoff(self.as_of))

    def _pairs_bought(self) -> ibis.Table:
        """The customer x product pairs bought since the kept day."""
        return self._new_member_lines().select(*kept.CYCLE_KEYS).distinct()

    def affected(self) -> ibis.Table | None:
        """The golden customers whose kept state is stale (None: none): those with lines in a month
        rewritten before the kept day (before and after the rewrite) and those whose golden id
        changed (the member, the old and the new golden customer)."""
        if self._affected is not False:
            return self._affected
        ids: list[ibis.Table] = []
        plan = self.plan
        if plan.mode == "incremental" and plan.rewritten_months:
            old_golden = self._kept_golden()
            for month in plan.rewritten_months:
                for table in (self._old_month_sums(month), self.month_sums(month)):
                    if table is not None:
                        raw = table.select("customer_id").distinct()
                        ids += [raw, _as_golden_customers(self.con, self.lake, raw),
                                _mapped(raw, old_golden)]
        if plan.mode == "incremental" and plan.golden_changed:
            before, now = self._kept_golden(), self.golden
            pairs = [t.select("customer_id", "golden_customer_id") for t in (before, now) if t is not None]
            if pairs:
                every = ibis.union(*pairs, distinct=False)
                counted = every.group_by(["customer_id", "golden_customer_id"]).aggregate(n=every.count())
                # a pair in one table only: a merge made or undone
                moved = counted.filter(counted.n == 1) if len(pairs) == 2 else counted
                ids += [moved.select("customer_id"), moved.select(customer_id=moved.golden_customer_id)]
        if not ids:
            self._affected = None
        else:
            every = ibis.union(*ids, distinct=True)
            self._affected = self._work_table("affected_customers", every)
        return self._affected

    def _kept_golden(self) -> ibis.Table | None:
        folder = kept.state_dir(self.lake) / "golden_ids"
        if not any(folder.rglob("*.parquet")):
            return None
        return kept.read_state(self.con, self.lake, "golden_ids")

    def _old_month_sums(self, month: str) -> ibis.Table | None:
        entry = (self.watermark or {}).get("months", {}).get(month)
        if entry is None:
            return None
        return kept.read_state(self.con, self.lake, f"baskets/{entry['file']}")

    def _recomputed(self, affected: ibis.Table, build) -> ibis.Table:
        """`build(lines)` on the lines of the affected customers alone."""
        return build(self.golden_lines.semi_join(affected, "customer_id"))

    def _rolled(self, name: str, roll, build) -> ibis.Table:
        """The kept `name` rolled forward by `roll(state)`, the affected customers' rows recomputed
        by `build(lines)`; `build(all lines)` for a full refresh."""
        if self.plan.mode == "full":
            return build(self.golden_lines)
        state, affected = self._kept(name), self.affected()
        if affected is None:
            return roll(state, None)
        rolled = roll(state.anti_join(affected, "customer_id"), affected)
        return rolled.union(self._recomputed(affected, build).cast(rolled.schema()))

    def _product_cycles(self) -> ibis.Table:
        return self._cycles(["customer_id", "product_id"])

    def _visit_cycles(self) -> ibis.Table:
        return self._cycles(["customer_id"])

    def _cycles(self, keys: list[str]) -> ibis.Table:
        new_cutoff = kept.cutoff(self.as_of)

        def build(lines: ibis.Table) -> ibis.Table:
            # most customer x product pairs have one day: summed apart, without the window (0143)
            return nextp_cycle_sums(member_lines(lines), keys, new_cutoff, single_days_apart="product_id" in keys)

        def roll(state: ibis.Table, affected: ibis.Table | None) -> ibis.Table:
            old_cutoff = kept.cutoff(date.fromisoformat(self.plan.old["as_of"]))
            new = self.golden_member_lines(old_cutoff, new_cutoff)
            if affected is not None:
                new = new.anti_join(affected, "customer_id")
            return roll_cycle_sums(state, new, keys, new_cutoff)

        return self._rolled("product_cycles" if len(keys) == 2 else "visit_cycles", roll, build)

    def _last_lines(self) -> ibis.Table:
        new_cutoff = kept.cutoff(self.as_of)

        def build(lines: ibis.Table) -> ibis.Table:
            return last_bought(lines.filter(lines.transaction_ts < self.cutoff_ts(new_cutoff)), self.products)

        def roll(state: ibis.Table, affected: ibis.Table | None) -> ibis.Table:
            # every new line is later than every kept one: a customer with new lines, their latest
            new = self.golden_member_lines(kept.cutoff(date.fromisoformat(self.plan.old["as_of"])), new_cutoff)
            if affected is not None:
                new = new.anti_join(affected, "customer_id")
            latest = last_bought(new, self.products)
            return state.anti_join(latest, "customer_id").union(latest.cast(state.schema()))

        return self._rolled("last_lines", roll, build)

    def _category_sums(self) -> ibis.Table:
        """The category sums whole: from the lines (a full refresh), or the kept ones rolled."""
        since, new_cutoff = self.since(), kept.cutoff(self.as_of)

        def build(lines: ibis.Table) -> ibis.Table:
            day_after = self.cutoff_ts(new_cutoff)
            return category_sums(lines.filter(lines.transaction_ts < day_after), self.products, since=since)

        def roll(state: ibis.Table, affected: ibis.Table | None) -> ibis.Table:
            summed = _signed_sums(state, *self._window_edges(affected))
            return summed.filter(summed.lines > 0)

        return self._rolled("category_sums", roll, build)

    def trait_baskets(self) -> ibis.Table:
        """The window's baskets with a trait's signal (`analytics.traits.signal_baskets`, refusals
        out): the kept ones rolled by the new days (`_trait_baskets`), written under the next state
        with the as_of they are of (first: a refresh stopped between the two writes them again)."""
        return self._state_of_as_of(kept.TRAIT_BASKETS, kept.TRAIT_BASKETS_OF, self._trait_baskets)

    def _state_of_as_of(self, name: str, about: str, build: Callable[[], ibis.Table]) -> ibis.Table:
        """The state table `name` of this refresh, refusals out: `build()` written under the next
        state with the as_of it is of beside it (`about`; first: a refresh stopped between the two
        writes them again), then read from there."""
        folder = kept.next_dir(self.lake)
        if not (folder / name).exists():
            folder.mkdir(parents=True, exist_ok=True)
            (folder / about).write_text(json.dumps({"as_of": self.as_of.isoformat()}), encoding="utf-8")
            _write(self.con, build(), folder / name, order=False)
        return self._profiled(kept.read_state(self.con, self.lake, name, kept.NEXT_FOLDER))

    def _kept_of_old_as_of(self, name: str, about: str) -> bool:
        """Whether the kept state holds `name` of the kept as_of (as `about` beside it says: a
        refresh whose code did not keep it leaves an older one)."""
        state = kept.state_dir(self.lake)
        return (state / about).exists() and (state / name).exists() \
            and json.loads((state / about).read_text(encoding="utf-8"))["as_of"] == self.plan.old["as_of"]

    def _trait_baskets(self) -> ibis.Table:
        """The signal baskets of this refresh's window: from the lines (a full refresh, or no kept
        ones of the kept as_of), or the kept ones with the new days' added and the baskets whose
        latest signal line left the window taken off, the affected customers' built again from
        their lines (decision 0145: a basket is in the window by its latest signal line alone)."""
        since, new_cutoff = self.since(), kept.cutoff(self.as_of)
        rules = self.options.traits

        def build(lines: ibis.Table) -> ibis.Table:
            return signal_baskets(lines.filter(lines.transaction_ts < self.cutoff_ts(new_cutoff)), self.products,
                                  rules, since)

        def roll(state: ibis.Table, affected: ibis.Table | None) -> ibis.Table:
            new = self._new_member_lines()
            if affected is not None:
                new = new.anti_join(affected, "customer_id")
            return rolled_signal_baskets(state, signal_baskets(new, self.products, rules), since)

        if self.plan.mode != "full" and not self._kept_of_old_as_of(kept.TRAIT_BASKETS, kept.TRAIT_BASKETS_OF):
            return build(self.golden_lines)
        return self._rolled(kept.TRAIT_BASKETS, roll, build)

    def produce_totals(self) -> ibis.Table:
        """Per customer, the window's decimal spend on the produce department and on every
        category (`analytics.traits.produce_totals`, refusals out): the heavy_produce trait's
        shares, without a group-by of every category_spend row. Written under the next state
        with the as_of they are of (first: a refresh stopped between the two writes them again)."""
        return self._state_of_as_of(kept.PRODUCE_TOTALS, kept.PRODUCE_TOTALS_OF, self._produce_totals)

    def _produce_totals(self) -> ibis.Table:
        """The produce totals of tonight's category sums (refusals in): the kept ones plus the
        days entering the window less the days leaving it, on a night whose category sums are
        rolled by those edges alone (no customer's recomputed: `affected`) from the state the
        kept totals are of (decision 0148); else from tonight's category sums."""
        rules = self.options.traits
        # the few categories' departments, written once: their codes' ranking compiles to a
        # large query, which each of the three sums below would compile again
        categories = self._work_table("category_departments",
                                      category_names(self.products).select("category_code", "department"),
                                      order=False)
        if self.plan.mode == "full" or self.affected() is not None \
                or not self._kept_of_old_as_of(kept.PRODUCE_TOTALS, kept.PRODUCE_TOTALS_OF):
            return produce_totals(self.state("category_sums"), categories, rules)
        added, taken = self._window_edges()
        return rolled_produce_totals(kept.read_state(self.con, self.lake, kept.PRODUCE_TOTALS),
                                     produce_totals(added, categories, rules),
                                     produce_totals(taken, categories, rules))

    def month_sums(self, month: str) -> ibis.Table | None:
        """One month partition's basket sums (raw customer ids) up to this refresh's cutoff: the kept
        file when the month did not change, else computed and written under the next state (None:
        the month starts after the cutoff)."""
        if month in self.months:
            entry = self.months[month]
        else:
            month_cutoff = kept.effective_cutoff(month, self.as_of)
            start, files = kept.month_start(month), self.fingerprint["months"].get(month)
            if files is None or (start is not None and start >= kept.cutoff(self.as_of)):
                self.months[month] = None
                return None
            old = (self.watermark or {}).get("months", {}).get(month)
            if self.plan.mode == "incremental" and old is not None and month not in self.plan.rebuild_months:
                entry = {"file": old["file"], "cutoff": old["cutoff"], "folder": kept.STATE_FOLDER}
            else:
                name = f"{month}-{kept.month_key(month, files, month_cutoff)}"
                folder = kept.next_dir(self.lake) / "baskets" / name
                if not folder.exists():
                    lines = kept.month_lines(self.con, self.lake, month)
                    lines = lines.filter(lines.transaction_ts < self.cutoff_ts(date.fromisoformat(month_cutoff)))
                    _write(self.con, basket_sums(lines), folder, order=False)
                entry = {"file": name, "cutoff": month_cutoff, "folder": kept.NEXT_FOLDER}
            self.months[month] = entry
        if entry is None:
            return None
        # the entry's file is written once, before its first read, and never again in the run
        if month not in self._month_tables:
            self._month_tables[month] = kept.read_state(self.con, self.lake, f"baskets/{entry['file']}",
                                                        entry["folder"])
        return self._month_tables[month]

    def every_month_sums(self) -> ibis.Table:
        """The month partitions' basket sums, one after the other (raw customer ids, refusals in)."""
        parts = [t for t in (self.month_sums(m) for m in sorted(self.fingerprint["months"])) if t is not None]
        return ibis.union(*parts, distinct=False)

    def basket_sums(self, only: ibis.Table | None = None) -> ibis.Table:
        """Every basket's exact sums from the month partitions' basket sums (golden ids, refusals
        out), added up per basket (`only`: of the baskets whose basket_id it holds)."""
        sums = self.every_month_sums()
        if only is not None:
            sums = sums.semi_join(only, "basket_id")
        return regroup_basket_sums(self._profiled(_as_golden_customers(self.con, self.lake, sums)))

    def baskets(self) -> ibis.Table | BasketMonths:
        """The baskets table from the month partitions' basket sums: golden ids, refusals out. On
        DuckDB, one file per basket month (decision 0137): on a night that `follows` the kept
        refresh and finds its files as it left them, the baskets with a line in a month partition
        whose sums it computed again (the new days') are the only ones that may differ, and only
        the files of their basket months are written again."""
        whole = baskets_from_sums(self.basket_sums())
        if self.con.name != "duckdb":
            return whole
        kept_files = self.plan.old.get("results", {}).get("baskets") if self.follows() else None
        if not kept_files or kept_files != _followed_files(self.lake, "baskets") \
                or not all(path.startswith(BASKET_MONTH_FILE) for path, _, _ in kept_files):
            return BasketMonths(whole)
        for month in self.fingerprint["months"]:
            self.month_sums(month)
        again = [self.month_sums(m) for m, e in sorted(self.months.items())
                 if e is not None and e["folder"] == kept.NEXT_FOLDER]
        if not again:
            return BasketMonths(whole.limit(0), whole.select("basket_id").limit(0))
        touched = ibis.union(*(sums.select("basket_id") for sums in again), distinct=True)
        return BasketMonths(baskets_from_sums(self.basket_sums(touched)), touched)

    def customer_margin(self) -> ibis.Table | ResultDelta:
        """Per customer, their baskets' margin (`customer_margin_of_baskets`). On a night that
        follows the kept refresh, of the same margin rate, as a delta on its base (decision 0137):
        the rows of the customers the kept delta names and of those with a line since the kept day
        (the others' baskets are the kept ones), computed from their own basket sums; written
        whole when the delta would pass MARGIN_DELTA_SHARE of the base."""
        rate = settings().margin_rate if self.options.margin_rate is None else self.options.margin_rate
        margins = self.kept_result("customer_margin")
        if margins is None or margins.filter(margins.margin_rate != rate).count().execute():
            return customer_margin_of_baskets(self.basket_sums(), rate)
        customers = self.new_customers()
        deltas = delta_dir("customer_margin", self.lake)
        if _parquet_rows(deltas):
            kept_delta = read_table(self.con, f"{RESULTS}/{DELTAS}/customer_margin", self.lake)
            customers = customers.union(kept_delta.select("customer_id"), distinct=True)
        customers = self._work_table("margin_customers", customers, order=False)
        if customers.count().execute() > MARGIN_DELTA_SHARE * _parquet_rows(results_dir(self.lake) / "customer_margin"):
            return customer_margin_of_baskets(self.basket_sums(), rate)
        sums = self._profiled(_as_golden_customers(self.con, self.lake, self.every_month_sums()))
        rows = customer_margin_of_baskets(regroup_basket_sums(sums.semi_join(customers, "customer_id")), rate)
        return ResultDelta(rows, customers.limit(0), ("customer_id",))

    def complementary_categories(self) -> ibis.Table:
        """The complementary categories of the window, from its kept basket counts."""
        return complementary_of_counts(self.category_pairs(), self.products, self.options.pairs)

    def category_pairs(self) -> ibis.Table:
        """The window's baskets per category and category pair (`category_basket_counts`; decision
        0117): the kept counts + the baskets of the days entering the window − those of the days
        leaving it, when that is exact (`_pairs_roll`); else counted from the window's lines.
        Written under the next state with the profiling refusals they leave out."""
        folder = kept.next_dir(self.lake) / kept.CATEGORY_PAIRS
        if not folder.exists():
            refused = self.refusals_key()
            counts = self._pairs_roll(refused)
            if counts is None:
                counts = category_basket_counts(self.lines_to_as_of(), self.products, since=self.since())
            # what they leave out first: a refresh stopped between the two writes them again
            kept.next_dir(self.lake).mkdir(parents=True, exist_ok=True)
            (kept.next_dir(self.lake) / kept.CATEGORY_PAIRS_OF).write_text(
                json.dumps({"profiling_refusals": refused}), encoding="utf-8")
            _write(self.con, counts.cast(COUNTS), folder, order=False)
        return kept.read_state(self.con, self.lake, kept.CATEGORY_PAIRS, kept.NEXT_FOLDER)

    def _pairs_roll(self, refused: str) -> ibis.Table | None:
        """The kept category pair counts rolled to this refresh's window (None: they cannot be).

        A basket's counts depend on the set of its categories in the window, so adding the baskets
        of the entering days and taking off those of the leaving days is exact when no basket is
        on both sides of an edge: every basket with lines entering has none before them (its
        first line is in the entering days) and every basket with lines leaving has none after
        them (its last line is in the leaving days), as the kept basket sums say. Counts of
        another set of profiled customers (a refusal, a merge, a month rewritten) are recounted."""
        state, plan = kept.state_dir(self.lake), self.plan
        if plan.mode != "incremental" or plan.rewritten_months or plan.golden_changed:
            return None
        about = state / kept.CATEGORY_PAIRS_OF
        if not (state / kept.CATEGORY_PAIRS).exists() or not about.exists() \
                or json.loads(about.read_text(encoding="utf-8"))["profiling_refusals"] != refused:
            return None
        old_as_of = date.fromisoformat(plan.old["as_of"])
        old_since, old_cutoff = old_as_of - timedelta(days=self.options.window_days - 1), kept.cutoff(old_as_of)
        since, new_cutoff = self.since(), kept.cutoff(self.as_of)
        entering_from, leaving_to = max(old_cutoff, since), min(since, old_cutoff)

        def lines(start: date, end: date) -> ibis.Table:
            at = self.lines.transaction_ts
            return member_lines(self.lines.filter((at >= self.cutoff_ts(start)) & (at < self.cutoff_ts(end))))

        entering, leaving = lines(entering_from, new_cutoff), lines(old_since, leaving_to)
        # the entering and leaving baskets' sums are among the edge baskets' (read once: 0145)
        sums = self.edge_basket_sums()
        before = sums.semi_join(entering.select("basket_id").distinct(), "basket_id")
        after = sums.semi_join(leaving.select("basket_id").distinct(), "basket_id")
        straddling = ibis.union(before.filter(before.first_ts < self.cutoff_ts(entering_from)).select("basket_id"),
                                after.filter(after.last_ts >= self.cutoff_ts(leaving_to)).select("basket_id"),
                                distinct=False)
        if straddling.count().execute():
            return None
        added = category_basket_counts(entering, self.products).cast(COUNTS)
        taken = category_basket_counts(leaving, self.products).cast(COUNTS)
        signed = ibis.union(kept.read_state(self.con, self.lake, kept.CATEGORY_PAIRS).cast(COUNTS), added,
                            taken.mutate(baskets=-taken.baskets), distinct=False)
        summed = signed.group_by(["code_a", "code_b"]).aggregate(
            # through float64, as the category sums' line count (exact below 2^53)
            baskets=signed.baskets.sum().cast("float64").cast("int64"))
        return summed.filter(summed.baskets > 0)

    def follows(self) -> bool:
        """Whether this night's lake differs from the kept refresh's by lines after its day alone:
        an incremental night, no month rewritten before the kept day (late import, erasure), the
        same golden ids (no merge) and the same profiling refusals (the products are the same:
        the plan is full otherwise)."""
        plan = self.plan
        return plan.mode == "incremental" and not plan.rewritten_months and not plan.golden_changed \
            and plan.old.get("profiling_refusals") == self.refusals_key()

    def kept_result(self, table: str) -> ibis.Table | None:
        """The last finished refresh's `table` (`FOLLOWED`), without its refresh_date, when this
        night may build on it (decision 0126): an incremental night whose lake changed only by
        days after the kept one (no month rewritten before it, no merge), with the same profiling
        refusals, and the table's files as that refresh left them. None otherwise."""
        plan = self.plan
        if not self.follows():
            return None
        files = plan.old.get("results", {}).get(table)
        if not files or files != _followed_files(self.lake, table):
            return None
        return self.result(table).drop("refresh_date")

    def lifecycle_history(self) -> ibis.Table | ResultDelta | Restamped:
        """The lifecycle history (`analytics.lifecycle_history`): the last refresh's, when this
        night closes no month (`Restamped`: no row written), with the rows of the month it closes
        added (`lifecycle_month`; a delta on the kept base when that holds no delta yet, else the
        table written whole), when the complete months' baskets are the ones it saw (decision
        0126); else from every basket (decision 0136)."""
        rules, baskets = self.options.lifecycle, self.result("baskets")
        history = self.kept_result("lifecycle_history")
        if history is not None and not self._baskets_across(date.fromisoformat(self.plan.old["as_of"])):
            old_open = kept.cutoff(date.fromisoformat(self.plan.old["as_of"])).replace(day=1)
            new_open = kept.cutoff(self.as_of).replace(day=1)
            if new_open == old_open:
                # the same rows, and so the same current stages: no customer's rows of either change
                return self._history_kept()
            if new_open == (old_open + timedelta(days=32)).replace(day=1):
                added = analytics.lifecycle_month(history, baskets, old_open, rules)
                if added is None:  # no one bought in the month: the same rows and stages
                    return self._history_kept()
                # the kept rows as they are, and the closed month's
                self.view_appends["lifecycle_history"] = f"CAST(month AS DATE) = DATE '{old_open.isoformat()}'"
                self.history_added = old_open
                added = added.cast(history.schema())
                if not _parquet_rows(delta_dir("lifecycle_history", self.lake)):
                    return ResultDelta(added, added.select(*HISTORY_KEYS).limit(0), HISTORY_KEYS)
                return history.union(added)
        return analytics.lifecycle_history(baskets, self.as_of, rules)

    def _history_kept(self) -> Restamped:
        """The kept lifecycle history on a night that changes none of its rows: the current stages
        and the flows follow it (`lifecycle`, `stage_flows`), and the 360 file keeps both."""
        self.view_changes.update(lifecycle_history=_nobody(), lifecycle=_nobody())
        self.history_unchanged = True
        return Restamped(HISTORY_KEYS)

    def lifecycle(self) -> ibis.Table | Restamped:
        """The current lifecycle stages: the last refresh's on a night that kept the history's rows
        (`_history_kept`: every customer's last month and path the same); on a night that added
        the closed month's rows to the kept ones, the last refresh's stages moved on by those rows
        (`next_stage`, decision 0148: the kept stages are of the kept history, the month before);
        else from the whole history."""
        previous = self.kept_result("lifecycle") if self.history_unchanged or self.history_added else None
        if self.history_unchanged and previous is not None:
            return Restamped(("customer_id",))
        history = self.result("lifecycle_history")
        if previous is not None:
            closed = history.filter(history.month == ibis.date(self.history_added))
            return analytics.next_stage(previous, closed, self.options.lifecycle)
        return analytics.current_stage(history, self.options.lifecycle)

    def stage_flows(self) -> ibis.Table:
        """The flows between stages per month: the last refresh's on a night that kept the history's
        rows, and with the closed month's flows added on the night that added its rows (a
        customer's rows run without a gap from their first month: the flow into the closed month
        is from their row of the month before, if any); else counted over the whole history."""
        flows = self.kept_result("stage_flows") if self.history_unchanged or self.history_added else None
        if flows is None:
            return analytics.stage_flows(self.result("lifecycle_history"))
        if self.history_unchanged:
            return flows
        history = self.result("lifecycle_history")
        month = ibis.date(self.history_added)
        before = history.filter(history.month == ibis.date((self.history_added - timedelta(days=1)).replace(day=1)))
        now = history.filter(history.month == month)
        moved = now.left_join(before.select("customer_id", from_stage=before.lifecycle_stage), "customer_id")
        added = moved.group_by([moved.month, moved.from_stage, moved.lifecycle_stage.name("to_stage")]).aggregate(
            customers=moved.count())
        return flows.union(added.cast(flows.schema()))

    def _baskets_across(self, old_as_of: date) -> bool:
        """Whether a line since the kept day's end joined a basket begun in a month complete then
        (that basket's spend, in a kept month, changed)."""
        old_cutoff = self.cutoff_ts(kept.cutoff(old_as_of))
        complete = self.cutoff_ts(kept.cutoff(old_as_of).replace(day=1))
        # a basket with a line since the kept day's end is an edge basket: its every month's sums
        # are among the edge baskets' (decision 0145)
        sums = self.edge_basket_sums()
        grown = sums.filter(sums.last_ts >= old_cutoff).select("basket_id")
        return bool(sums.filter(sums.first_ts < complete).semi_join(grown, "basket_id").count().execute())

    def touched_customers(self) -> ibis.Table:
        """The golden customers with a line (of any product: with a category or without) entering
        or leaving the window since the kept day: the only ones whose window (category spend,
        baskets and their spend) differs from the kept refresh's, on a night that `follows` it."""
        if self._touched is None:
            edges = self.edge_customers()
            self._touched = edges.filter(edges.window).select("customer_id")
        return self._touched

    def new_customers(self) -> ibis.Table:
        """The golden customers with a line since the kept day's end (of any product): the only
        ones whose baskets (and their sums) differ from the kept refresh's, on a night that
        `follows` it."""
        edges = self.edge_customers()
        return edges.filter(edges.new).select("customer_id")

    def edge_customers(self) -> ibis.Table:
        """Per golden customer with a line since the kept day's end or on a day leaving the window,
        whether they have one since the kept day's end (`new`) and one on a day entering or leaving
        the window (`window`): every line counted, whatever its product (the category sums' edges
        drop the lines of products without a category). One scan of the lines' times, kept in the
        results' work folder."""
        if self._edge_customers is None:
            since, new_cutoff = self.since(), kept.cutoff(self.as_of)
            old_as_of = date.fromisoformat(self.plan.old["as_of"])
            old_since, old_cutoff = old_as_of - timedelta(days=self.options.window_days - 1), kept.cutoff(old_as_of)
            entering_from, leaving_to = max(old_cutoff, since), min(since, old_cutoff)
            lines = self.golden_lines
            at = lines.transaction_ts
            new = (at >= self.cutoff_ts(old_cutoff)) & (at < self.cutoff_ts(new_cutoff))
            leaving = (at >= self.cutoff_ts(old_since)) & (at < self.cutoff_ts(leaving_to))
            edge = member_lines(lines.filter(new | leaving))
            edge_at = edge.transaction_ts
            in_window_edge = (edge_at >= self.cutoff_ts(entering_from)) | (edge_at < self.cutoff_ts(leaving_to))
            flagged = edge.select("customer_id", new=edge_at >= self.cutoff_ts(old_cutoff), window=in_window_edge)
            edges = flagged.group_by("customer_id").aggregate(new=flagged.new.any(), window=flagged.window.any())
            self._edge_customers = self._work_table("edge_customers", edges, order=False)
        return self._edge_customers

    def edge_basket_sums(self) -> ibis.Table:
        """Every month partition's basket sums (`every_month_sums`) of the baskets with a line (any
        customer's, any product's) since the kept day's end or on a day leaving the window since
        it: all the rows of every basket a night's edge checks ask about (one straddling the
        window's edges, or grown since the kept day), found by one scan of every month's sums
        rather than one per check (decision 0145). Kept in the results' work folder."""
        if self._edge_basket_sums is None:
            old_as_of = date.fromisoformat(self.plan.old["as_of"])
            old_since = old_as_of - timedelta(days=self.options.window_days - 1)
            old_cutoff, new_cutoff = kept.cutoff(old_as_of), kept.cutoff(self.as_of)
            at = self.golden_lines.transaction_ts
            new = (at >= self.cutoff_ts(old_cutoff)) & (at < self.cutoff_ts(new_cutoff))
            leaving = (at >= self.cutoff_ts(old_since)) & (at < self.cutoff_ts(min(self.since(), old_cutoff)))
            baskets = self.golden_lines.filter(new | leaving).select("basket_id").distinct()
            self._edge_basket_sums = self._work_table(
                "edge_basket_sums", self.every_month_sums().semi_join(baskets, "basket_id"), order=False)
        return self._edge_basket_sums

    def narrow_baskets(self) -> ibis.Table:
        """The narrow-basket customers (`analytics.narrow_baskets`): the last refresh's rows of the
        customers none of whose lines entered or left the window since (`touched_customers`, every
        line counted), computed for the others (a customer's row reads their own baskets and
        category spend of the window alone: decision 0130); for everyone without it."""
        spend, baskets = self.result("category_spend"), self.result("baskets")
        window = (self.as_of, self.options.window_days)
        previous = self.kept_result("narrow_baskets")
        if previous is None:
            return analytics.narrow_baskets(spend, baskets, *window)
        touched = self.touched_customers()
        fresh = analytics.narrow_baskets(spend.semi_join(touched, "customer_id"),
                                         baskets.semi_join(touched, "customer_id"), *window)
        return previous.anti_join(touched, "customer_id").union(fresh.cast(previous.schema()))

    def top_categories(self) -> ibis.Table:
        """Each customer's top categories of the window (`top_categories`): the last refresh's for
        the customers none of whose lines entered or left the window since (their category spend
        is the same rows), computed for the others (decision 0126); for everyone without it."""
        spend = self.result("category_spend")
        previous = self.kept_result("till_context")
        if previous is None:
            return top_categories(spend)
        touched = self.touched_customers()
        columns = [c for c in previous.columns if c.startswith("top_category_")]
        untouched = previous.anti_join(touched, "customer_id").select("customer_id", *columns)
        untouched = untouched.filter(ibis.or_(*[untouched[c].notnull() for c in columns]))
        fresh = top_categories(spend.semi_join(touched, "customer_id"))
        return untouched.union(fresh.cast(untouched.schema()))

    def last_bought(self) -> ibis.Table:
        """Each customer's latest line of a product with a category (the till context's), from the
        kept state: refusals out."""
        return self._profiled(self.state("last_lines"))

    def category_spend(self) -> ibis.Table:
        return category_spend_from_sums(self._profiled(self.state("category_sums")), self.products)

    def category_spend_result(self) -> ibis.Table | ResultDelta:
        """The category_spend result of this night: whole, or as a delta on the kept base
        (decision 0124). Its rows are the category sums' rows named, so a base computed from the
        kept sums' base (whole, or merged with the sums' delta of that base) takes as its delta the
        sums' delta of tonight named: the keys touched since the sums' base, those whose lines
        fell to zero as tombstones. It is written whole when the sums' base is rewritten tonight,
        or when the kept result's base is not of the kept sums' base, of these profiling refusals
        and products."""
        self.state("category_sums")
        compacted = kept.next_dir(self.lake) / "category_sums"
        about = {"category_sums": kept.files_of(compacted if compacted.exists() else
                                                kept.state_dir(self.lake) / "category_sums"),
                 "profiling_refusals": self.refusals_key(), "products": self.fingerprint["products"]}
        if compacted.exists() or base_about("category_spend", self.lake) != about:
            self.bases["category_spend"] = about
            return self.category_spend()
        delta = kept.read_state(self.con, self.lake, kept.SUMS_DELTA, kept.NEXT_FOLDER)
        rows = category_spend_from_sums(self._profiled(delta.filter(delta.lines > 0)), self.products)
        return ResultDelta(rows, delta.filter(delta.lines == 0).select(*kept.SUMS_KEYS), tuple(kept.SUMS_KEYS))

    def _spend_touched(self) -> ibis.Table:
        """The keys (customer_id, category_code) of category_spend's delta: every key changed
        since its base was written."""
        keys = kept.SUMS_KEYS
        try:
            return read_table(self.con, f"{RESULTS}/{DELTAS}/category_spend", self.lake).select(*keys)
        except LakeTableMissing:  # an empty delta Spark wrote without a file
            return ibis.memtable({k: [] for k in keys}, schema={k: "int64" for k in keys})

    def _spend_base(self) -> ibis.Table:
        """category_spend's base rows, as written (the delta not merged)."""
        return read_table(self.con, f"{RESULTS}/category_spend", self.lake)

    def _spend_present(self) -> ibis.Table:
        """Tonight's rows of the keys category_spend's delta names (its rows not gone): the merged
        table's rows of `_spend_touched`, read from the delta alone."""
        base = self._spend_base()
        try:
            delta = read_table(self.con, f"{RESULTS}/{DELTAS}/category_spend", self.lake)
        except LakeTableMissing:  # an empty delta Spark wrote without a file
            return base.filter(ibis.literal(False))
        return delta.filter(~delta[GONE]).select(*base.columns).cast(base.schema())

    def spend_distribution(self) -> ibis.Table:
        """category_spend's `spend_distribution` tonight, what the pyramid's cuts and the usage
        bounds are found from (decision 0141), computed once a run. The base's is kept beside
        it (SPEND_DISTRIBUTION, written the first time the base is read without a delta), and
        a night's is the kept one less the base's rows of the keys the delta names plus the
        delta's rows: no scan of every row but the base's few columns for the touched keys. From
        every row when none is kept of this base."""
        if self._distribution is not None:
            return self._distribution
        spend, spend_about = self.result("category_spend"), base_about("category_spend", self.lake)
        kept_one = None
        if spend_about is not None and base_about(SPEND_DISTRIBUTION, self.lake) == spend_about:
            try:
                kept_one = self.result(SPEND_DISTRIBUTION)
            except LakeTableMissing:  # an empty one Spark wrote without a file
                kept_one = None
        if delta_about(delta_dir("category_spend", self.lake)) is None:  # the base alone
            if kept_one is None and spend_about is not None:
                _write(self.con, analytics.spend_distribution(spend), results_dir(self.lake) / SPEND_DISTRIBUTION,
                       order=False, notes={BASE_ABOUT: spend_about})
                kept_one = self.result(SPEND_DISTRIBUTION)
            if kept_one is not None:
                self._distribution = kept_one
                return kept_one
        if kept_one is None:
            distribution = analytics.spend_distribution(spend)
        else:
            removed = self._spend_base().semi_join(self._spend_touched(), kept.SUMS_KEYS)
            distribution = analytics.updated_distribution(kept_one, removed, self._spend_present())
        self._distribution = self._work_table("spend_distribution", distribution, order=False)
        return self._distribution

    def category_pyramid_result(self) -> ibis.Table | ResultDelta:
        """The category_pyramid result of this night, its levels without the rank (read adds it,
        decision 0128): whole, or as a delta on the kept base when category_spend's is one on the
        base this one was computed with. A level is the rows up to a cut (`category_cuts`, found
        from tonight's `spend_distribution`: the last row of the level in the order spend
        descending, customer id ascending); a row's level differs from the base's only if its key
        was touched since (category_spend's delta) or its spend lies between the base's cut and
        tonight's; those rows are tonight's levels, the untouched ones read from the base."""
        spend, cutoffs = self.result("category_spend"), self.options.pyramid
        cuts = self._work_table("pyramid_cuts", analytics.category_cuts(spend, cutoffs, self.spend_distribution()),
                                order=False)
        about = (base_about("category_spend", self.lake) or {}) | {"cutoffs": repr(cutoffs)}
        kept_base = base_about("category_pyramid", self.lake) or {}
        if "category_spend" in self.bases or {k: v for k, v in kept_base.items() if k != "cuts"} != about:
            self.bases["category_pyramid"] = about | {"cuts": cuts.to_pyarrow().to_pylist()}
            return analytics.category_levels_within_cuts(spend, cuts, cutoffs)
        before = ibis.memtable(kept_base["cuts"], schema=cuts.schema())
        rows, gone = analytics.category_levels_delta(self._spend_base(), self._spend_present(), self._spend_touched(),
                                                     cuts, before, cutoffs)
        return ResultDelta(rows, gone, tuple(kept.SUMS_KEYS))

    def brand_loyalty_result(self) -> ibis.Table | ResultDelta:
        """The brand_loyalty result of this night: whole, or as a delta on the kept base when
        category_spend's is one on the base this one was computed with (decision 0124). A row
        differs from the base's when its key was touched since (category_spend's delta) or when
        its spend lies between the base's and tonight's bound of a usage tercile
        (`usage_bounds`, found from tonight's `spend_distribution`: a tercile is the spends up to
        a bound, so an untouched row changes usage only there); those rows are tonight's cells,
        computed with tonight's bounds, the untouched ones read from the base."""
        spend, rules = self.result("category_spend"), self.options.brand_loyalty
        bounds = usage_bounds(spend, self.spend_distribution())
        about = base_about("category_spend", self.lake) or {}
        kept_base = base_about("brand_loyalty", self.lake) or {}
        about = about | {"rules": repr(rules)}
        if "category_spend" in self.bases or {k: v for k, v in kept_base.items() if k != "bounds"} != about:
            found = bounds.to_pyarrow().to_pylist()
            self.bases["brand_loyalty"] = about | {"bounds": found}
            # every row's cell from the bounds found: `nine_cells`' values, without its window
            # ranking every row (decision 0144)
            return cells_within_bounds(spend, ibis.memtable(found, schema=bounds.schema()), rules)
        bounds = self._work_table("usage_bounds", bounds, order=False)
        before = ibis.memtable(kept_base["bounds"], schema=bounds.schema())
        rows, gone = cells_delta(self._spend_base(), self._spend_present(), self._spend_touched(), bounds, before,
                                 rules)
        gone = gone.join(category_names(self.products), "category_code")
        return ResultDelta(rows, gone.select("customer_id", "category"), ("customer_id", "category"))

    def customer_view_night(self) -> dict:
        """What `write_customer_view` is told of this night: `about` (what the file is of: as_of,
        and the inputs every table's rows depend on besides the lines), and, on a night that
        `follows` the kept refresh, the as_of it follows and per table the customers whose rows
        changed (written in the results' work folder): the customers with a line since the kept
        day for the baskets and the margins (each customer's rows are sums of their own baskets),
        the tables' own for the lifecycle history and stages (`view_changes`), and the rows a
        table added to the kept ones alone (`view_appends`: the closed month's history; decision
        0130)."""
        margin_rate = settings().margin_rate if self.options.margin_rate is None else self.options.margin_rate
        inputs = {"profiling_refusals": self.refusals_key(), "golden_ids": self.fingerprint["golden_ids"],
                  "products": self.fingerprint["products"], "margin_rate": margin_rate, "options": repr(self.options)}
        about = {"as_of": self.as_of.isoformat(), "inputs": inputs}
        if not self.follows():
            return {"about": about}
        new = self.new_customers()
        changed = {}
        for table, customers in (self.view_changes | {"baskets": new, "customer_margin": new}).items():
            folder = results_dir(self.lake) / WORK_FOLDER / "customer_view" / table
            _write(self.con, customers.select("customer_id"), folder, order=False)
            changed[table] = sorted(str(f) for f in folder.rglob("*.parquet"))
        return {"about": about, "follows": self.plan.old["as_of"], "changed": changed, "appended": self.view_appends}

    def refusals_key(self) -> str:
        """A digest of the profiling refusals this refresh leaves out."""
        return hashlib.sha256(json.dumps(self.refused).encode()).hexdigest()[:16]

    def visit_cycles(self) -> ibis.Table:
        return cycles_from_sums(self._profiled(self.state("visit_cycles")), kept.cutoff(self.as_of))

    def models(self) -> dict:
        """The fitted models of the night: `calibration` and `priors` (next purchases: the purchase
        cycles' priors, `cycle_priors`, fitted on the night's cycles) and `forecasts` (per
        customer). Given (`models`, a folder as results/_state holds them), this refresh's own
        (resumed), kept (an incremental refresh less than `refit_days` days after their fit), or
        fitted now: the calibration on the lines, the forecasts on the baskets, up to as_of."""
        if self._models is None:
            # where they are read from (None: fitted now); read whole, they are kept as they are
            source = self.forced_models
            models = kept.load_models(source) if source else None
            if models is None:
                source = kept.next_dir(self.lake)
                models = kept.load_models(source)
            if models is None and self.plan.mode == "incremental":
                source = kept.state_dir(self.lake)
                models = kept.load_models(source)
                if models is not None and (self.as_of - models["fitted_as_of"]).days >= self.options.refit_days:
                    models = None
            if models is None:
                source = None
                calibration = nightly.product_calibration(member_lines(self.lines_to_as_of()), self.as_of,
                                                          self.options.forecast)
                forecasts = nightly.fit_customer_forecasts(self.result("baskets"), self.as_of, self.options.forecast)
                models = {"fitted_as_of": self.as_of, "calibration": calibration, "priors": None,
                          "forecasts": forecasts}
            if models.get("priors") is None:
                # the purchase cycles' priors, fitted with the calibration on the night's cycles
                source = None
                models["priors"] = cycle_priors(cycles_from_sums(
                    self._profiled(self.state("product_cycles")), kept.cutoff(self.as_of)))
            if source is None:
                kept.save_models(self.lake, models)
            else:  # the files they were read from, copied: not written again from the objects
                kept.copy_models(source, self.lake)
            self._models = models
        return self._models

    def calibration(self) -> Calibration | None:
        return self.models()["calibration"]

    def forecasts(self) -> ibis.Table:
        """The per-customer forecasts, scored with the night's fitted models on the history
        features read from the customers' kept purchase history (decision 0133)."""
        fitted = self.models()["forecasts"]
        features = features_of_history(history_of_state(self.customer_history(), self.as_of), self.as_of)
        return ibis.memtable(nightly.customer_forecasts(
            self.result("baskets"), self.as_of, self.options.forecast, fitted=fitted, features=features))

    def customer_history(self) -> ibis.Table:
        """Every customer's purchase history at as_of (`history_state`, refusals out, as the
        baskets table): the kept one rolled by the new days, the stale customers' recomputed
        (`_history_recomputed`); from every basket for a full refresh. Written under the next
        state (a resumed refresh reads it back)."""
        folder = kept.next_dir(self.lake)
        if not (folder / kept.CUSTOMER_HISTORY).exists():
            baskets = self.result("baskets")
            purchases = baskets.select("customer_id", date=baskets.basket_date, spend=baskets.spend)
            if self.plan.mode == "full":
                state = history_state(purchases, self.as_of)
            else:
                old_as_of = date.fromisoformat(self.plan.old["as_of"])
                about = kept.state_dir(self.lake) / kept.CUSTOMER_HISTORY_OF
                refused = json.loads(about.read_text(encoding="utf-8"))["profiling_refusals"]
                recomputed = self._history_recomputed(refused, old_as_of)
                kept_history, rolled = self._kept(kept.CUSTOMER_HISTORY), purchases
                if recomputed is not None:
                    kept_history = kept_history.anti_join(recomputed, "customer_id")
                    rolled = purchases.anti_join(recomputed, "customer_id")
                # the days the roll reads, read from the baskets once
                days = self._work_table("history_days", rolled_days(rolled, old_as_of, self.as_of), order=False)
                state = roll_history_state(kept_history, days, old_as_of, self.as_of)
                if recomputed is not None:
                    state = state.union(history_state(purchases.semi_join(recomputed, "customer_id"), self.as_of))
            # what it leaves out first: a refresh stopped between the two writes them again
            folder.mkdir(parents=True, exist_ok=True)
            (folder / kept.CUSTOMER_HISTORY_OF).write_text(json.dumps({"profiling_refusals": self.refused}),
                                                           encoding="utf-8")
            _write(self.con, state, folder / kept.CUSTOMER_HISTORY, order=False)  # read whole
        return kept.read_state(self.con, self.lake, kept.CUSTOMER_HISTORY, kept.NEXT_FOLDER)

    def _history_recomputed(self, refused: list[int], old_as_of: date) -> ibis.Table | None:
        """The customers whose kept purchase history is recomputed from their baskets tonight (None:
        none): those whose state is stale (`affected`: a month rewritten before the kept day, a
        merge), whose profiling refusal was made or withdrawn since it was kept, and those with a
        basket of a kept day grown since (a line after the kept day's end in a basket begun
        before it: that day's spend changed)."""
        ids = [] if self.affected() is None else [self.affected()]
        changed = sorted(set(refused) ^ set(self.refused))
        if changed:
            ids.append(ibis.memtable({"customer_id": changed}, schema={"customer_id": "int64"}))
        old_cutoff = self.cutoff_ts(kept.cutoff(old_as_of))
        grown = [sums.filter(sums.last_ts >= old_cutoff).select("basket_id")
                 for sums in (self.month_sums(m) for m in self.plan.rebuild_months) if sums is not None]
        if grown:
            baskets = self.result("baskets")
            across = baskets.filter(baskets.basket_date <= ibis.date(old_as_of)).semi_join(
                ibis.union(*grown, distinct=False), "basket_id")
            ids.append(self._work_table("grown_baskets_customers", across.select("customer_id").distinct()))
        return ibis.union(*ids, distinct=True) if ids else None

    def watermark_now(self) -> dict:
        """What the next refresh compares the lake with."""
        for month in self.fingerprint["months"]:
            self.month_sums(month)
        months = {m: {"file": e["file"], "cutoff": e["cutoff"]} for m, e in self.months.items() if e is not None}
        self.state("product_cycles")
        if (kept.next_dir(self.lake) / "product_cycles").exists():
            cycles = {"base_as_of": self.as_of.isoformat(), "delta": False}
        else:
            cycles = {"base_as_of": kept.cycles_layout(self.plan.old)["base_as_of"], "delta": True}
        self.state("category_sums")
        if (kept.next_dir(self.lake) / "category_sums").exists():
            sums = {"base_as_of": self.as_of.isoformat(), "delta": False}
        else:
            sums = {"base_as_of": kept.sums_layout(self.plan.old)["base_as_of"], "delta": True}
        results = {table: _followed_files(self.lake, table) for table in FOLLOWED}
        return {"format": kept.FORMAT, "rules": self.options.state_rules(), "as_of": self.as_of.isoformat(),
                "fingerprint": self.fingerprint, "months": months, "product_cycles": cycles, "category_sums": sums,
                "results": results, "profiling_refusals": self.refusals_key()}

    def _work_table(self, name: str, table: ibis.Table, **options) -> ibis.Table:
        """`table` written to the results' work folder and read back: computed once, however
        often it is read, and spilled to disk rather than held in memory (`options`: `_write`'s)."""
        _write(self.con, table, results_dir(self.lake) / WORK_FOLDER / name, **options)
        return self.result(f"{WORK_FOLDER}/{name}")

    def previous(self, table: str) -> ibis.Table | None:
        """The previous refresh's `table`, as kept by `_keep_previous` (None before a second refresh)."""
        try:
            return read_result(self.con, f"{PREVIOUS_FOLDER}/{table}", self.lake)
        except LakeTableMissing:
            return None

    def result(self, table: str) -> ibis.Table:
        """The result `table` as its files are now (`read_result`): read once per version of its
        base's and delta's files, however many steps read it (a night read baskets 12 times and
        category_spend 14); read again once a step or a work table rewrites them."""
        version = (table, *(_file_versions(folder) for folder in (results_dir(self.lake) / table,
                                                                 delta_dir(table, self.lake))))
        if version not in self._results:
            self._results[version] = read_result(self.con, table, self.lake)
        return self._results[version]

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
        ("baskets", lambda run: run.baskets()),
        ("category_spend", lambda run: run.category_spend_result()),
        ("rfm", lambda run: analytics.rfm(run.result("baskets"), run.as_of, run.options.window_days)),
        ("pyramid", lambda run: analytics.customer_pyramid(
            run.result("baskets"), run.as_of, run.options.window_days, run.options.pyramid)),
        ("category_pyramid", lambda run: run.category_pyramid_result()),
        ("forecasts", lambda run: run.forecasts()),
        ("next_visits", lambda run: nightly.next_visits_table(run.as_of, run.visit_cycles(), run.options.forecast)),
        ("next_purchases", lambda run: nightly.next_purchases(
            None, run.as_of, run.options.forecast, every_product=run.product_forecasts())),
        ("next_categories", lambda run: nightly.next_categories(
            None, run.products, run.as_of, run.options.forecast, every_product=run.product_forecasts())),
        ("value", _value),
        ("lifecycle_history", lambda run: run.lifecycle_history()),
        ("lifecycle", lambda run: run.lifecycle()),
        ("stage_flows", lambda run: run.stage_flows()),
        ("refresh_flows", lambda run: analytics.refresh_flows(run.previous("lifecycle"), run.result("lifecycle"))),
        ("brand_loyalty", lambda run: run.brand_loyalty_result()),
        ("deal_proneness", lambda run: analytics.deal_proneness(
            run.result("baskets"), run.as_of, run.options.window_days)),
        ("trait_quality", lambda run: analytics.trait_quality(
            run.lines_to_as_of(), run.products, run.demographics(), run.options.traits, since=run.since())),
        ("traits", lambda run: analytics.household_traits_learnt(
            run.lines_to_as_of(), run.products, run.result("category_spend"), run.demographics(), run.options.traits,
            since=run.since(), quality=run.result("trait_quality"), baskets=run.trait_baskets(),
            produce_sums=run.produce_totals())),
        ("year_over_year", lambda run: analytics.year_over_year(
            run.result("baskets"), run.as_of, run.year_over_year_days())),
        ("narrow_baskets", lambda run: run.narrow_baskets()),
        ("customer_profiles", _profiles),
        ("complementary_categories", lambda run: run.complementary_categories()),
        ("till_context", lambda run: till_context(
            None, None, run.result("category_spend"), run.result("complementary_categories"), last=run.last_bought(),
            top=run.top_categories())),
        ("customer_margin", lambda run: run.customer_margin()),
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


def _latest_line_time(lake: Path) -> datetime | None:
    """The latest line time the basket line files' Parquet statistics give (None: a file or row
    group without them, or no file): at least every line's, or a later time a filter then finds
    no line at."""
    latest = None
    for file in sorted(table_path(BASKET_LINES, lake).rglob("*.parquet")):
        meta = pq.read_metadata(file)
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        if "transaction_ts" not in names:
            return None
        column = names.index("transaction_ts")
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(column).statistics
            if meta.row_group(group).num_rows and (stats is None or not stats.has_min_max
                                                    or not isinstance(stats.max, datetime)):
                return None
            if meta.row_group(group).num_rows:
                latest = stats.max if latest is None else max(latest, stats.max)
    return latest


def _followed_files(lake: Path, table: str) -> list[list]:
    """The Parquet files of a FOLLOWED result, its base's and its delta's (`kept.files_of`)."""
    return kept.files_of(results_dir(lake) / table) + [
        [f"{DELTAS}/{path}", size, at] for path, size, at in kept.files_of(delta_dir(table, lake))]


def _file_versions(folder: Path) -> tuple:
    """Every file under `folder` (its Parquet and the notes beside it: a restamped delta rewrites
    its notes alone), with its inode, size and modification time (ns): a file staged and swapped
    in is another inode, with a new time."""
    if not folder.exists():
        return ()
    return tuple((str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
                 for path in sorted(folder.rglob("*")) if path.is_file() for stat in (path.stat(),))


def _parquet_rows(folder: Path) -> int:
    """The rows of the Parquet files under `folder` (a result delta's: tombstones too): 0 when none."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.rglob("*.parquet")) if folder.exists() else 0


def _nobody() -> ibis.Table:
    """A table of no customer_id."""
    return ibis.memtable({"customer_id": []}, schema={"customer_id": "int64"})


def _signed_sums(state: ibis.Table, added: ibis.Table, taken: ibis.Table) -> ibis.Table:
    """The category sums `state` + `added` - `taken`, per customer and category (rows of zero
    lines kept: the caller drops them or keeps them as gone keys)."""
    columns = ("category_spend", "store_brand_spend", "lines")
    # one schema for the three parts: engines type the sums (and the kept Parquet) differently
    signed = ibis.union(
        state.select("customer_id", "category_code", *columns).cast(CATEGORY_SUMS),
        added.select("customer_id", "category_code", *columns).cast(CATEGORY_SUMS),
        taken.select("customer_id", "category_code", **{c: -taken[c] for c in columns}).cast(CATEGORY_SUMS),
        distinct=False,
    )
    summed = signed.group_by(["customer_id", "category_code"]).aggregate(
        category_spend=signed.category_spend.sum(), store_brand_spend=signed.store_brand_spend.sum(),
        # DuckDB sums BIGINTs into a HUGEINT (written to Parquet as a DOUBLE) that Ibis calls
        # int64, so a cast to int64 alone would be dropped: through float64 (exact below 2^53)
        lines=signed.lines.sum().cast("float64").cast("int64"))
    return summed.cast(CATEGORY_SUMS)


def _sums_of(base: ibis.Table, delta: ibis.Table) -> ibis.Table:
    """The category sums kept as a base and a delta: the delta's rows with lines (a row of zero
    lines is a key gone), and the base's rows of the keys the delta does not hold."""
    merged = kept.with_delta(base, delta, kept.SUMS_KEYS)
    return merged.filter(merged.lines > 0)


def _mapped(table: ibis.Table, golden: ibis.Table | None) -> ibis.Table:
    """`table` (with customer_id) with each merged member's id replaced by its golden id in `golden`."""
    if golden is None:
        return table
    golden = golden.rename(merged_customer_id="customer_id")
    joined = table.left_join(golden, table.customer_id == golden.merged_customer_id)
    return joined.mutate(customer_id=ibis.coalesce(joined.golden_customer_id, joined.customer_id)).select(
        *table.columns)


def _as_golden_customers(con: ibis.BaseBackend, lake: Path, lines: ibis.Table) -> ibis.Table:
    """The lines with each merged member's customer_id replaced by the golden one it was merged
    into (the lake's `golden_ids`, written by the identity merges), so every result sees one
    customer; the lines as they are when no member was merged."""
    return _mapped(lines, kept.golden_table(con, lake))


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
    full: bool = False,
    models: Path | None = None,
) -> RefreshResult:
    """Compute every result table from the lake and write it to <lake>/results/.

    `as_of` is the last day the results describe (default: the day of the lake's latest basket);
    `refresh_date` stamps the rows (default: today). Returns rows per table and seconds per step.
    With the state a previous refresh kept, only what changed in the lake since is read; `full`
    (and `restart`, which also recomputes the steps already done today) reads every line.
    `models` is a folder of fitted models to score with instead of fitting or keeping them (as
    results/_state/ holds them: models.json and forecast_models.pkl).
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    lake = (lake or settings().lake_path).resolve()
    con = con or connect(engine)
    run = _Run(con, lake, as_of, options, full=full or restart, models=models)
    refresh_date = refresh_date or date.today()
    state = _load_state(lake)
    # a run resumes only the same refresh: same date, same as_of, same rules, same profiling refusals
    refusals = run.refusals_key()
    key = {"refresh_date": refresh_date.isoformat(), "as_of": run.as_of.isoformat(), "options": repr(options),
           "profiling_refusals": refusals, "full": bool(full or restart)}
    done = [] if restart or {k: state.get(k) for k in key} != key else state.get("done", [])
    if not done:
        shutil.rmtree(kept.next_dir(lake), ignore_errors=True)  # a stopped refresh's state, of another key
    if state.get("refresh_date") not in (None, key["refresh_date"]):
        _keep_previous(lake)
    result = RefreshResult(refresh_date=refresh_date, as_of=run.as_of, mode=run.plan.describe())
    _clock(result, "plan", started, cpu_started)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console or Console(quiet=True),
    ) as progress:
        task = progress.add_task("refresh", total=len(STEPS))
        counted = 0.0  # CPU seconds of the rows' counts, outside every step
        for name, build in _steps():
            progress.update(task, description=f"refresh: {name}")
            if name in done:
                result.resumed.append(name)
            else:
                started, cpu_started = time.perf_counter(), time.process_time()
                _write_result(con, lake, name, build(run), refresh_date, run.bases.get(name))
                _clock(result, name, started, cpu_started)
                done.append(name)
                _save_state(lake, key | {"done": done})
            counting = time.process_time()
            if not _counted_in_view(lake, name):
                stored = _stored_rows(lake, name)
                result.rows[name] = run.result(name).count().execute() if stored is None else stored
            counted += time.process_time() - counting
            progress.advance(task)
    result.pairs_scored = run.pairs_scored
    result.cpu_seconds["rows"] = round(counted, 2)
    if run.pair_reach_cpu is not None:  # within next_purchases' own
        result.cpu_seconds["pair_reach"] = run.pair_reach_cpu
    started, cpu_started = time.perf_counter(), time.process_time()
    watermark = run.watermark_now()
    kept.keep_golden(lake)
    kept.promote(lake, watermark)
    _clock(result, "state", started, cpu_started)
    started, cpu_started = time.perf_counter(), time.process_time()
    view_rows = write_customer_view(lake, **run.customer_view_night())
    _clock(result, "customer_view", started, cpu_started)
    result.rows = {name: result.rows[name] if name in result.rows else view_rows[name] for name in STEPS}
    shutil.rmtree(results_dir(lake) / WORK_FOLDER, ignore_errors=True)
    return result


def _counted_in_view(lake: Path, name: str) -> bool:
    """Whether the result `name` is kept as a base and a delta of rows (decision 0124) and the
    customer-360 file holds its every row (CUSTOMER_TABLES): its rows are then counted in the
    file the refresh ends by writing (a count of the table there) rather than by the base's
    anti-join with the delta (decision 0142)."""
    return name in CUSTOMER_TABLES and any(delta_dir(name, lake).rglob("*.parquet"))


def _stored_rows(lake: Path, name: str) -> int | None:
    """The rows of the result `name` when it has no delta of rows: the sum of its Parquet files'
    row counts, read from their footers (decision 0142); None when it has a delta of rows or no file."""
    if any(delta_dir(name, lake).rglob("*.parquet")):
        return None
    files = sorted((results_dir(lake) / name).rglob("*.parquet"))
    return sum(pq.read_metadata(file).num_rows for file in files) if files else None


def _clock(result: RefreshResult, part: str, started: float, cpu_started: float) -> None:
    """Record the wall and CPU seconds of `part` of the refresh, begun at `started` (perf_counter)
    and `cpu_started` (process_time)."""
    result.seconds[part] = round(time.perf_counter() - started, 2)
    result.cpu_seconds[part] = round(time.process_time() - cpu_started, 2)


def _keep_previous(lake: Path) -> None:
    """Keep the last refresh's KEPT_TABLES under results/_previous/ before a refresh of a new day
    overwrites them: the next refresh compares its results with these (decision 0042). A refresh
    run again on the same day keeps the ones of the day before."""
    for table in KEPT_TABLES:
        source, kept = results_dir(lake) / table, results_dir(lake) / PREVIOUS_FOLDER / table
        if source.exists():
            # its delta with it (a base and an empty delta: decision 0136), read as it was
            for copied, copy in ((source, kept), (delta_dir(table, lake), delta_dir(f"{PREVIOUS_FOLDER}/{table}", lake))):
                shutil.rmtree(copy, ignore_errors=True)
                if copied.exists():
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copytree(copied, copy)


@dataclass(frozen=True)
class BasketMonths:
    """The baskets written as one file per basket month (decision 0137): `rows`, every basket
    (`touched` None), or the baskets `touched` (basket_id) recomputed: the files of their months
    are written again, each of the kept file's other rows and those, the other files kept."""

    rows: ibis.Table
    touched: ibis.Table | None = None


#: The baskets' files on DuckDB: one per basket month, named BASKET_MONTH_FILE + "YYYY-MM.parquet".
BASKET_MONTH_FILE = "month-"


def _write_basket_months(con: ibis.BaseBackend, lake: Path, built: BasketMonths, refresh_date: date) -> None:
    """Write the baskets as one file per basket month, in customer order (decision 0137): every
    month's, or the months of the baskets `touched` (the other files linked from the kept
    table, its rows stamped with `refresh_date` when read); staged beside the table, swapped in."""
    folder, name = results_dir(lake) / "baskets", "baskets_months"
    stamp = ibis.date(refresh_date.isoformat())
    staged = folder.parent / "_staging" / folder.name
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    work = results_dir(lake) / WORK_FOLDER / name  # computed once, read for each month
    _write(con, built.rows, work, order=False)
    rows = con.read_parquet(work / "*.parquet")
    months = sorted(rows.select("basket_month").distinct().to_pyarrow()["basket_month"].to_pylist())
    for month in months:
        file = f"{BASKET_MONTH_FILE}{month:%Y-%m}.parquet"
        part = rows.filter(rows.basket_month == month).mutate(refresh_date=stamp)
        if built.touched is not None and (folder / file).exists():
            kept_rows = con.read_parquet(folder / file).anti_join(built.touched, "basket_id")
            part = kept_rows.mutate(refresh_date=stamp).union(part.cast(kept_rows.schema()))
        con.to_parquet(part.order_by("customer_id"), staged / file, compression="zstd")
    if built.touched is not None:
        for kept_file in folder.glob(f"{BASKET_MONTH_FILE}*.parquet"):
            if not (staged / kept_file.name).exists():
                os.link(kept_file, staged / kept_file.name)
    deltas = delta_dir("baskets", lake)
    shutil.rmtree(deltas, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staged, folder)
    if built.touched is not None:  # the kept files' rows read with tonight's date (decision 0136)
        _write_result(con, lake, "baskets", Restamped(("basket_id",)), refresh_date)


def _write_result(con: ibis.BaseBackend, lake: Path, name: str,
                  built: ibis.Table | ResultDelta | Restamped | BasketMonths,
                  refresh_date: date, about: dict | None = None) -> None:
    """Write one step's result stamped with `refresh_date`: whole (with `about`, what its base is
    computed from, when its step says), or as a delta on the kept base (decision 0124)."""
    stamp = ibis.date(refresh_date.isoformat())
    deltas = delta_dir(name, lake)
    if isinstance(built, Restamped):  # the kept base and delta, stamped with tonight's date (0136)
        about = delta_about(deltas) or {"keys": list(built.keys)}
        deltas.mkdir(parents=True, exist_ok=True)
        staged = deltas / f"{DELTA_ABOUT}.tmp"
        staged.write_text(json.dumps(about | {"refresh_date": refresh_date.isoformat()}), encoding="utf-8")
        os.replace(staged, deltas / DELTA_ABOUT)
        return
    if isinstance(built, BasketMonths):
        _write_basket_months(con, lake, built, refresh_date)
        return
    if isinstance(built, ResultDelta):
        rows = built.rows.mutate(refresh_date=stamp, **{GONE: ibis.literal(False)})
        gone = built.gone.select(*built.keys).distinct()
        tombstones = gone.select(*(gone[c] if c in built.keys else ibis.null(t).name(c)
                                   for c, t in rows.schema().items() if c != GONE), **{GONE: ibis.literal(True)})
        notes = {DELTA_ABOUT: {"keys": list(built.keys), "refresh_date": refresh_date.isoformat()}}
        _write(con, rows.union(tombstones.cast(rows.schema())), deltas, notes=notes)
        return
    # the delta out first: a reader between the two sees the old base alone (an earlier night's
    # table); once the new base is staged (it may read the kept delta: decision 0136)
    _write(con, built.mutate(refresh_date=stamp), results_dir(lake) / name,
           notes=None if about is None else {BASE_ABOUT: about},
           before_swap=lambda: shutil.rmtree(deltas, ignore_errors=True))


def _write(con: ibis.BaseBackend, table: ibis.Table, folder: Path, order: bool = True,
           compression: str = "zstd", notes: dict[str, dict] | None = None,
           before_swap: Callable[[], None] | None = None) -> None:
    """Write a result table whole: stage it beside the old one, then swap. A per-customer table is
    written in customer order (unless `order` is False: the kept state is read whole), so a read of
    one customer (the back office's customer 360) skips every row group but the customer's by its
    min/max statistics (decision 0029). `compression` is DuckDB's (Spark writes its default);
    `notes`, JSON files written beside the Parquet (file name -> content), swapped in with it;
    `before_swap`, called once the table is staged, before the old one is replaced."""
    staged = folder.parent / "_staging" / folder.name
    shutil.rmtree(staged, ignore_errors=True)
    if order and "customer_id" in table.columns:
        table = table.order_by("customer_id")
    if con.name == "duckdb":
        staged.mkdir(parents=True)
        con.to_parquet(table, staged / "part-0.parquet", compression=compression)
    else:
        con.to_parquet(table, staged, mode="overwrite")
    for file_name, content in (notes or {}).items():
        (staged / file_name).write_text(json.dumps(content), encoding="utf-8")
    if before_swap is not None:
        before_swap()
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
