"""Churn risk and purchase forecasts from the whole purchase history, not only (frequency,
recency, T).

The Pareto/NBD sees each customer through three numbers. Two customers with the same three numbers
can differ in ways that matter: one buys like clockwork, the other in bursts; one bought twice in
the last month; one spends more each time. This model starts from the Pareto/NBD and corrects it
with the rest of the history (regularity of inter-purchase gaps, how overdue the next purchase is,
recent-window counts, months with a purchase, spend level and trend), stacked on the Pareto/NBD's
own forecast for the horizon and its P(alive):

- the chance of no purchase at all in the horizon (the churn risk), a logistic regression;
- a multiplicative correction of the Pareto/NBD expected purchases, a Poisson regression with the
  Pareto/NBD forecast as offset (target / forecast, weighted by the forecast).

Together they give each customer a hurdle-Poisson forecast: no purchase with the churn risk,
otherwise 1 + Poisson purchases with the corrected mean. Its mean serves totals and lifetime value;
its median is the point forecast that minimises the absolute error per customer.

Training is honest: it never looks past the end of the calibration period. The calibration period
is cut again at several earlier dates (`training_weeks` before its end); at each cut, the inputs
come from the purchases before it and the targets from the purchases between it and the
calibration end. The horizon enters only through the Pareto/NBD forecast, so the linear models
carry over to horizons longer than the training ones (gradient-boosted trees, tried first, could
not: their churn ranking at 39 weeks fell below the Pareto/NBD's own).
"""

from __future__ import annotations

import copy
import datetime as dt

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from clientele.forecasting.base import ModelFitError, PurchaseModel
from clientele.forecasting.beta_geo import BetaGeoModel
from clientele.forecasting.pareto_nbd import ParetoNBDModel
from clientele.forecasting.summary import DAYS_PER_WEEK, as_table, purchase_days, weeks_between
from clientele.sums import money_total

#: What the models read about each customer, as seen at a cut date, all free of missing values.
#: Ages and counts are taken relative to the customer's time watched where that matters: training
#: rows come from earlier cut dates, when every customer was younger than at the calibration end.
FEATURES = (
    "log_baseline_purchases",
    "logit_probability_alive",
    "purchases_per_week",
    "share_of_age_since_last",
    "recent_share",
    "months_with_purchase",
    "gap_variation",
    "log_overdue_ratio",
    "log_mean_spend",
    "log_spend_trend",
    "log_repeat_purchases",
    "log_age",
    "purchases_last_4_weeks",
    "log_mean_gap",
    "purchases_last_26_weeks",
)


def history_features(
    transactions,
    *,
    cutoff: dt.date,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = "spend",
) -> pd.DataFrame:
    """Each customer's purchase history as seen at `cutoff` (inclusive), indexed by customer id.

    Columns (times in weeks, spend in the currency of the input): `frequency`, `recency`, `T`
    (as in the summary), `weeks_since_last`, `mean_gap` and `last_gap` (weeks between purchase
    days; missing without repeat purchases), `gap_variation` (standard deviation / mean of the
    gaps: 0 = buys like clockwork), `overdue_ratio` (weeks since last / mean gap),
    `purchases_last_4_weeks`, `purchases_last_13_weeks`, `purchases_last_26_weeks`,
    `months_with_purchase` (4-week blocks before the cutoff with a purchase), `mean_spend` (per
    purchase day), `spend_trend` (last purchase day's spend / first's) and `monetary_value` (mean
    spend per repeat purchase day, 0 without one). Its `frequency`, `recency`, `T` and
    `monetary_value` are `summarise_transactions` at the cutoff, to the same floats (`as_summary`):
    the nightly scoring reads the purchases once for both.
    """
    days = purchase_days(
        transactions,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
    )
    return features_of_history(purchase_history(days, cutoff), cutoff)


