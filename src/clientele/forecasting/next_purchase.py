"""When each customer will next visit, and when they will next buy each product they buy.

Each customer's purchase cycle for a product is the time between two days on which they bought it.
Its logarithm is modelled as normal (a log-normal cycle): the mean and spread of the customer's own
cycles, shrunk towards the product's cycle across all customers when the customer has few of them
(`PRIOR_WEIGHT` cycles' worth). Given the days already elapsed since the last purchase, the
expected day of the next purchase is the median of the remaining time, and the probability of a
purchase within the horizon is the chance the cycle ends in it. Visits follow the same model on
the days a customer shops at all (their personal frequency), and a product cannot be bought
before the customer's next visit, so its day is never earlier than the expected visit and its
probability is scaled by the chance of a visit in the horizon.

Input: basket lines with `customer_id`, `transaction_ts`, `product_id` as an Ibis table (the
lake's `basket_lines`, on DuckDB or Spark) or a pandas DataFrame. The engine computes the
summaries and the model too (the normal distribution as Ibis expressions, `normal.py`) and cuts
the forecasts before anything is collected: a night's millions of customer-product pairs never
reach pandas; only the population's figures and the calibration's sample do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
import math

import ibis
import numpy as np
import pandas as pd

from clientele.forecasting import normal
from clientele.sums import decimal_sum, exact_sum

#: How many cycles of the product's population-wide behaviour a customer's own cycles are blended
#: with: a customer with 2 cycles is half their own, half the product's.
PRIOR_WEIGHT = 2.0
#: The smallest spread (standard deviation of log days) of any cycle, so that a perfectly regular
#: history still leaves room for a day early or late.
MIN_LOG_SPREAD = 0.15
#: The fewest customer-product pairs bought (and not bought) in the window before the forecast for
#: the probabilities to be recalibrated on it.
MIN_CALIBRATION_PAIRS = 200
#: The calibration learns three coefficients: this many customers' pairs pin them down, so beyond
#: it every n-th customer id is read (the night's cost then grows with the forecasts alone).
CALIBRATION_CUSTOMERS = 20_000
#: How fast a purchase day counts less in `recent_purchases`: exp(-age / RECENT_DECAY_DAYS) (decision 0114).
RECENT_DECAY_DAYS = 56.0
#: The decayed counts are kept as exact sums of exp((day - epoch) / RECENT_DECAY_DAYS), the epoch
#: the first day of the cutoff's block of DECAY_BLOCK_DAYS days from DECAY_ORIGIN: within a block
#: the largest weight, exp(64), keeps the sums well inside their decimal(38, 6).
DECAY_ORIGIN = dt.date(2000, 1, 1)
DECAY_BLOCK_DAYS = 64 * 56


def _table(lines) -> ibis.Table:
    return lines if isinstance(lines, ibis.Table) else ibis.memtable(lines)


def _default_as_of(table: ibis.Table) -> pd.Timestamp:
    """The day after the last basket: predictions are made the morning after the data ends."""
    return pd.Timestamp(table.transaction_ts.max().to_pandas()).normalize() + pd.Timedelta(days=1)


def _cycles(lines: ibis.Table, keys: list[str], as_of: pd.Timestamp) -> ibis.Table:
    """Per `keys` group: the number of shopping days, the last one, and the count, sum and sum of
    squares of the logarithms of the days between consecutive shopping days (before `as_of`)."""
    return cycles_from_sums(cycle_sums(lines, keys, as_of), as_of)


def decay_epoch(cutoff: pd.Timestamp | dt.date) -> dt.date:
    """The epoch of the decayed counts of the days before `cutoff` (see `DECAY_BLOCK_DAYS`): a
    refresh whose cutoff is in another block than the kept state's recomputes it."""
    day = pd.Timestamp(cutoff).date()
    return DECAY_ORIGIN + dt.timedelta(days=(day - DECAY_ORIGIN).days // DECAY_BLOCK_DAYS * DECAY_BLOCK_DAYS)


def _decay_weight(day: ibis.Value, epoch: dt.date) -> ibis.Value:
    """exp((day - epoch) / RECENT_DECAY_DAYS) as decimal(38, 6): a day's weight in `decayed_days`,
    the same decimal whichever night adds it (days before the epoch weigh less than 1, those
    over two years before it 0)."""
    since = day.delta(ibis.date(epoch.isoformat()), unit="day").cast("float64")
    return (since / RECENT_DECAY_DAYS).exp().cast("decimal(38, 6)")


def _log_cycle_sums(days: ibis.Table, keys: list[str], epoch: dt.date, anchors: ibis.Table | None = None) -> ibis.Table:
    """Per `keys` group of `days` (keys, day: distinct), the days, the last one, the exact
    (decimal) sums of the logarithms of the gaps between consecutive days and of the days'
    weights from `epoch` (`decayed_days`). `anchors` (keys, day), when given, are each group's
    last day already counted: the first gap is counted from it, the day itself not again."""
    counted = days.mutate(counted=ibis.literal(1))
    if anchors is not None:
        counted = counted.union(anchors.mutate(counted=ibis.literal(0)))
    days = counted.mutate(previous_day=counted.day.lag().over(ibis.window(group_by=keys, order_by="day")))
    log_cycle = days.day.delta(days.previous_day, unit="day").cast("float64").ln()
    return days.group_by(keys).aggregate(
        n_days=days.counted.sum(),
        last_day=days.day.max(),
        n_cycles=log_cycle.count(),
        sum_log=decimal_sum(log_cycle, decimals=12),
        sum_log_squared=decimal_sum(log_cycle * log_cycle, decimals=12),
        decayed_days=ibis.ifelse(days.counted == 1, _decay_weight(days.day, epoch), None).sum(),
    )


def cycle_sums(lines: ibis.Table, keys: list[str], as_of: pd.Timestamp | dt.date,
               single_days_apart: bool = False) -> ibis.Table:
    """What `_cycles` reads, with the sums of logarithms kept as exact decimals (null without a
    cycle), and `decayed_days`, the exact sum of the days' weights exp((day - epoch) / 56) from
    the `decay_epoch` of `as_of`: the state the incremental refresh keeps and rolls forward
    (`roll_cycle_sums`).

    With `single_days_apart` (for keys most groups of which have one day, as customer x product
    pairs: `_single_days_apart`), the groups of one day are summed without the window over the
    days; the same rows, to the last digit."""
    before = lines.filter(lines.transaction_ts < pd.Timestamp(as_of).to_pydatetime())
    dated = before.select(*keys, day=before.transaction_ts.date())
    if single_days_apart:
        return _single_days_apart(dated, keys, decay_epoch(as_of))
    return _log_cycle_sums(dated.distinct(), keys, decay_epoch(as_of))


def _single_days_apart(dated: ibis.Table, keys: list[str], epoch: dt.date) -> ibis.Table:
    """`_log_cycle_sums` of the distinct `dated` (keys, day; keys never null), the groups of one
    day apart: their row needs no gap (no cycle: sums null, the day's weight its decayed sum), so
    only the days of the groups of several go through the window over each group's days (decision
    0143: 97.8% of the customer x product pairs of the synthetic lake have one day)."""
    spans = dated.group_by(keys).aggregate(first_day=dated.day.min(), last_day=dated.day.max())
    several = spans.filter(spans.first_day < spans.last_day).select(*keys)
    summed = _log_cycle_sums(dated.semi_join(several, keys).distinct(), keys, epoch)
    single = spans.filter(spans.first_day == spans.last_day)
    one_day = single.select(
        *keys, n_days=ibis.literal(1), last_day=single.last_day, n_cycles=ibis.literal(0),
        sum_log=ibis.null("decimal(18, 12)"), sum_log_squared=ibis.null("decimal(18, 12)"),
        decayed_days=_decay_weight(single.last_day, epoch))
    return summed.union(one_day.cast(summed.schema()))


def roll_cycle_sums(sums: ibis.Table, new_lines: ibis.Table, keys: list[str], as_of: pd.Timestamp | dt.date) -> ibis.Table:
    """`sums` (a `cycle_sums` with the same `decay_epoch` as `as_of`, the new cutoff) with the
    shopping days of `new_lines` added: lines all later than every day of `sums`. Each group's
    last known day is put back before its new days, so the first new gap is counted from it;
    decimals add exactly, so the result is the `cycle_sums` of all the lines, to the last digit.
    Groups without a new day are passed through as they are."""
    new_days = new_lines.select(*keys, day=new_lines.transaction_ts.date()).distinct()
    touched = new_days.select(*keys).distinct()
    anchors = sums.semi_join(touched, keys).select(*keys, day=sums.last_day)
    added = _log_cycle_sums(new_days, keys, decay_epoch(as_of), anchors)
    old = sums.semi_join(touched, keys)
    joined = added.left_join(old, keys)
    rolled = joined.select(
        *[joined[k] for k in keys],
        n_days=joined.n_days + joined.n_days_right.fill_null(0),
        last_day=joined.last_day,
        n_cycles=joined.n_cycles + joined.n_cycles_right.fill_null(0),
        sum_log=_add_decimals(joined.sum_log, joined.sum_log_right),
        sum_log_squared=_add_decimals(joined.sum_log_squared, joined.sum_log_squared_right),
        decayed_days=_add_decimals(joined.decayed_days, joined.decayed_days_right),
    )
    return sums.anti_join(touched, keys).union(rolled.cast(sums.schema()))


def _add_decimals(a: ibis.Value, b: ibis.Value) -> ibis.Value:
    """a + b where a null is nothing (a sum over no cycle), null when both are."""
    return ibis.cases((a.isnull(), b), (b.isnull(), a), else_=a + b)


def cycles_from_sums(sums: ibis.Table, as_of: pd.Timestamp | dt.date) -> ibis.Table:
    """`cycle_sums` (to the cutoff `as_of`) as `_cycles` gives them: the sums of logarithms as
    float64, 0.0 without a cycle, and `recent_purchases`, the days weighted by their age on the
    day before `as_of`, exp(-age / RECENT_DECAY_DAYS) (a day bought the day before weighs 1)."""
    last = pd.Timestamp(as_of).date() - dt.timedelta(days=1)
    ageing = math.exp(-(last - decay_epoch(as_of)).days / RECENT_DECAY_DAYS)
    return sums.mutate(
        sum_log=sums.sum_log.cast("float64").fill_null(0.0),
        sum_log_squared=sums.sum_log_squared.cast("float64").fill_null(0.0),
        recent_purchases=sums.decayed_days.cast("float64") * ageing,
    ).drop("decayed_days")


@dataclass(frozen=True)
class CyclePriors:
    """The population's figures the per-pair cycles are shrunk towards: the pooled spread (log
    days), the mean log cycle of every pair, and each product's (`product_means`: product id ->
    mean log cycle; a product without a cycle has the overall mean). Fitted with the calibration
    and kept between refits (decision 0122): a pair's forecast then moves only with its own
    purchases and the days elapsed, not with every other pair's."""

    pooled_spread: float
    overall_mean: float
    product_means: tuple[tuple[int, float], ...]

    def as_dict(self) -> dict:
        # floats written by repr: read back to the same bits
        return {"pooled_spread": self.pooled_spread, "overall_mean": self.overall_mean,
                "products": [list(pair) for pair in self.product_means]}

    @classmethod
    def from_dict(cls, data: dict) -> CyclePriors:
        return cls(float(data["pooled_spread"]), float(data["overall_mean"]),
                   tuple((int(p), float(m)) for p, m in data["products"]))


def _population(cycles: ibis.Table, prior_keys: list[str]) -> tuple[float, float, pd.DataFrame | None]:
    """The pooled spread, the overall mean and (with `prior_keys`) the mean per prior group of
    `cycles`: one aggregation; only these figures reach Python."""
    n = cycles.n_cycles.cast("float64")
    within_squares = cycles.sum_log_squared - cycles.sum_log * cycles.sum_log / ibis.greatest(n, 1.0)
    degrees = ibis.greatest(n - 1.0, 0.0)
    groups = cycles.group_by(prior_keys) if prior_keys else cycles
    population = groups.aggregate(
        sum_log=exact_sum(cycles.sum_log, decimals=12), n_cycles=n.sum(),
        within_squares=exact_sum(within_squares, decimals=12),
        degrees=degrees.sum(),
    ).to_pandas()
    # fsum: exactly rounded, so the same whatever order the groups arrive in
    pooled_spread = math.sqrt(
        max(math.fsum(population["within_squares"]) / max(math.fsum(population["degrees"]), 1.0), MIN_LOG_SPREAD**2)
    )
    overall_mean = math.fsum(population["sum_log"]) / max(math.fsum(population["n_cycles"]), 1.0)
    if not prior_keys:
        return pooled_spread, overall_mean, None
    prior = population[prior_keys].assign(
        prior_mean=(population["sum_log"] / population["n_cycles"].where(population["n_cycles"] > 0))
        .fillna(overall_mean)
    )
    return pooled_spread, overall_mean, prior


def cycle_priors(cycles: ibis.Table) -> CyclePriors:
    """The `CyclePriors` of per customer x product `cycles` (`cycles_from_sums`), fitted on them."""
    pooled_spread, overall_mean, prior = _population(cycles, ["product_id"])
    prior = prior.sort_values("product_id")
    return CyclePriors(pooled_spread, overall_mean, tuple(
        (int(p), float(m)) for p, m in zip(prior["product_id"], prior["prior_mean"])))


def _log_normal_cycles(cycles: ibis.Table, prior_keys: list[str], priors: CyclePriors | None = None) -> ibis.Table:
    """`cycles` with the `mean` and `spread` (log days) of each row's cycle, shrunk towards the
    rows sharing `prior_keys` (all rows when empty). The population's figures (pooled spread,
    mean per prior group) take one aggregation of `cycles` (read it from a materialised table when
    it is big), unless `priors` (per product: `prior_keys` ["product_id"]) are given: fitted
    before, the rows of a product they do not know are shrunk towards their overall mean."""
    if priors is None:
        pooled_spread, overall_mean, prior = _population(cycles, prior_keys)
    else:
        pooled_spread, overall_mean = priors.pooled_spread, priors.overall_mean
        prior = pd.DataFrame(list(priors.product_means) or None, columns=["product_id", "prior_mean"]).astype(
            {"product_id": "int64", "prior_mean": "float64"})
    if prior_keys:
        known = ibis.memtable(prior.rename(columns={k: f"_prior_{k}" for k in prior_keys}))
        joined = cycles.left_join(known, [cycles[k] == known[f"_prior_{k}"] for k in prior_keys])
        cycles = joined.mutate(prior_mean=joined.prior_mean.fill_null(overall_mean)).drop(
            *(f"_prior_{k}" for k in prior_keys))
        prior_mean = cycles.prior_mean
    else:
        prior_mean = ibis.literal(overall_mean)
    n = cycles.n_cycles.cast("float64")
    within_squares = cycles.sum_log_squared - cycles.sum_log * cycles.sum_log / ibis.greatest(n, 1.0)
    degrees = ibis.greatest(n - 1.0, 0.0)
    return cycles.mutate(
        mean=(cycles.sum_log + PRIOR_WEIGHT * prior_mean) / (n + PRIOR_WEIGHT),
        spread=ibis.greatest(
            ((ibis.greatest(within_squares, 0.0) + PRIOR_WEIGHT * pooled_spread**2) / (degrees + PRIOR_WEIGHT)).sqrt(),
            MIN_LOG_SPREAD,
        ),
    )


def _elapsed_days(day: ibis.Value, as_of: pd.Timestamp) -> ibis.Value:
    """Days from `day` to the morning of `as_of`."""
    return ibis.date(as_of.date()).delta(day, unit="day").cast("float64")


def _log_normal_z(cycles: ibis.Table, days: ibis.Value) -> ibis.Value:
    """The standard normal z of a cycle of `days` under each row's log-normal cycle."""
    return (ibis.greatest(days, 1e-9).ln() - cycles.mean) / cycles.spread


def _remaining_time(cycles: ibis.Table, as_of: pd.Timestamp, horizon_days: float) -> ibis.Table:
    """`cycles` (with a log-normal cycle, `_log_normal_cycles`) already running since `last_day`
    with `days_until` (the median days still to wait) and `probability` (0-1) that it ends within
    `horizon_days` of `as_of`."""
    cycles = cycles.mutate(elapsed=_elapsed_days(cycles.last_day, as_of))
    cycles = normal.with_cdf(
        cycles, done=_log_normal_z(cycles, cycles.elapsed),
        done_by_horizon=_log_normal_z(cycles, cycles.elapsed + horizon_days)
    )
    # Far past every cycle the customer ever had, the odds are computed from a tiny tail; keep a
    # floor so the ratio stays finite.
    surviving = ibis.greatest(1.0 - cycles.done, 1e-12)
    cycles = normal.with_quantile(
        cycles.mutate(probability=((cycles.done_by_horizon - cycles.done) / surviving).clip(0.0, 1.0)),
        median_z=ibis.least(cycles.done + surviving / 2, 1 - 1e-12),
    )
    median_total = (cycles.mean + cycles.spread * cycles.median_z).exp()
    return cycles.mutate(days_until=ibis.greatest(median_total - cycles.elapsed, 0.0)).drop(
        "done", "done_by_horizon", "median_z"
    )


def _after(as_of: pd.Timestamp, days: ibis.Value) -> ibis.Value:
    """The timestamp `days` (whole days) after the morning of `as_of`."""
    return (ibis.date(as_of.date()) + days.cast("int32").as_interval("D")).cast("timestamp")


def visit_forecasts(
    table: ibis.Table | None, as_of: pd.Timestamp, horizon_days: int, cycles: ibis.Table | None = None
) -> ibis.Table:
    """One row per customer (columns of `expected_next_visit`), as an engine table; `cycles`, when
    given, are the lines' `_cycles` by customer (`table` is then not read)."""
    if cycles is None:
        cycles = _cycles(table, ["customer_id"], as_of)
    visits = _remaining_time(_log_normal_cycles(cycles, []), as_of, horizon_days)
    days_until = visits.days_until.round()
    return visits.select(
        "customer_id",
        last_visit=visits.last_day.cast("timestamp"),
        typical_gap_days=visits.mean.exp(),
        expected_next_visit=_after(as_of, days_until),
        days_until_next_visit=days_until.cast("int64"),
        probability_visit=visits.probability,
    )


def expected_next_visit(
    lines, as_of: dt.date | pd.Timestamp | None = None, horizon_days: int = 14, cycles: ibis.Table | None = None
) -> pd.DataFrame:
    """Each customer's next store visit, one row per customer: `last_visit` (date),
    `typical_gap_days` (their median days between two shopping days), `expected_next_visit` (the
    median date of the next visit, never before `as_of`), `days_until_next_visit` and
    `probability_visit` (0-1) of visiting within `horizon_days` of `as_of`. `as_of` (a day)
    defaults to the day after the last basket; only baskets before it are read. `cycles`, when
    given, are the lines' shopping-day cycles by customer (`cycles_from_sums`), read instead of them."""
    table = _table(lines) if lines is not None else None
    as_of = pd.Timestamp(as_of) if as_of is not None else _default_as_of(table)
    return visit_forecasts(table, as_of, horizon_days, cycles).order_by("customer_id").to_pandas()


def product_cycles(lines, as_of: dt.date | pd.Timestamp) -> ibis.Table:
    """Per customer and product bought before `as_of` (a day), what the forecast reads of its
    purchase days: `n_days`, `last_day`, and the count, sum and sum of squares of the logarithms
    of the days between two of them (`n_cycles`, `sum_log`, `sum_log_squared`). About one row per
    basket line: the nightly writes it once and reads it back (see `product_forecasts`)."""
    return _cycles(_table(lines), ["customer_id", "product_id"], pd.Timestamp(as_of))


def _uncalibrated_product_purchases(
    table: ibis.Table | None, as_of: pd.Timestamp, horizon_days: int, cycles: ibis.Table | None = None,
    visit_cycles: ibis.Table | None = None, priors: CyclePriors | None = None,
) -> ibis.Table:
    """The cycle model's forecast per customer and product, as an engine table: `customer_id`,
    `product_id`, `probability`, `days_until`, `typical_cycle_days`, `last_purchase` and
    `purchase_days` (the days the customer bought it before `as_of`). `cycles`, when given, is
    the table's `product_cycles` at `as_of`; `priors`, when given, the population's figures
    (else fitted on `cycles`)."""
    if cycles is None:
        cycles = product_cycles(table, as_of)
    cycles = _log_normal_cycles(cycles, ["product_id"], priors)
    products = _remaining_time(cycles, as_of, horizon_days)
    visits = visit_forecasts(table, as_of, horizon_days, visit_cycles)
    joined = products.join(
        visits.select("customer_id", "days_until_next_visit", "probability_visit"), "customer_id"
    )
    return joined.select(
        "customer_id",
        "product_id",
        probability=joined.probability * joined.probability_visit,
        days_until=ibis.greatest(joined.days_until, joined.days_until_next_visit.cast("float64")).round(),
        typical_cycle_days=joined.mean.exp(),
        last_purchase=joined.last_day.cast("timestamp"),
        purchase_days=joined.n_days,
        recent_purchases=joined.recent_purchases,
    )


#: What the calibration reads about each pair, in this order.
CALIBRATION_INPUTS = ("logit_probability", "log_cycles_since_last", "log_purchase_days")


def _calibration_inputs(predictions: ibis.Table, as_of: pd.Timestamp) -> dict[str, ibis.Value]:
    """What the calibration reads about each pair (`CALIBRATION_INPUTS`): the cycle model's
    probability (logit), how many of its cycles have passed since the last purchase, and how many
    days the customer bought it (a habit of 20 purchases is more likely kept than a product tried
    twice)."""
    probability = predictions.probability.clip(1e-6, 1 - 1e-6)
    elapsed = _elapsed_days(predictions.last_purchase.date(), as_of)
    return {
        "logit_probability": (probability / (1.0 - probability)).ln(),
        "log_cycles_since_last": (1.0 + elapsed / predictions.typical_cycle_days).ln(),
        "log_purchase_days": predictions.purchase_days.cast("float64").ln(),
    }


@dataclass(frozen=True)
class Calibration:
    """The fitted calibration of the cycle model's probabilities: a logistic regression's
    intercept and its weights of `CALIBRATION_INPUTS`, in that order (kept by the incremental
    refresh between refits, see docs/analytics.md)."""

    intercept: float
    weights: tuple[float, ...]

    def as_dict(self) -> dict:
        return {"intercept": self.intercept, "weights": list(self.weights)}

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(float(data["intercept"]), tuple(float(w) for w in data["weights"]))


def _calibrated(calibration: Calibration, inputs: dict[str, ibis.Value]) -> ibis.Value:
    """The calibrated probability of `inputs` (`_calibration_inputs`): the logistic function of the
    intercept plus each weighted input, added in `CALIBRATION_INPUTS` order."""
    score = calibration.intercept
    for name, weight in zip(CALIBRATION_INPUTS, calibration.weights):
        score = score + weight * inputs[name]
    return 1.0 / (1.0 + (-score).exp())


#: `product_forecasts(calibration=FIT)`: fit the calibration on the lines (the default).
FIT = "fit"


def fit_calibration(lines, as_of: dt.date | pd.Timestamp, horizon_days: int = 14) -> Calibration | None:
    """The calibration `product_forecasts` fits on `lines` for a forecast made the morning
    `as_of` (None when the lines have too few pairs of either outcome to learn from)."""
    fitted = _calibration(_table(lines), pd.Timestamp(as_of), horizon_days)
    if fitted is None:
        return None
    return Calibration(float(fitted.intercept_[0]), tuple(float(w) for w in fitted.coef_[0]))


def _calibration(table: ibis.Table, as_of: pd.Timestamp, horizon_days: int):
    """A logistic regression from the cycle model's forecast to the observed chance of buying,
    learnt on the forecast made `horizon_days` before `as_of` and what happened until `as_of`
    (nothing on or after `as_of` is read), for at most about `CALIBRATION_CUSTOMERS` customers;
    None when that window has too few pairs of either outcome to learn from. Only the pairs'
    three inputs and outcome reach Python."""
    from sklearn.linear_model import LogisticRegression

    earlier = as_of - pd.Timedelta(days=horizon_days)
    before = table.filter(table.transaction_ts < as_of.to_pydatetime())
    step = -(-int(before.customer_id.nunique().execute()) // CALIBRATION_CUSTOMERS)
    if step > 1:
        before = before.filter(before.customer_id % step == 0)
    past = _uncalibrated_product_purchases(before, earlier, horizon_days)
    later = before.filter(before.transaction_ts >= earlier.to_pydatetime())
    bought = later.select("customer_id", "product_id").distinct().mutate(bought=ibis.literal(True))
    pairs = past.left_join(bought, ["customer_id", "product_id"])
    # in a fixed order: the fit adds up its rows, and engines return them in any order
    rows = pairs.select(
        "customer_id", "product_id", **_calibration_inputs(pairs, earlier), bought=pairs.bought.fill_null(False)
    ).order_by(["customer_id", "product_id"]).to_pandas()
    outcome = rows["bought"].to_numpy(dtype=bool)
    if min(outcome.sum(), (~outcome).sum()) < MIN_CALIBRATION_PAIRS:
        return None
    return LogisticRegression(max_iter=1000).fit(rows[list(CALIBRATION_INPUTS)].to_numpy(), outcome)


def product_forecasts(
    lines,
    as_of: dt.date | pd.Timestamp | None = None,
    horizon_days: int = 14,
    calibrated: bool = True,
    cycles: ibis.Table | None = None,
    visit_cycles: ibis.Table | None = None,
    calibration: Calibration | None | str = FIT,
    priors: CyclePriors | None = None,
) -> ibis.Table:
    """Every customer's next purchase of every product they bought before, as an engine table
    (nothing is collected: cut it before reading it), one row per customer and product:
    `customer_id`, `product_id`, `probability` (0-1) of buying it within `horizon_days` of
    `as_of`, `expected_date` (median date of the next purchase, not before the expected next
    visit), `days_until` (days from `as_of`), `typical_cycle_days` (median days between two
    purchases of it), `last_purchase` (date), `purchase_days` (days on which the customer
    bought it) and `recent_purchases` (those days weighted by their age on the day before `as_of`,
    exp(-age / `RECENT_DECAY_DAYS`): 1 for the day before, about 0.88 for a week earlier).

    The cycle model alone assumes every habit goes on, so it overstates the probabilities
    (customers switch brands and drop products). With `calibrated` (the default) they are
    recalibrated on the `horizon_days` just before `as_of` (see `_calibration`), when those hold
    at least `MIN_CALIBRATION_PAIRS` pairs bought and as many not bought.

    The model reads the lines' `product_cycles` twice (the population's figures, then every
    pair): over millions of lines pass them as `cycles`, materialised, so that they are computed
    once. With `visit_cycles` (the customers' shopping-day cycles) and a `calibration` already
    fitted (a `Calibration`, or None: none could be fitted), the lines are not read at all (pass
    None): the incremental refresh scores every pair from its kept state. `priors`, when given,
    are the population's figures fitted before (`cycle_priors`), else fitted on the cycles."""
    table = _table(lines) if lines is not None else None
    as_of = pd.Timestamp(as_of) if as_of is not None else _default_as_of(table)
    predictions = _uncalibrated_product_purchases(table, as_of, horizon_days, cycles, visit_cycles, priors)
    if not calibrated:
        calibration = None
    elif calibration == FIT:
        calibration = fit_calibration(table, as_of, horizon_days)
    if calibration is not None:
        predictions = predictions.mutate(probability=_calibrated(calibration, _calibration_inputs(predictions, as_of)))
    return predictions.mutate(expected_date=_after(as_of, predictions.days_until)).select(
        "customer_id", "product_id", "probability", "expected_date", "days_until", "typical_cycle_days",
        "last_purchase", "purchase_days", "recent_purchases",
    )


def expected_product_purchases(
    lines,
    as_of: dt.date | pd.Timestamp | None = None,
    horizon_days: int = 14,
    min_probability: float = 0.0,
    calibrated: bool = True,
) -> pd.DataFrame:
    """The `product_forecasts` with `probability` at least `min_probability`, as a DataFrame
    ordered by customer and then most likely product first."""
    forecasts = product_forecasts(lines, as_of, horizon_days, calibrated)
    chosen = forecasts.filter(forecasts.probability >= min_probability).to_pandas()
    return chosen.sort_values(["customer_id", "probability"], ascending=[True, False], ignore_index=True)


def expected_category_purchases(product_purchases: ibis.Table, products: ibis.Table) -> ibis.Table:
    """The same forecast by product category, as an engine table with one row per customer and
    `product_category`: `probability` (0-1) of buying at least one of its products in the horizon
    (products taken as independent) and `expected_date`, the earliest expected date among them.
    Products without a category are left out."""
    products = _table(products)
    lines = _table(product_purchases).join(products.select("product_id", "product_category"), "product_id")
    lines = lines.filter(lines.product_category.notnull())
    categories = lines.group_by(["customer_id", "product_category"]).aggregate(
        log_none=exact_sum((1.0 - ibis.least(lines.probability, 1 - 1e-12)).ln(), decimals=15),  # each >= -27.7
        expected_date=lines.expected_date.min(),
    )
    return categories.select(
        "customer_id",
        "product_category",
        probability=1.0 - categories.log_none.exp(),
        expected_date=categories.expected_date,
    )


def _first_after(table: ibis.Table, keys: list[str], cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per `keys` group, the first day on or after `cutoff` it appears."""
    after = table.filter(table.transaction_ts >= cutoff.to_pydatetime())
    first = after.group_by(keys).aggregate(first_day=after.transaction_ts.min().date()).to_pandas()
    first["first_day"] = pd.to_datetime(first["first_day"])
    return first


def next_purchase_holdout(lines, cutoff: dt.date | pd.Timestamp) -> dict[str, float]:
    """How far off the predictions made on `cutoff` (from baskets before it) are from what
    happened after it, in days: mean absolute error of the next visit (customers who came back) and
    of the next purchase day of each product (customer-product pairs bought again; also for those
    with at least 2 purchase days before, i.e. a cycle of their own), the same errors of the naive
    "last day + typical gap" guess, and the 14-day purchase probability's mean, observed rate and
    Brier score (0 = perfect) on all pairs and on the pairs with a cycle of their own, and the
    same without the calibration."""
    table = _table(lines)
    cutoff = pd.Timestamp(cutoff)
    visits = expected_next_visit(table, cutoff).merge(_first_after(table, ["customer_id"], cutoff), on="customer_id")
    actual_visit = (visits["first_day"] - cutoff) / pd.Timedelta(days=1)
    naive_visit = ((visits["last_visit"] + pd.to_timedelta(visits["typical_gap_days"], unit="D") - cutoff)
                   / pd.Timedelta(days=1)).clip(lower=0)
    products = expected_product_purchases(table, cutoff)
    bought_again = products.merge(_first_after(table, ["customer_id", "product_id"], cutoff), on=["customer_id", "product_id"])
    actual = (bought_again["first_day"] - cutoff) / pd.Timedelta(days=1)
    naive = ((bought_again["last_purchase"] + pd.to_timedelta(bought_again["typical_cycle_days"], unit="D") - cutoff)
             / pd.Timedelta(days=1)).clip(lower=0)
    error = (bought_again["days_until"] - actual).abs()
    regular = products[products["purchase_days"] >= 2]
    regular_again = bought_again.merge(regular[["customer_id", "product_id"]])
    within = _within_horizon(table, products, cutoff)
    regular_within = within[within["purchase_days"] >= 2]
    uncalibrated = _within_horizon(table, product_forecasts(table, cutoff, 14, calibrated=False).to_pandas(), cutoff)
    return {
        "customers_returning": float(len(visits)),
        "next_visit_mae_days": float((visits["days_until_next_visit"] - actual_visit).abs().mean()),
        "next_visit_naive_mae_days": float((naive_visit - actual_visit).abs().mean()),
        "pairs_bought_again": float(len(bought_again)),
        "next_purchase_mae_days": float(error.mean()),
        "next_purchase_naive_mae_days": float((naive - actual).abs().mean()),
        "regular_pairs_bought_again": float(len(regular_again)),
        "regular_next_purchase_mae_days": float(
            (regular_again["days_until"] - (regular_again["first_day"] - cutoff) / pd.Timedelta(days=1)).abs().mean()
        ),
        "mean_probability_14d": float(within["probability"].mean()),
        "observed_rate_14d": float(within["happened"].mean()),
        "brier_14d": _brier(within),
        "uncalibrated_mean_probability_14d": float(uncalibrated["probability"].mean()),
        "uncalibrated_brier_14d": _brier(uncalibrated),
        "regular_mean_probability_14d": float(regular_within["probability"].mean()),
        "regular_observed_rate_14d": float(regular_within["happened"].mean()),
        "regular_brier_14d": _brier(regular_within),
    }


def _within_horizon(table: ibis.Table, predictions: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int = 14) -> pd.DataFrame:
    """The predictions with `happened`: 1.0 when the customer bought the product within
    `horizon_days` of `cutoff`, else 0.0."""
    first = _first_after(table, ["customer_id", "product_id"], cutoff)
    within = predictions.merge(first, on=["customer_id", "product_id"], how="left")
    within["happened"] = (within["first_day"] < cutoff + pd.Timedelta(days=horizon_days)).astype(float)
    return within


def _brier(within: pd.DataFrame) -> float:
    return float(np.mean((within["probability"].to_numpy() - within["happened"].to_numpy()) ** 2))


def probability_reliability(lines, cutoff: dt.date | pd.Timestamp, horizon_days: int = 14, calibrated: bool = True) -> pd.DataFrame:
    """How well the `horizon_days` purchase probabilities forecast on `cutoff` match what happened,
    one row per probability band (0-0.1, ..., 0.9-1): `pairs` (customer-product pairs),
    `mean_probability` and `observed_rate` (share bought within the horizon). A calibrated
    forecast has the two close in every band."""
    table = _table(lines)
    cutoff = pd.Timestamp(cutoff)
    predictions = expected_product_purchases(table, cutoff, horizon_days, calibrated=calibrated)
    within = _within_horizon(table, predictions, cutoff, horizon_days)
    band = pd.cut(within["probability"], np.linspace(0.0, 1.0, 11), include_lowest=True)
    return within.groupby(band, observed=True).agg(
        pairs=("probability", "size"), mean_probability=("probability", "mean"), observed_rate=("happened", "mean")
    ).rename_axis("probability_band").reset_index()


#: How far the computed normal tail (`normal.with_cdf`: erfc to a relative 1.2e-7) may be from the
#: exact one, with room to spare, as a share of the smaller side (decision 0122).
TAIL_ERROR = 1e-6
#: The share a bound is lowered by before it is compared with the cut: it covers the float rounding
#: of the night's own computation (a few units in the last place of each operation) many times over.
REACH_MARGIN = 1e-4


def reach_bounds(
    cycles: ibis.Table, priors: CyclePriors, calibration: Calibration | None, first: dt.date | pd.Timestamp,
    last: dt.date | pd.Timestamp, horizon_days: int = 14,
) -> ibis.Table | None:
    """Per customer x product of `cycles` (`cycles_from_sums`), `bound`: at least the probability
    `product_forecasts` computes for the pair on every morning from `first` to `last` (both
    included) with these `priors` and `calibration`, as long as the pair is not bought again,
    whatever the customer's visits (decision 0122, where the proof is). None when the calibration's
    weight of the cycle model's logit is negative: no bound then follows from the cycle model's.

    The cycle model's probability on a morning whose elapsed days are e is (F(e + h) - F(e)) /
    (1 - F(e)), F the log-normal's distribution: at most (F(e_last + h) - F(e_first)) / (1 -
    F(e_last)) for e in [e_first, e_last], the computed tails' error (`TAIL_ERROR`) added. The visit
    probability it is multiplied by is at most 1; the calibration is increasing in that logit
    (its weight checked >= 0) and its term of the elapsed cycles is taken at whichever end of the
    range is larger."""
    if calibration is not None and calibration.weights[0] < 0:
        return None
    first, last = pd.Timestamp(first), pd.Timestamp(last)
    cycles = _log_normal_cycles(cycles, ["product_id"], priors)
    cycles = cycles.mutate(first_elapsed=_elapsed_days(cycles.last_day, first),
                           last_elapsed=_elapsed_days(cycles.last_day, last))
    cycles = normal.with_cdf(
        cycles, first_done=_log_normal_z(cycles, cycles.first_elapsed),
        last_done=_log_normal_z(cycles, cycles.last_elapsed),
        last_by_horizon=_log_normal_z(cycles, cycles.last_elapsed + horizon_days))

    def error(done: ibis.Value) -> ibis.Value:
        return TAIL_ERROR * ibis.least(done, 1.0 - done) + 1e-12

    ends = cycles.last_by_horizon - cycles.first_done + error(cycles.first_done) + error(cycles.last_by_horizon)
    surviving = ibis.greatest(1.0 - cycles.last_done - error(cycles.last_done), 1e-12)
    cycles = cycles.mutate(cycle_bound=ibis.least(ibis.greatest(ends, 0.0) / surviving, 1.0))
    if calibration is None:
        return cycles.select("customer_id", "product_id", bound=cycles.cycle_bound)
    intercept, (logit_weight, cycles_weight, days_weight) = calibration.intercept, calibration.weights
    probability = cycles.cycle_bound.clip(1e-6, 1 - 1e-6)
    typical = cycles.mean.exp()
    score = (intercept + logit_weight * (probability / (1.0 - probability)).ln()
             + ibis.greatest(cycles_weight * (1.0 + cycles.first_elapsed / typical).ln(),
                             cycles_weight * (1.0 + cycles.last_elapsed / typical).ln())
             + days_weight * cycles.n_days.cast("float64").ln())
    return cycles.select("customer_id", "product_id", bound=1.0 / (1.0 + (-score).exp()))


def pairs_within_reach(bounds: ibis.Table, products: ibis.Table, cut: float) -> ibis.Table:
    """Of the pairs' `bounds` (`reach_bounds`), those that may reach the `cut` (customer_id,
    product_id): each pair whose bound does, and every pair of each customer x category group
    whose bounds may add up to it (as `expected_category_purchases` adds the pairs' -ln(1 - p):
    over the group's own pairs, decision 0135). Products without a category count in no group.
    Both comparisons are lowered by `REACH_MARGIN`."""
    keys = ["customer_id", "product_id"]
    # `bounds` read directly by both parts of the union: DuckDB computes it once for both (as a join
    # of it, read twice, it was computed twice: 13.1 against 7.3 CPU s at 20M lines, decision 0135)
    bounds = bounds.mutate(term=-(1.0 - ibis.least(bounds.bound, 1 - 1e-12)).ln())
    group_cut = -math.log(1.0 - cut) * (1.0 - REACH_MARGIN)
    categories = products.select("product_id", product_category=products.category)
    grouped = bounds.join(categories.filter(categories.product_category.notnull()), "product_id")
    sums = grouped.group_by(["customer_id", "product_category"]).aggregate(terms=lambda t: t.term.sum())
    reaching = sums.filter(sums.terms >= group_cut).select("customer_id", "product_category")
    return ibis.union(
        grouped.semi_join(reaching, ["customer_id", "product_category"]).select(*keys),
        bounds.filter(bounds.bound >= cut * (1.0 - REACH_MARGIN)).select(*keys),
        distinct=True,
    )
