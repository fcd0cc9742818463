"""The forecasts the nightly refresh writes for every customer.

Per customer (`customer_forecasts`): expected purchase days in the next `horizon_weeks`, P(alive),
the churn risk (no purchase at all in the horizon) and its flag, and the expected lifetime value
over `clv_months` months with an interval. Per customer and product (`next_purchases`): the
products likely bought in the next `next_purchase_days` days, each with its probability and
expected day, and the same by category (`next_categories`); per customer (`next_visits`): the
expected date of the next visit.

The lake is read through Ibis (DuckDB or Spark): the per-customer summaries are computed by the
engine, only the fitting runs in numpy. The models are fitted on everything up to `as_of` and
forecast what comes after it; the history model trains on cuts of that same period (see
`churn.py`), so nothing after `as_of` is ever read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd

from clientele.forecasting.base import ForecastInputError, ModelFitError
from clientele.forecasting.churn import HistoryModel, as_summary
from clientele.forecasting.gamma_gamma import GammaGammaModel
from clientele.forecasting.next_purchase import expected_category_purchases, expected_next_visit
from clientele.forecasting.next_purchase import visit_forecasts
from clientele.forecasting.next_purchase import FIT, Calibration, CyclePriors, cycle_sums, fit_calibration
from clientele.forecasting.next_purchase import product_cycles as cycles_of_products
from clientele.forecasting.next_purchase import product_forecasts as every_product_forecast
from clientele.forecasting.summary import summarise_transactions

#: The per-customer forecast table, in this column order.
FORECAST_COLUMNS = (
    "customer_id", "expected_purchases", "probability_alive", "churn_risk", "at_risk",
    "predicted_clv", "clv_lower", "clv_upper",
)


@dataclass(frozen=True)
class ForecastOptions:
    """What the nightly forecasts look ahead to and how they are read.

    `horizon_weeks`: the window of expected purchases and churn risk (13 weeks, a quarter: the
    holdout the models are checked on for the Complete Journey). `churn_risk_threshold`: a customer
    is flagged at risk when their chance of no purchase at all in the horizon is at least this
    (0.5: more likely gone than not). Lifetime value covers `clv_months` months, each discounted at
    `monthly_discount_rate`, with a `clv_interval_level` interval. Next purchases look
    `next_purchase_days` ahead and keep the products with at least `min_purchase_probability`.
    The models (purchases, churn and spend) are fitted on `fit_customers` customers drawn at random
    (all of them when there are fewer), which keeps the fitting's cost flat as the customer count
    grows. The interval of lifetime value is taken in closed form (`clv_interval` "delta", see
    `GammaGammaModel.customer_lifetime_value_interval`; it covers 90% of the draws' values on
    CDNOW and the Complete Journey) or from `clv_draws` draws ("draws", 20 times the work). `purchase_model` is the model the history
    model corrects: the BG/NBD, because on a year of grocery baskets the Pareto/NBD's dropout is not
    identified (its fit on the Complete Journey fails after some 20 s of work and falls back to the
    BG/NBD); "pareto/nbd" tries it first.
    """

    horizon_weeks: float = 13.0
    churn_risk_threshold: float = 0.5
    clv_months: int = 12
    monthly_discount_rate: float = 0.01
    clv_interval_level: float = 0.9
    next_purchase_days: int = 14
    min_purchase_probability: float = 0.1
    fit_customers: int = 5_000
    purchase_model: str = "bg/nbd"
    clv_draws: int = 100
    clv_interval: str = "delta"

    def __post_init__(self) -> None:
        if not 0 < self.churn_risk_threshold < 1:
            raise ValueError("churn_risk_threshold must lie strictly between 0 and 1")
        if self.horizon_weeks <= 0 or self.clv_months < 1 or self.next_purchase_days < 1 or self.clv_draws < 10:
            raise ValueError("forecast horizons must be positive and clv_draws at least 10")
        if self.clv_interval not in ("delta", "draws"):
            raise ValueError("clv_interval must be 'delta' or 'draws'")
        if self.purchase_model not in ("bg/nbd", "pareto/nbd"):
            raise ValueError("purchase_model must be 'bg/nbd' or 'pareto/nbd'")
        if not 0 <= self.monthly_discount_rate < 1 or not 0 < self.clv_interval_level < 1:
            raise ValueError("monthly_discount_rate must be in [0, 1) and clv_interval_level in (0, 1)")


@dataclass
class FittedForecasts:
    """The per-customer forecasts' fitted models: the history model (its purchase model, churn
    classifier and purchase correction) and the spend model, fitted on the baskets up to
    `fitted_as_of`; None where the data could not identify them. Kept by the incremental refresh
    between refits (pickled: our own classes, written and read by the refresh alone)."""

    fitted_as_of: dt.date
    history: HistoryModel | None
    spend: GammaGammaModel | None


def _purchases(baskets: ibis.Table) -> ibis.Table:
    return baskets.select(customer_id=baskets.customer_id, date=baskets.basket_date, spend=baskets.spend)


def fit_customer_forecasts(
    baskets: ibis.Table, as_of: dt.date, options: ForecastOptions = ForecastOptions(),
    summary: pd.DataFrame | None = None,
) -> FittedForecasts:
    """The models `customer_forecasts` scores with, fitted on the baskets up to `as_of` (`summary`:
    their `summarise_transactions` at `as_of`, when the caller has it)."""
    purchases = _purchases(baskets)
    try:
        history = HistoryModel(
            purchases, calibration_end=as_of, fit_customers=options.fit_customers, baseline=options.purchase_model
        ).fit()
    except (ModelFitError, ForecastInputError):
        return FittedForecasts(as_of, None, None)
    if summary is None:
        summary = as_summary(history.features_)
    try:
        spend = GammaGammaModel(summary.loc[history.fitting_customers_]).fit()
    except (ModelFitError, ForecastInputError):
        spend = None
    return FittedForecasts(as_of, history, spend)


def customer_forecasts(
    baskets: ibis.Table, as_of: dt.date, options: ForecastOptions = ForecastOptions(),
    fitted: FittedForecasts | None = None, features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per customer with a basket up to `as_of` (columns `FORECAST_COLUMNS`):
    `expected_purchases` (purchase days in the next `horizon_weeks`), `probability_alive` (0-1,
    the purchase model), `churn_risk` (0-1, chance of no purchase in the horizon, history model),
    `at_risk` (churn_risk >= `churn_risk_threshold`), `predicted_clv`, `clv_lower`, `clv_upper`
    (discounted value of the next `clv_months` months and its interval, currency units; the purchase
    model's purchases times Gamma-Gamma spend).

    `baskets` has `customer_id`, `basket_date` and `spend` (the refresh's baskets table). When the
    data cannot identify the purchase models (too few customers, or too alike) every forecast is
    missing (null) rather than arbitrary; when only the spend model cannot be identified, the
    three lifetime value columns are. `fitted`, when given, are models fitted before (on an
    earlier day: every customer is scored from their history up to `as_of` with them); without
    it they are fitted on the baskets up to `as_of`. `features`, when given, are the baskets'
    `churn.history_features` at `as_of` (the refresh keeps them: `history_state`), not read again.
    """
    purchases = _purchases(baskets)
    if fitted is None:
        fitted = fit_customer_forecasts(baskets, as_of, options)
    history = fitted.history
    if history is None:
        summary = summarise_transactions(purchases, observation_end=as_of)
        return _unscored(summary.index).reset_index()[list(FORECAST_COLUMNS)]
    if history.features_ is None or history.calibration_end != as_of:
        history = history.scoring_at(purchases, as_of, features)
    # the purchases are read once: the summary is the history features' (to the same floats)
    summary = as_summary(history.features_)
    forecasts = _unscored(summary.index)
    horizon = options.horizon_weeks
    forecasts["expected_purchases"] = history.expected_purchases(t=horizon)
    forecasts["probability_alive"] = history.baseline_probability_alive(t=horizon)
    forecasts["churn_risk"] = history.expected_churn_risk(t=horizon)
    forecasts["at_risk"] = (forecasts["churn_risk"] >= options.churn_risk_threshold).astype("boolean")
    if fitted.spend is None:
        return forecasts.reset_index()[list(FORECAST_COLUMNS)]
    value = fitted.spend.customer_lifetime_value_interval(
        history.baseline_,
        summary,
        months=options.clv_months,
        monthly_discount_rate=options.monthly_discount_rate,
        level=options.clv_interval_level,
        draws=options.clv_draws,
        method=options.clv_interval,
    )
    forecasts["predicted_clv"] = value["lifetime_value"]
    forecasts["clv_lower"] = value["lower"]
    forecasts["clv_upper"] = value["upper"]
    return forecasts.reset_index()[list(FORECAST_COLUMNS)]