def purchase_history(days: ibis.Table, cutoff: dt.date) -> pd.DataFrame:
    """Per customer with a purchase day up to `cutoff` (`days`: `purchase_days`), the whole-day
    counts and exact sums the history features are derived from (`features_of_history`), indexed
    by customer id: `purchase_days`, `first_day`, `last_day`, `gaps`, `gap_days`,
    `gap_days_squared`, `last_gap_days` (days), the purchase days in the last 4, 13 and 26 weeks,
    `months_with_purchase`, `spend`, `repeat_spend`, `first_spend` and `last_spend` (currency)."""
    end = ibis.date(cutoff)
    seen = days.filter(days.day <= end)
    in_order = ibis.window(group_by="customer_id", order_by="day")
    seen = seen.mutate(previous_day=seen.day.lag().over(in_order))
    seen = seen.mutate(
        gap_days=seen.day.delta(seen.previous_day, unit="day"),
        weeks_before_cutoff=weeks_between(end, seen.day),
    )
    customers = seen.group_by("customer_id").aggregate(
        purchase_days=seen.count(),
        first_day=seen.day.min(),
        last_day=seen.day.max(),
        # whole days and cents: sums that come out the same whatever order the engine adds in
        gaps=seen.gap_days.count(),
        gap_days=seen.gap_days.sum(),
        gap_days_squared=(seen.gap_days * seen.gap_days).sum(),
        last_gap_days=seen.gap_days.argmax(seen.day),
        purchases_last_4_weeks=(seen.weeks_before_cutoff < 4).cast("int64").sum(),
        purchases_last_13_weeks=(seen.weeks_before_cutoff < 13).cast("int64").sum(),
        purchases_last_26_weeks=(seen.weeks_before_cutoff < 26).cast("int64").sum(),
        months_with_purchase=(seen.weeks_before_cutoff / 4).floor().nunique(),
        spend=money_total(seen.spend),
        # the summary's spend of the repeat purchase days, summed as `summarise_transactions` does
        repeat_spend=money_total(ibis.cases((seen.previous_day.notnull(), seen.spend), else_=0.0)),
        first_spend=seen.spend.argmin(seen.day),
        last_spend=seen.spend.argmax(seen.day),
    )
    return customers.order_by("customer_id").execute().set_index("customer_id")


def features_of_history(history: pd.DataFrame, cutoff: dt.date) -> pd.DataFrame:
    """The `history_features` at `cutoff` of the customers' `purchase_history` (or of their kept
    `history_state.history_of_state`: the same counts and sums, so the same floats)."""
    gaps = history["gaps"].where(history["gaps"] > 0).astype("float64")
    gap_days, gap_days_squared, last_gap_days = (
        history[c].astype("float64") for c in ("gap_days", "gap_days_squared", "last_gap_days"))
    mean_gap = gap_days / gaps / DAYS_PER_WEEK
    squares = (gaps * gap_days_squared - gap_days**2).clip(lower=0)
    gap_std = np.sqrt(squares) / gaps / DAYS_PER_WEEK  # population standard deviation
    features = pd.DataFrame(index=history.index)
    features["frequency"] = history["purchase_days"] - 1
    features["recency"] = (history["last_day"] - history["first_day"]).dt.days / DAYS_PER_WEEK
    features["T"] = (pd.Timestamp(cutoff) - history["first_day"]).dt.days / DAYS_PER_WEEK
    features["weeks_since_last"] = features["T"] - features["recency"]
    features["mean_gap"] = mean_gap
    features["gap_variation"] = gap_std / mean_gap
    features["last_gap"] = last_gap_days / DAYS_PER_WEEK
    features["overdue_ratio"] = features["weeks_since_last"] / mean_gap
    features["purchases_last_4_weeks"] = history["purchases_last_4_weeks"]
    features["purchases_last_13_weeks"] = history["purchases_last_13_weeks"]
    features["purchases_last_26_weeks"] = history["purchases_last_26_weeks"]
    features["months_with_purchase"] = history["months_with_purchase"]
    features["mean_spend"] = history["spend"] / history["purchase_days"]
    features["spend_trend"] = history["last_spend"] / history["first_spend"].where(
        history["first_spend"] > 0
    )
    # the division `summarise_transactions` has the engine make, made here: the same float
    repeats = features["frequency"]
    features["monetary_value"] = (history["repeat_spend"] / repeats.where(repeats > 0, 1)).where(repeats > 0, 0.0)
    return features


