"""What the nightly refresh keeps from one night to the next, and what of the lake changed since.

The refresh reads the basket lines through four kinds of state, all kept under
<lake>/results/_state/ and all exact (decimal sums, whole-day counts), so that the state rolled
forward by a night's new lines is the state a full recomputation gives, to the last digit
(decision 0070):

- `baskets/`: per month partition of the lake, every basket's sums (`analytics.baskets.basket_sums`,
  the members' own customer ids); a month is recomputed when its files changed or when the refresh's
  last day moved inside it (so only the current month is read on an ordinary night);
- `category_sums`: per customer and category, the window's spend, store-brand spend and lines
  (`analytics.brand_loyalty.category_sums`): the days entering the window added, the days leaving it
  taken off, a row whose lines fall to zero gone; as a base and a delta (`category_sums_delta`: the
  keys touched since the base, rolled, a gone key as a row of zero lines), as the per-pair cycles;
- `product_cycles` and `visit_cycles`: per customer and product, and per customer, the shopping days,
  the exact sums of the logarithms of their gaps and of the days' decay weights
  (`forecasting.next_purchase.cycle_sums`),
  rolled forward with the new days; the per-pair cycles (about a row per line) as a base and a
  delta (`product_cycles_delta`: the pairs bought since the base, rolled), so that a night writes
  the pairs it touched, not every pair (the base is rewritten every `refit_days` days);
- `last_lines`: per customer, their latest line of a product with a category (the till context's
  last purchase): replaced by the latest of their new lines;
- `category_pairs`: the window's baskets per category and category pair (the complementary
  categories' counts, `analytics.till_context.category_basket_counts`, refusals out): the baskets of
  the days entering the window added, those of the days leaving it taken off, when no basket is on
  both sides of an edge (the baskets' first and last line times say); else counted again;
- `models.json` and `forecast_models.pkl`: the fitted calibration of the next-purchase
  probabilities and the purchase cycles' priors (the products' mean cycles and the pooled spread),
  the per-customer forecasts' models and the day they were fitted on (refitted every
  `RefreshOptions.refit_days` days; every customer is scored every night);
- `customer_history`: per customer (refusals out, as the baskets table), the whole-day counts and
  exact sums the forecasts' history features are read from, one count of 4-week blocks with a
  purchase per phase of the day (`forecasting.history_state`, decision 0133): the new days added,
  the days leaving the recent windows taken off; recomputed for the customers whose state is stale,
  whose refusal changed and whose basket of the kept day grew past midnight;
- `pair_reach`: the customer x product pairs whose forecast may reach the next-purchase cut on a
  night before the models' next refit (decision 0122), as their rows of the purchase cycles on the
  night it was computed (decision 0146), with `pair_reach.json` (the nights, the models and the
  cycles' base it holds for): a night between refits scores these and the pairs of the customer x
  category groups bought since the base, not every pair, and reads the base only for the customers
  with a pair bought since it.

The state tables but the baskets' and the category pairs' are kept by golden customer (identity
merges applied) and include the customers who refused profiling (they are left out when the results
are derived, so a refusal or a consent given back needs no recomputation; the category pairs, counts
over baskets, are counted again). The watermark (`watermark.json`) records the last day the state
describes and a fingerprint of every lake file it was computed from. A change of the lake before
that day (a late import of old days, a month rewritten by an erasure) or of the golden ids (a merge
or an unmerge) makes the state of the customers concerned recompute from their lines; a change of
the products or of the rules, an earlier last day, or a last day in another block of
`next_purchase.DECAY_BLOCK_DAYS` days (the epoch of the decayed purchase counts, every 9.8
years), makes the whole state recompute.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import ibis

from clientele.analytics.results import results_dir
from clientele.forecasting.next_purchase import decay_epoch
from clientele.lake.reader import LakeTableMissing, read_table, table_path
from clientele.lake.schema import BASKET_LINES, GOLDEN_IDS

#: Under the results folder: the state of the last finished refresh.
STATE_FOLDER = "_state"
#: Under the results folder: the state a refresh in progress computes (promoted at its end).
NEXT_FOLDER = "_state_next"
WATERMARK = "watermark.json"
MODELS = "models.json"
FORECAST_MODELS = "forecast_models.pkl"
#: Bumped when the state's layout or meaning changes: a state of another format is recomputed.
FORMAT = 6  # 3 on two branches at once (decisions 0114 and 0117), 4 once both were merged; 5: 0121 and 0122;
# 6: the customers' purchase history (0133)
#: The state tables rolled forward (besides the baskets' month partitions).
ROLLED_TABLES = ("category_sums", "product_cycles", "visit_cycles", "last_lines")
#: Beside `product_cycles` (the base): the rows of the pairs bought since the base was written.
CYCLES_DELTA = "product_cycles_delta"
CYCLE_KEYS = ["customer_id", "product_id"]
#: Beside `category_sums` (the base): the rows of the customer x category keys whose window sums
#: changed since the base was written, rolled; a key whose lines fell to zero is a row with zero
#: lines (gone from the sums, decision 0121).
SUMS_DELTA = "category_sums_delta"
SUMS_KEYS = ["customer_id", "category_code"]
#: The window's baskets per category and category pair (decision 0117), and beside it (JSON) the
#: profiling refusals it leaves out.
CATEGORY_PAIRS = "category_pairs"
CATEGORY_PAIRS_OF = "category_pairs.json"
#: The customer x product pairs whose forecast may reach the cut before the models' next refit
#: (decision 0122), their rows of the purchase cycles (0146), and beside it (JSON) what that bound
#: holds for: the nights, the models, the base, and `rows` (a reach kept as keys alone is not read).
PAIR_REACH = "pair_reach"
PAIR_REACH_OF = "pair_reach.json"
#: Per customer, the purchase history the forecasts' features are read from (decision 0133,
#: `forecasting.history_state`), and beside it (JSON) the profiling refusals it leaves out.
CUSTOMER_HISTORY = "customer_history"
CUSTOMER_HISTORY_OF = "customer_history.json"
#: The window's baskets with a line of a trait's signal categories, per customer and trait, with
#: the latest such line's time (`analytics.traits.signal_baskets`: golden ids, refusals in), rolled
#: by each night (decision 0145); beside it, the as_of it was kept at (a refresh whose code did
#: not keep it leaves an older one: built again from the lines).
TRAIT_BASKETS = "trait_baskets"
TRAIT_BASKETS_OF = "trait_baskets.json"
#: Per customer, the window's spend on the produce department's categories and on every category
#: (`analytics.traits.produce_totals` of the category sums: golden ids, refusals in), rolled by
#: the category sums' edges each night (decision 0148); beside it, the as_of it was kept at.
PRODUCE_TOTALS = "produce_totals"
PRODUCE_TOTALS_OF = "produce_totals.json"


def cycles_layout(watermark: dict | None) -> dict:
    """How the kept purchase cycles are stored: `base_as_of` (the day the base describes) and
    `delta` (whether a delta is kept beside it)."""
    watermark = watermark or {}
    return watermark.get("product_cycles") or {"base_as_of": watermark.get("as_of"), "delta": False}


def sums_layout(watermark: dict | None) -> dict:
    """How the kept category sums are stored, as `cycles_layout` says of the cycles."""
    watermark = watermark or {}
    return watermark.get("category_sums") or {"base_as_of": watermark.get("as_of"), "delta": False}


def with_delta(base: ibis.Table, delta: ibis.Table, keys: list[str], only: ibis.Table | None = None) -> ibis.Table:
    """A table kept as a base and a delta: the delta's rows, and the base's rows of the keys the
    delta does not hold. `only` (a table of some of the key columns): just the rows matching it,
    each of the two read once and filtered before the base is set against the delta (a base row
    matching `only` and hidden by a delta row has that row's keys: the delta row matches too), so
    the engine scans the base once with the filter's join instead of a union of it all."""
    if only is not None:
        on = list(only.columns)
        base, delta = base.semi_join(only, on), delta.semi_join(only, on)
    return base.anti_join(delta, keys).union(delta.cast(base.schema()))


def files_of(folder: Path) -> list[list]:
    """Each Parquet file under `folder`: relative path, size and modification time (ns). A file
    rewritten in place (staged and swapped in) gets a new time; a lake copied with its times kept
    (`cp -a`) keeps its state valid."""
    if not folder.exists():
        return []
    found = []
    for path in sorted(folder.rglob("*.parquet")):
        stat = path.stat()
        found.append([str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns])
    return found


def lake_fingerprint(lake: Path) -> dict:
    """What the state is computed from: the basket lines' files per month partition and the files
    of the products and golden ids tables."""
    lines = table_path(BASKET_LINES, lake)
    months = {}
    for folder in sorted(p for p in lines.iterdir() if p.is_dir()) if lines.exists() else []:
        months[folder.name] = files_of(folder)
    return {"months": months, "products": files_of(table_path("products", lake)),
            "golden_ids": files_of(table_path(GOLDEN_IDS, lake))}


@dataclass
class Plan:
    """How this refresh gets its state: `mode` full (everything from the lines) or incremental
    (the kept state rolled forward), and why; for an incremental refresh the month partitions
    whose baskets are recomputed, the months rewritten before the kept day (their customers'
    state recomputes) and whether the golden ids changed."""

    mode: str
    reason: str
    old: dict | None = None
    rebuild_months: list[str] = field(default_factory=list)
    rewritten_months: list[str] = field(default_factory=list)
    golden_changed: bool = False

    def describe(self) -> str:
        if self.mode == "full":
            return f"full ({self.reason})"
        parts = [f"incremental from {self.old['as_of']}"]
        if self.rewritten_months:
            parts.append(f"months rewritten before it: {', '.join(self.rewritten_months)}")
        if self.golden_changed:
            parts.append("golden ids changed")
        return "; ".join(parts)


def cutoff(as_of: date) -> date:
    """The first day after the refresh's: lines before it are described."""
    return as_of + timedelta(days=1)


def _month_end(month_folder: str) -> date | None:
    """The first day after the month of a partition folder `month=YYYY-MM` (None: another name)."""
    start = month_start(month_folder)
    return None if start is None else date(start.year + start.month // 12, start.month % 12 + 1, 1)


def month_start(month_folder: str) -> date | None:
    """The first day of the month of a partition folder `month=YYYY-MM` (None: another name)."""
    try:
        year, month = (int(part) for part in month_folder.split("=", 1)[1].split("-"))
        return date(year, month, 1)
    except (IndexError, ValueError):
        return None


def effective_cutoff(month_folder: str, as_of: date) -> str:
    """The cutoff as far as one month partition sees it: moving it past the month's end changes
    nothing of the month's baskets."""
    end = _month_end(month_folder)
    day = cutoff(as_of) if end is None else min(cutoff(as_of), end)
    return day.isoformat()


def plan(con: ibis.BaseBackend, lake: Path, old: dict | None, fingerprint: dict, as_of: date, rules: str,
         full: bool = False) -> Plan:
    """Full or incremental, from the kept watermark `old` and the lake's `fingerprint` now."""
    if full:
        return Plan("full", "asked")
    if old is None:
        return Plan("full", "no state kept")
    if old.get("format") != FORMAT or old.get("rules") != rules:
        return Plan("full", "the rules or the state's format changed")
    if old["fingerprint"]["products"] != fingerprint["products"]:
        return Plan("full", "the products changed")
    old_as_of = date.fromisoformat(old["as_of"])
    if as_of < old_as_of:
        return Plan("full", f"as_of {as_of} is before the kept state's {old_as_of}")
    old_cutoff = cutoff(old_as_of)
    if decay_epoch(old_cutoff) != decay_epoch(cutoff(as_of)):
        return Plan("full", f"the decayed purchase counts' epoch moved to {decay_epoch(cutoff(as_of))}")
    old_months, new_months = old["fingerprint"]["months"], fingerprint["months"]
    rebuild, rewritten = [], []
    for month in sorted(set(old_months) | set(new_months)):
        before, now = old_months.get(month, []), new_months.get(month, [])
        if before != now:
            kept = {tuple(f) for f in before}
            changed_or_gone = [f for f in before if tuple(f) not in {tuple(g) for g in now}]
            added = [f for f in now if tuple(f) not in kept]
            if changed_or_gone or _earliest(con, lake, month, added) < old_cutoff:
                rewritten.append(month)
            rebuild.append(month)
        elif old["months"].get(month, {}).get("cutoff") != effective_cutoff(month, as_of):
            rebuild.append(month)
    golden_changed = old["fingerprint"]["golden_ids"] != fingerprint["golden_ids"]
    return Plan("incremental", "state kept", old, rebuild, rewritten, golden_changed)


def _earliest(con: ibis.BaseBackend, lake: Path, month: str, files: list[list]) -> date:
    """The day of the earliest line of the month partition's `files` (new files of a known month)."""
    if not files:
        return date.max
    folder = table_path(BASKET_LINES, lake) / month
    table = con.read_parquet([str(folder / f[0]) for f in files]) if con.name == "duckdb" else \
        ibis.union(*[con.read_parquet(str(folder / f[0])) for f in files])
    earliest = table.transaction_ts.min().execute()
    return earliest.date() if hasattr(earliest, "date") else date.max


def month_lines(con: ibis.BaseBackend, lake: Path, month: str) -> ibis.Table:
    """The basket lines of one month partition (without the partition column)."""
    folder = table_path(BASKET_LINES, lake) / month
    if con.name == "duckdb":
        return con.read_parquet(str(folder / "**" / "*.parquet"))
    return con.read_parquet(str(folder))


def month_key(month: str, files: list[list], month_cutoff: str) -> str:
    """A name for one month's basket state: its files and cutoff, hashed (a resumed refresh finds
    the months it already wrote)."""
    return hashlib.sha256(json.dumps([month, files, month_cutoff]).encode()).hexdigest()[:16]


def state_dir(lake: Path) -> Path:
    return results_dir(lake) / STATE_FOLDER


def next_dir(lake: Path) -> Path:
    return results_dir(lake) / NEXT_FOLDER


def load_watermark(lake: Path) -> dict | None:
    path = state_dir(lake) / WATERMARK
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def read_state(con: ibis.BaseBackend, lake: Path, name: str, folder: str = STATE_FOLDER) -> ibis.Table:
    return read_table(con, f"results/{folder}/{name}", lake)


def golden_table(con: ibis.BaseBackend, lake: Path) -> ibis.Table | None:
    try:
        return read_table(con, GOLDEN_IDS, lake)
    except LakeTableMissing:
        return None


def keep_golden(lake: Path) -> None:
    """Copy the lake's golden ids beside the next state (the next refresh compares with them)."""
    source, kept = table_path(GOLDEN_IDS, lake), next_dir(lake) / GOLDEN_IDS
    shutil.rmtree(kept, ignore_errors=True)
    if source.exists():
        shutil.copytree(source, kept)
    else:
        kept.mkdir(parents=True)


def promote(lake: Path, watermark: dict) -> None:
    """Make the next state the kept one. The old watermark goes first: a refresh stopped in the
    middle of this leaves no watermark, so the next one recomputes everything rather than roll a
    state of two nights. Basket month files the new watermark no longer names are removed."""
    kept, new = state_dir(lake), next_dir(lake)
    kept.mkdir(parents=True, exist_ok=True)
    (kept / WATERMARK).unlink(missing_ok=True)
    if new.exists():
        for entry in sorted(new.iterdir()):
            if entry.name == "_staging":
                continue
            if entry.name == "baskets":
                target = kept / "baskets"
                target.mkdir(exist_ok=True)
                for month_file in (f for f in entry.iterdir() if f.name != "_staging"):
                    shutil.rmtree(target / month_file.name, ignore_errors=True)
                    os.replace(month_file, target / month_file.name)
                continue
            target = kept / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.replace(entry, target)
        shutil.rmtree(new)
    if not cycles_layout(watermark)["delta"]:
        shutil.rmtree(kept / CYCLES_DELTA, ignore_errors=True)  # the base was rewritten whole
    if not sums_layout(watermark)["delta"]:
        shutil.rmtree(kept / SUMS_DELTA, ignore_errors=True)
    named = {entry["file"] for entry in watermark["months"].values()}
    baskets = kept / "baskets"
    for month_file in baskets.iterdir() if baskets.exists() else []:
        if month_file.name not in named:
            shutil.rmtree(month_file, ignore_errors=True)
    staged = kept / f".{WATERMARK}"
    staged.write_text(json.dumps(watermark, indent=1), encoding="utf-8")
    os.replace(staged, kept / WATERMARK)


def load_models(folder: Path) -> dict | None:
    """The fitted models kept in `folder` (None: none): fitted_as_of (a date), calibration (a
    `Calibration` or None) and forecasts (a `nightly.FittedForecasts`)."""
    from clientele.forecasting.next_purchase import Calibration, CyclePriors

    path, pickled = folder / MODELS, folder / FORECAST_MODELS
    if not path.exists() or not pickled.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    with pickled.open("rb") as file:
        forecasts = pickle.load(file)  # written by save_models of this refresh, never taken from elsewhere
    priors = data.get("cycle_priors")
    return {"fitted_as_of": date.fromisoformat(data["fitted_as_of"]),
            "calibration": Calibration.from_dict(data["calibration"]) if data["calibration"] else None,
            "priors": CyclePriors.from_dict(priors) if priors else None,
            "forecasts": forecasts}


def save_models(lake: Path, models: dict) -> None:
    """Write the night's fitted models under the next state (the calibration as JSON, the
    forecasts' models pickled, without their data)."""
    folder = next_dir(lake)
    folder.mkdir(parents=True, exist_ok=True)
    forecasts = models["forecasts"]
    if forecasts.history is not None:
        forecasts = replace(forecasts, history=forecasts.history.kept())
    staged = folder / f".{FORECAST_MODELS}"
    with staged.open("wb") as file:
        pickle.dump(forecasts, file)
    os.replace(staged, folder / FORECAST_MODELS)
    # compact: the C encoder (indented, json encodes in Python: half a CPU second for 4 MB of priors)
    (folder / MODELS).write_text(json.dumps(models_json(models)), encoding="utf-8")


def copy_models(folder: Path, lake: Path) -> None:
    """The fitted models kept in `folder` (as `save_models` writes them, read whole by
    `load_models`) copied under the next state, unless they are there already: the same files
    `save_models` would write of them, without serialising the calibration again (4 MB of JSON on
    a 3.8M-line lake, half a CPU second a night)."""
    target = next_dir(lake)
    if folder.resolve() == target.resolve():
        return
    target.mkdir(parents=True, exist_ok=True)
    for name in (FORECAST_MODELS, MODELS):
        staged = target / f".{name}"
        shutil.copyfile(folder / name, staged)
        os.replace(staged, target / name)


def models_json(models: dict) -> dict:
    """What models.json holds of the night's models: the day they were fitted on, the
    next-purchase calibration and the purchase cycles' priors."""
    calibration, priors = models["calibration"], models.get("priors")
    return {"fitted_as_of": models["fitted_as_of"].isoformat(),
            "calibration": calibration.as_dict() if calibration else None,
            "cycle_priors": priors.as_dict() if priors else None}
