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
lake's `basket_lines`, on DuckDB or Spark) or a pandas DataFrame. The per-customer summaries are
computed by the engine; only the closed-form model runs in numpy.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

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


def _table(lines) -> ibis.Table:
    return lines if isinstance(lines, ibis.Table) else ibis.memtable(lines)


def _default_as_of(table: ibis.Table) -> pd.Timestamp:
    """The day after the last basket: predictions are made the morning after the data ends."""
    return pd.Timestamp(table.transaction_ts.max().to_pandas()).normalize() + pd.Timedelta(days=1)


def _cycle_summary(lines: ibis.Table, keys: list[str], as_of: pd.Timestamp) -> pd.DataFrame:
    """Per `keys` group: the number of shopping days, the last one, and the count, sum and sum of
    squares of the logarithms of the days between consecutive shopping days (before `as_of`)."""
    before = lines.filter(lines.transaction_ts < as_of.to_pydatetime())
    days = before.select(*keys, day=before.transaction_ts.date()).distinct()
    days = days.mutate(previous_day=days.day.lag().over(ibis.window(group_by=keys, order_by="day")))
    log_cycle = days.day.delta(days.previous_day, unit="day").cast("float64").ln()
    summary = days.group_by(keys).aggregate(
        n_days=days.count(),
        last_day=days.day.max(),
        n_cycles=log_cycle.count(),
        sum_log=log_cycle.sum(),
        sum_log_squared=(log_cycle * log_cycle).sum(),
    )
    frame = summary.to_pandas()
    frame["last_day"] = pd.to_datetime(frame["last_day"])
    frame[["sum_log", "sum_log_squared"]] = frame[["sum_log", "sum_log_squared"]].fillna(0.0)
    return frame