def _unscored(customers: pd.Index) -> pd.DataFrame:
    """Every forecast column missing for `customers` (indexed by them)."""
    forecasts = pd.DataFrame(index=customers, columns=list(FORECAST_COLUMNS[1:]), dtype="float64")
    forecasts["at_risk"] = pd.Series(pd.NA, index=customers, dtype="boolean")
    return forecasts


def _morning_after(as_of: dt.date) -> pd.Timestamp:
    """Forecasts made after the close of `as_of`: every basket of that day is known."""
    return pd.Timestamp(as_of) + pd.Timedelta(days=1)


def product_cycles(lines: ibis.Table, as_of: dt.date) -> ibis.Table:
    """What `product_forecasts` reads of the lines up to `as_of`, per customer and product (see
    `next_purchase.product_cycles`), for a caller that materialises it."""
    return cycles_of_products(lines, _morning_after(as_of))


def product_forecasts(
    lines: ibis.Table | None, as_of: dt.date, options: ForecastOptions = ForecastOptions(),
    cycles: ibis.Table | None = None, visit_cycles: ibis.Table | None = None, calibration: Calibration | None | str = FIT,
    priors: CyclePriors | None = None,
) -> ibis.Table:
    """Every customer's forecast for every product they bought before, whatever its probability,
    as an engine table (see `next_purchase.product_forecasts`): what `next_purchases` and
    `next_categories` are cut from. `lines` are the basket lines up to `as_of`; `cycles`, when
    given, their `product_cycles`, materialised; `visit_cycles` and `calibration`, when given,
    what the incremental refresh keeps, and `priors` the purchase cycles' priors fitted with the
    calibration (see `next_purchase.product_forecasts`)."""
    return every_product_forecast(
        lines, _morning_after(as_of), horizon_days=options.next_purchase_days, cycles=cycles,
        visit_cycles=visit_cycles, calibration=calibration, priors=priors,
    )