def as_summary(features: pd.DataFrame) -> pd.DataFrame:
    """The `summarise_transactions` of the purchases `features` (`history_features`) describe, at
    the same cutoff: its four columns, indexed by customer id, equal to the last bit."""
    return features[["frequency", "recency", "T", "monetary_value"]]


def baseline_forecasts(features: pd.DataFrame, baseline: PurchaseModel, *, t: float) -> tuple[pd.Series, pd.Series]:
    """The purchase model's expected purchases in the next `t` weeks and P(alive) of the customers
    with `history_features`, by customer id."""
    summary = features.reset_index()
    return baseline.expected_purchases(summary, t=t), baseline.expected_probability_alive(summary)


def model_inputs(features: pd.DataFrame, baseline: PurchaseModel, *, t: float,
                 forecasts: tuple[pd.Series, pd.Series] | None = None) -> pd.DataFrame:
    """The model's inputs (`FEATURES`) for customers with `history_features`, forecasting the next
    `t` weeks: the Pareto/NBD's forecast and P(alive) on a log / logit scale, then the history
    (`forecasts`: their `baseline_forecasts`, when the caller has them)."""
    purchases, alive = baseline_forecasts(features, baseline, t=t) if forecasts is None else forecasts
    alive = alive.clip(1e-6, 1 - 1e-6)
    age = features["T"].clip(lower=0.5)
    mean_gap = features["mean_gap"].fillna(features["T"]).clip(lower=1 / DAYS_PER_WEEK)
    overdue = features["weeks_since_last"] / mean_gap
    inputs = pd.DataFrame(
        {
            "log_baseline_purchases": np.log(purchases.clip(lower=1e-6)),
            "logit_probability_alive": np.log(alive / (1 - alive)),
            "purchases_per_week": features["frequency"] / age,
            "share_of_age_since_last": features["weeks_since_last"] / age,
            "recent_share": features["purchases_last_13_weeks"] / (features["frequency"] + 1),
            "months_with_purchase": features["months_with_purchase"],
            "gap_variation": features["gap_variation"].fillna(0.0),
            "log_overdue_ratio": np.log1p(overdue.clip(upper=50.0)),
            "log_mean_spend": np.log1p(features["mean_spend"].clip(lower=0.0)),
            "log_spend_trend": np.log(features["spend_trend"].fillna(1.0).clip(0.05, 20.0)),
            "log_repeat_purchases": np.log1p(features["frequency"]),
            "log_age": np.log(age),
            "purchases_last_4_weeks": features["purchases_last_4_weeks"],
            "log_mean_gap": np.log(mean_gap),
            "purchases_last_26_weeks": features["purchases_last_26_weeks"],
        },
        index=features.index,
    )
    return inputs[list(FEATURES)]


#: The purchase models a HistoryModel may stand on, by name.
BASELINES = {"pareto/nbd": ParetoNBDModel, "bg/nbd": BetaGeoModel}


def fit_baseline(summary: pd.DataFrame, first_choice: str = "pareto/nbd") -> PurchaseModel:
    """The `first_choice` purchase model fitted on `summary`; when it is the Pareto/NBD and the
    data cannot identify its dropout, the BG/NBD: when hardly anyone leaves (a year of grocery
    shoppers) the Pareto/NBD likelihood is flat along s / beta = the common dropout rate, while the
    BG/NBD, whose dropout follows purchases, is still identified."""
    try:
        return BASELINES[first_choice](summary).fit()
    except ModelFitError:
        if first_choice == "bg/nbd":
            raise
        return BetaGeoModel(summary).fit()