def _log_normal_cycles(summary: pd.DataFrame, prior_keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The mean and spread (log days) of each row's cycle, shrunk towards the rows sharing
    `prior_keys` (all rows when empty)."""
    n = summary["n_cycles"].to_numpy(dtype=float)
    within_squares = (summary["sum_log_squared"] - summary["sum_log"] ** 2 / np.maximum(n, 1)).to_numpy()
    pooled_spread = np.sqrt(max(within_squares.sum() / max((n - 1).clip(0).sum(), 1.0), MIN_LOG_SPREAD**2))
    if prior_keys:
        group = summary.groupby(prior_keys)
        prior_mean = (group["sum_log"].transform("sum") / group["n_cycles"].transform("sum")).to_numpy()
    else:
        prior_mean = np.full(len(summary), summary["sum_log"].sum() / max(n.sum(), 1.0))
    overall_mean = summary["sum_log"].sum() / max(n.sum(), 1.0)
    prior_mean = np.where(np.isfinite(prior_mean), prior_mean, overall_mean)
    mean = (summary["sum_log"].to_numpy() + PRIOR_WEIGHT * prior_mean) / (n + PRIOR_WEIGHT)
    spread = np.sqrt((within_squares.clip(0) + PRIOR_WEIGHT * pooled_spread**2) / ((n - 1).clip(0) + PRIOR_WEIGHT))
    return mean, np.maximum(spread, MIN_LOG_SPREAD)


def _remaining_time(
    mean: np.ndarray, spread: np.ndarray, elapsed_days: np.ndarray, horizon_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """For a log-normal cycle already `elapsed_days` long: the median days still to wait, and the
    probability (0-1) that it ends within `horizon_days`."""
    def cdf(days):
        return ndtr((np.log(np.maximum(days, 1e-9)) - mean) / spread)

    done = cdf(elapsed_days)
    # Far past every cycle the customer ever had, the odds are computed from a tiny tail; keep a
    # floor so the ratio stays finite.
    surviving = np.maximum(1.0 - done, 1e-12)
    probability = np.clip((cdf(elapsed_days + horizon_days) - done) / surviving, 0.0, 1.0)
    median_total = np.exp(mean + spread * ndtri(np.minimum(done + surviving / 2, 1 - 1e-12)))
    return np.maximum(median_total - elapsed_days, 0.0), probability


def expected_next_visit(lines, as_of: dt.date | pd.Timestamp | None = None, horizon_days: int = 14) -> pd.DataFrame:
    """Each customer's next store visit, one row per customer: `last_visit` (date),
    `typical_gap_days` (their median days between two shopping days), `expected_next_visit` (the
    median date of the next visit, never before `as_of`), `days_until_next_visit` and
    `probability_visit` (0-1) of visiting within `horizon_days` of `as_of`. `as_of` defaults to
    the day after the last basket; only baskets before it are read."""
    table = _table(lines)
    as_of = pd.Timestamp(as_of) if as_of is not None else _default_as_of(table)
    visits = _cycle_summary(table, ["customer_id"], as_of)
    mean, spread = _log_normal_cycles(visits, [])
    elapsed = ((as_of - visits["last_day"]) / pd.Timedelta(days=1)).to_numpy()
    days_until, probability = _remaining_time(mean, spread, elapsed, horizon_days)
    days_until = np.round(np.maximum(days_until, 0.0))
    return pd.DataFrame(
        {
            "customer_id": visits["customer_id"],
            "last_visit": visits["last_day"],
            "typical_gap_days": np.exp(mean),
            "expected_next_visit": as_of + pd.to_timedelta(days_until, unit="D"),
            "days_until_next_visit": days_until,
            "probability_visit": probability,
        }
    ).sort_values("customer_id", ignore_index=True)


def _uncalibrated_product_purchases(table: ibis.Table, as_of: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """The cycle model's forecast per customer and product (columns of `expected_product_purchases`
    plus `purchase_days`, the days the customer bought it before `as_of`)."""
    purchases = _cycle_summary(table, ["customer_id", "product_id"], as_of)
    mean, spread = _log_normal_cycles(purchases, ["product_id"])
    elapsed = ((as_of - purchases["last_day"]) / pd.Timedelta(days=1)).to_numpy()
    days_until, probability = _remaining_time(mean, spread, elapsed, horizon_days)
    visits = expected_next_visit(table, as_of, horizon_days).set_index("customer_id")
    visit = visits.loc[purchases["customer_id"]]
    days_until = np.round(np.maximum(days_until, visit["days_until_next_visit"].to_numpy()))
    return pd.DataFrame(
        {
            "customer_id": purchases["customer_id"],
            "product_id": purchases["product_id"],
            "probability": probability * visit["probability_visit"].to_numpy(),
            "expected_date": as_of + pd.to_timedelta(days_until, unit="D"),
            "days_until": days_until,
            "typical_cycle_days": np.exp(mean),
            "last_purchase": purchases["last_day"],
            "purchase_days": purchases["n_days"].to_numpy(),
        }
    )


def _calibration_inputs(predictions: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """What the calibration reads about each pair: the cycle model's probability (logit), how
    many of its cycles have passed since the last purchase, and how many days the customer bought
    it (a habit of 20 purchases is more likely kept than a product tried twice)."""
    probability = predictions["probability"].clip(1e-6, 1 - 1e-6).to_numpy()
    elapsed = ((as_of - predictions["last_purchase"]) / pd.Timedelta(days=1)).to_numpy()
    return np.column_stack(
        [
            np.log(probability / (1 - probability)),
            np.log1p(elapsed / predictions["typical_cycle_days"].to_numpy()),
            np.log(predictions["purchase_days"].to_numpy(dtype=float)),
        ]
    )


def _calibration(table: ibis.Table, as_of: pd.Timestamp, horizon_days: int):
    """A logistic regression from the cycle model's forecast to the observed chance of buying,
    learnt on the forecast made `horizon_days` before `as_of` and what happened until `as_of`
    (nothing on or after `as_of` is read), for at most about `CALIBRATION_CUSTOMERS` customers;
    None when that window has too few pairs of either outcome to learn from."""
    from sklearn.linear_model import LogisticRegression

    earlier = as_of - pd.Timedelta(days=horizon_days)
    before = table.filter(table.transaction_ts < as_of.to_pydatetime())
    step = -(-int(before.customer_id.nunique().execute()) // CALIBRATION_CUSTOMERS)
    if step > 1:
        before = before.filter(before.customer_id % step == 0)
    past = _uncalibrated_product_purchases(before, earlier, horizon_days)
    bought = _first_after(before, ["customer_id", "product_id"], earlier)
    outcome = past[["customer_id", "product_id"]].merge(bought, how="left")["first_day"].notna().to_numpy()
    if min(outcome.sum(), (~outcome).sum()) < MIN_CALIBRATION_PAIRS:
        return None
    return LogisticRegression(max_iter=1000).fit(_calibration_inputs(past, earlier), outcome)


def expected_product_purchases(
    lines,
    as_of: dt.date | pd.Timestamp | None = None,
    horizon_days: int = 14,
    min_probability: float = 0.0,
    calibrated: bool = True,
) -> pd.DataFrame:
    """Each customer's next purchase of each product they bought before, one row per customer and
    product with `probability` (0-1) of buying it within `horizon_days` of `as_of` at least
    `min_probability`: `customer_id`, `product_id`, `probability`, `expected_date` (median date of
    the next purchase, not before the expected next visit), `days_until` (days from `as_of`),
    `typical_cycle_days` (median days between two purchases of it), `last_purchase` (date) and
    `purchase_days` (days on which the customer bought it).

    The cycle model alone assumes every habit goes on, so it overstates the probabilities
    (customers switch brands and drop products). With `calibrated` (the default) they are
    recalibrated on the `horizon_days` just before `as_of` (see `_calibration`), when those hold
    at least `MIN_CALIBRATION_PAIRS` pairs bought and as many not bought."""
    table = _table(lines)
    as_of = pd.Timestamp(as_of) if as_of is not None else _default_as_of(table)
    predictions = _uncalibrated_product_purchases(table, as_of, horizon_days)
    calibration = _calibration(table, as_of, horizon_days) if calibrated else None
    if calibration is not None and len(predictions):
        predictions["probability"] = calibration.predict_proba(_calibration_inputs(predictions, as_of))[:, 1]
    chosen = predictions[predictions["probability"] >= min_probability]
    return chosen.sort_values(["customer_id", "probability"], ascending=[True, False], ignore_index=True)


def expected_category_purchases(product_purchases: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """The same forecast by product category, one row per customer and `product_category`:
    `probability` (0-1) of buying at least one of its products in the horizon (products taken as
    independent) and `expected_date`, the earliest expected date among them."""
    lines = product_purchases.merge(products[["product_id", "product_category"]], on="product_id")
    lines["log_none"] = np.log1p(-lines["probability"].clip(upper=1 - 1e-12))
    categories = lines.groupby(["customer_id", "product_category"], as_index=False).agg(
        log_none=("log_none", "sum"), expected_date=("expected_date", "min")
    )
    categories["probability"] = 1.0 - np.exp(categories["log_none"])
    return categories.drop(columns="log_none").sort_values(
        ["customer_id", "probability"], ascending=[True, False], ignore_index=True
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
    uncalibrated = _within_horizon(table, _uncalibrated_product_purchases(table, cutoff, 14), cutoff)
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