def product_calibration(lines: ibis.Table, as_of: dt.date, options: ForecastOptions = ForecastOptions()) -> Calibration | None:
    """The calibration `product_forecasts` fits on the lines up to `as_of` (None: none can be)."""
    return fit_calibration(lines, _morning_after(as_of), options.next_purchase_days)


def visit_cycle_sums(lines: ibis.Table, as_of: dt.date) -> ibis.Table:
    """Per customer, the exact sums of their shopping-day cycles up to `as_of` (see
    `next_purchase.cycle_sums`): the state `next_visits` is scored from."""
    return cycle_sums(lines, ["customer_id"], _morning_after(as_of))


def product_cycle_sums(lines: ibis.Table, as_of: dt.date) -> ibis.Table:
    """Per customer and product, the exact sums of `product_cycles` (see `next_purchase.cycle_sums`)."""
    return cycle_sums(lines, ["customer_id", "product_id"], _morning_after(as_of))


def next_purchases(
    lines: ibis.Table,
    as_of: dt.date,
    options: ForecastOptions = ForecastOptions(),
    *,
    every_product: ibis.Table | None = None,
) -> ibis.Table:
    """Each customer's likely products in the `next_purchase_days` days after `as_of`, one row per
    customer and product with `probability` (0-1) at least `min_purchase_probability`:
    `customer_id`, `product_id`, `probability`, `expected_date` (the day the purchase is most
    likely), `typical_cycle_days`, `last_purchase`, `purchase_days` (the days the customer bought
    it) and `recent_purchases` (those days weighted by their age; see `next_purchase.product_forecasts`).
    `lines` are the basket lines up to `as_of`; `every_product`, when given, is their
    `product_forecasts`. An engine table: the refresh writes it without collecting it."""
    if every_product is None:
        every_product = product_forecasts(lines, as_of, options)
    likely = every_product.filter(every_product.probability >= options.min_purchase_probability)
    return likely.select(
        "customer_id", "product_id", "probability", "expected_date", "typical_cycle_days", "last_purchase",
        "purchase_days", "recent_purchases",
    )


def next_categories(
    lines: ibis.Table,
    products: ibis.Table,
    as_of: dt.date,
    options: ForecastOptions = ForecastOptions(),
    *,
    every_product: ibis.Table | None = None,
) -> ibis.Table:
    """Each customer's likely product categories in the `next_purchase_days` days after `as_of`,
    one row per customer and category with `probability` (0-1, of buying at least one of its
    products, from every product's forecast) at least `min_purchase_probability`: `customer_id`,
    `category`, `probability` and `expected_date` (the earliest expected day among its products).
    `products` has `product_id` and `category` (the lake's products table); `every_product`, when
    given, is the lines' `product_forecasts`. An engine table, as `next_purchases`."""
    if every_product is None:
        every_product = product_forecasts(lines, as_of, options)
    categories = expected_category_purchases(
        every_product, products.select("product_id", product_category=products.category)
    )
    likely = categories.filter(categories.probability >= options.min_purchase_probability)
    return likely.select("customer_id", category=likely.product_category, probability=likely.probability,
                         expected_date=likely.expected_date)


def next_visits(
    lines: ibis.Table | None, as_of: dt.date, options: ForecastOptions = ForecastOptions(),
    cycles: ibis.Table | None = None,
) -> pd.DataFrame:
    """Each customer's next visit after `as_of`: `customer_id`, `last_visit`, `typical_gap_days`,
    `expected_next_visit` (date), `days_until_next_visit` and `probability_visit` (0-1, within
    `next_purchase_days` days). `cycles`, when given, are the customers' shopping-day cycles
    (`cycles_from_sums` of `visit_cycle_sums`), read instead of the lines."""
    return expected_next_visit(lines, _morning_after(as_of), horizon_days=options.next_purchase_days, cycles=cycles)


def next_visits_table(as_of: dt.date, cycles: ibis.Table, options: ForecastOptions = ForecastOptions()) -> ibis.Table:
    """`next_visits` from the customers' shopping-day `cycles`, as an engine table (the refresh
    writes it without a round trip through pandas): the same rows and values."""
    return visit_forecasts(None, _morning_after(as_of), options.next_purchase_days, cycles)