class HistoryModel:
    """Pareto/NBD forecasts corrected, customer by customer, by what the rest of the history says.

    >>> model = HistoryModel(transactions, calibration_end=dt.date(1997, 9, 30)).fit()
    >>> model.expected_purchases(t=39)     # mean purchase days per customer, next 39 weeks
    >>> model.expected_churn_risk(t=39)    # chance of no purchase at all in the next 39 weeks
    >>> model.median_purchases(t=39)       # the most balanced single guess per customer
    """

    def __init__(
        self,
        transactions,
        *,
        calibration_end: dt.date,
        training_weeks: tuple[int, ...] = (8, 10, 13, 16, 19, 22, 26),
        fit_customers: int | None = None,
        seed: int = 0,
        baseline: str = "pareto/nbd",
    ):
        self.transactions = transactions
        self.fit_customers = fit_customers
        self.seed = seed
        self.baseline = baseline
        self.calibration_end = calibration_end
        self.training_weeks = training_weeks
        self.churn_classifier_ = None
        self.purchase_corrector_ = None
        self.baseline_: PurchaseModel | None = None
        self.features_: pd.DataFrame | None = None
        self._inputs_at: tuple | None = None  # (features_, t, their model_inputs at t, baseline_forecasts)
        self.fitting_customers_: pd.Index | None = None

    def _training_rows(self) -> pd.DataFrame:
        """One row per customer and training cut: the inputs at the cut, the purchase days bought
        between the cut and the calibration end (`bought`) and the Pareto/NBD forecast of them
        (`forecast`)."""
        purchase_days_at_end = self.features_["frequency"] + 1
        transactions = self.transactions
        if len(self.fitting_customers_) < len(self.features_):
            # only the fitting customers' purchases are read at the cuts: the night's seven cuts
            # then cost the same for any number of customers
            transactions = as_table(transactions).semi_join(
                ibis.memtable(pd.DataFrame({"customer_id": self.fitting_customers_})), "customer_id"
            )
        cuts = []
        for weeks in self.training_weeks:
            features = history_features(transactions, cutoff=self.calibration_end - dt.timedelta(weeks=weeks))
            if features.empty:  # a cut before the first purchase
                continue
            rows = model_inputs(features, self.baseline_, t=float(weeks))
            rows["bought"] = purchase_days_at_end.reindex(features.index) - (features["frequency"] + 1)
            rows["forecast"] = np.exp(rows["log_baseline_purchases"])
            cuts.append(rows)
        return pd.concat(cuts) if cuts else pd.DataFrame(columns=[*FEATURES, "bought", "forecast"])

    def fit(self) -> HistoryModel:
        """Learn the churn classifier and the purchase correction on the calibration period alone;
        returns the model. Raises ModelFitError when the data cannot identify them.

        The Pareto/NBD (see `fit_baseline`) is fitted once, on the calibration period; its four population parameters
        then describe every cut (refitted on a short early window they are poorly identified and
        would make the training inputs differ from the inputs at the calibration end).

        With `fit_customers`, the Pareto/NBD and the training cuts use that many customers drawn at
        random (`seed`): four population parameters and two linear models are pinned down by a few
        thousand customers (the published CDNOW fits use 2,357), so a national chain's night does not
        grow with its customer count; every customer is still forecast."""
        from sklearn.linear_model import LogisticRegression, PoissonRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.features_ = history_features(self.transactions, cutoff=self.calibration_end)
        fitting = self.features_
        if self.fit_customers is not None and len(fitting) > self.fit_customers:
            fitting = fitting.sample(n=self.fit_customers, random_state=self.seed)
        self.fitting_customers_ = fitting.index
        self.baseline_ = fit_baseline(fitting.reset_index(), self.baseline)
        training = self._training_rows()
        if training["bought"].eq(0).nunique() < 2:
            raise ModelFitError(
                "HistoryModel: the training cuts hold no customer who "
                + ("bought" if (training["bought"] == 0).all() else "did not buy")
                + " after the cut; it needs a longer history before the calibration end"
            )
        inputs = training[list(FEATURES)]
        self.churn_classifier_ = make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=1000)
        ).fit(inputs, training["bought"] == 0)
        self.purchase_corrector_ = make_pipeline(
            StandardScaler(), PoissonRegressor(alpha=1e-4, solver="newton-cholesky", max_iter=1000)
        ).fit(
            inputs,
            training["bought"] / training["forecast"],
            poissonregressor__sample_weight=training["forecast"],
        )
        return self

    def scoring_at(self, transactions, cutoff: dt.date, features: pd.DataFrame | None = None) -> HistoryModel:
        """This fitted model, to forecast every customer from their purchases up to `cutoff` (a
        later day than the one it was fitted on: the models are kept, the inputs are today's);
        `features`, their `history_features` at `cutoff` when the caller has them."""
        scoring = copy.copy(self)
        scoring.transactions, scoring.calibration_end = transactions, cutoff
        scoring.features_ = history_features(transactions, cutoff=cutoff) if features is None else features
        return scoring

    def kept(self) -> HistoryModel:
        """This fitted model without its data (what the refresh keeps between refits)."""
        kept = copy.copy(self)
        kept.transactions, kept.features_, kept._inputs_at = None, None, None
        return kept

    def _inputs(self, t: float) -> pd.DataFrame:
        return self._inputs_and_baseline(t)[0]

    def _inputs_and_baseline(self, t: float) -> tuple[pd.DataFrame, tuple[pd.Series, pd.Series]]:
        if self.churn_classifier_ is None:
            raise RuntimeError("HistoryModel is not fitted yet: call fit() first")
        # the churn risk and the expected purchases of one horizon read the same inputs, and the
        # same purchase model's forecasts: made once
        cached = getattr(self, "_inputs_at", None)
        if cached is None or cached[0] is not self.features_ or cached[1] != t:
            forecasts = baseline_forecasts(self.features_, self.baseline_, t=t)
            cached = (self.features_, t, model_inputs(self.features_, self.baseline_, t=t, forecasts=forecasts),
                      forecasts)
            self._inputs_at = cached
        return cached[2], cached[3]

    def baseline_probability_alive(self, *, t: float) -> pd.Series:
        """The purchase model's P(alive) of each customer (the one `expected_churn_risk` and
        `expected_purchases` at `t` read), by customer id."""
        return self._inputs_and_baseline(t)[1][1]

    def expected_churn_risk(self, *, t: float) -> pd.Series:
        """Probability (0-1) that each customer makes no purchase in the next `t` weeks after the
        calibration end, by customer id."""
        risk = self.churn_classifier_.predict_proba(self._inputs(t))[:, 1]
        return pd.Series(risk, index=self.features_.index, name="churn_risk")

    def expected_purchases(self, *, t: float) -> pd.Series:
        """Expected number of purchase days per customer in the next `t` weeks after the
        calibration end, by customer id."""
        inputs, (baseline, _) = self._inputs_and_baseline(t)
        multiplier = self.purchase_corrector_.predict(inputs)
        return (multiplier * baseline).rename("expected_purchases")

    def median_purchases(self, *, t: float) -> pd.Series:
        """The median number of purchase days per customer in the next `t` weeks (a whole number:
        the single forecast with the smallest expected absolute error), by customer id."""
        churn_risk = self.expected_churn_risk(t=t).to_numpy()
        mean = self.expected_purchases(t=t).to_numpy()
        buying = 1 - churn_risk
        # Purchases beyond the first, for those who buy at all, so that the mean is kept.
        extra = np.clip(mean / np.maximum(buying, 1e-12) - 1, 0, None)
        share_needed = np.clip((0.5 - churn_risk) / np.maximum(buying, 1e-12), 0, 1)
        median = np.where(churn_risk >= 0.5, 0.0, 1 + stats.poisson.ppf(share_needed, extra))
        return pd.Series(median, index=self.features_.index, name="median_purchases")
