"""What every lifetime-value model shares: the input check, the compression of identical customers,
maximum-likelihood fitting on log-parameters, and the parameters' uncertainty.

A model is fitted on a per-customer summary (see `summary.py`): `customer_id`, `frequency` (repeat
purchases), `recency` and `T` (weeks), and for spend models `monetary_value`. Customers with the
same summary contribute the same likelihood, so the likelihood is evaluated once per distinct
summary and weighted by how many customers share it: fitting cost grows with the number of
distinct summaries, not with the number of customers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from clientele.errors import ClienteleError

SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T")

# Log-parameters are kept within +-LOG_BOUND; a fit that ends there has not found a maximum.
LOG_BOUND = 18.0
MAX_LOG_STD_ERROR = 3.0


class ForecastInputError(ClienteleError):
    """The customer summary given to a model is not one it can use."""

    code = "forecast_input"


class ModelFitError(ClienteleError):
    """The data cannot identify the model's parameters (no maximum of the likelihood)."""

    code = "model_fit"


def validate_summary(data: pd.DataFrame, required: Sequence[str] = SUMMARY_COLUMNS) -> pd.DataFrame:
    """The summary indexed by `customer_id`, with `required` columns checked: present, no missing
    values, unique customer ids, non-negative whole frequencies, 0 <= recency <= T.

    `customer_id` may be a column or the index. Raises ForecastInputError naming the problem.
    """
    if "customer_id" in data.columns:
        data = data.set_index("customer_id")
    elif data.index.name != "customer_id":
        raise ForecastInputError("the customer summary has no column 'customer_id'")
    for column in required:
        if column != "customer_id" and column not in data.columns:
            raise ForecastInputError(f"the customer summary has no column {column!r}")
    if len(data) == 0:
        raise ForecastInputError("the customer summary has no customers")
    if not data.index.is_unique:
        repeated = data.index[data.index.duplicated()][:3].tolist()
        raise ForecastInputError(f"customer_id must be unique; repeated: {repeated}")
    numbers = [c for c in required if c != "customer_id"]
    if data[numbers].isna().any().any():
        raise ForecastInputError(f"the customer summary has missing values in {numbers}")
    if "frequency" in numbers:
        frequency = data["frequency"].to_numpy(dtype=float)
        if (frequency < 0).any() or (frequency != np.round(frequency)).any():
            raise ForecastInputError("frequency must be a whole number of repeat purchases >= 0")
    if "recency" in numbers and "T" in numbers:
        recency, T = data["recency"].to_numpy(float), data["T"].to_numpy(float)
        if (recency < 0).any() or (recency > T + 1e-9).any():
            raise ForecastInputError("recency must lie between 0 and T (weeks)")
    return data


def distinct_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The distinct rows of aligned columns: (their values column by column, each input row's
    position among them, how many input rows each one stands for).

    Equivalent to np.unique(axis=0, return_inverse=True, return_counts=True), but hashes instead of
    sorting rows, which keeps 10 million customers well under a second.
    """
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        column_codes, column_values = pd.factorize(column)
        # Pairing two codes stays below n**2 < 2**63 for any realistic number of customers.
        codes, _ = pd.factorize(codes * len(column_values) + column_codes)
    first_row = np.full(codes.max() + 1, len(codes), dtype=np.int64)
    np.minimum.at(first_row, codes, np.arange(len(codes)))
    counts = np.bincount(codes)
    return [np.asarray(column)[first_row] for column in columns], codes, counts


def per_frequency(function: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """`function(x)`, evaluated once per possible frequency 0..max(x) and looked up, when that is
    cheaper than evaluating it per row (frequencies are small whole numbers in practice)."""
    largest = int(x.max()) if len(x) else 0
    if largest >= len(x):
        return function(x)
    return function(np.arange(largest + 1, dtype=float))[x.astype(np.int64)]


def numerical_hessian(function: Callable[[np.ndarray], float], point: np.ndarray) -> np.ndarray:
    """The matrix of second derivatives of `function` at `point` (central differences)."""
    k = len(point)
    step = 1e-4 * np.maximum(1.0, np.abs(point))
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step[i], np.eye(k)[j] * step[j]
            value = (
                function(point + ei + ej)
                - function(point + ei - ej)
                - function(point - ei + ej)
                + function(point - ei - ej)
            ) / (4 * step[i] * step[j])
            hessian[i, j] = hessian[j, i] = value
    return hessian


class FittedModel:
    """Maximum-likelihood fitting shared by the models.

    A model names its parameters (`parameter_names`), lists the summary columns its likelihood
    needs (`likelihood_columns`) and gives `log_likelihood(params, *columns)`, one value per row.
    """

    parameter_names: tuple[str, ...] = ()
    likelihood_columns: tuple[str, ...] = ()
    required_columns: tuple[str, ...] = SUMMARY_COLUMNS

    def __init__(self, data: pd.DataFrame):
        self.data = validate_summary(data, self.required_columns)
        self.params_: pd.Series | None = None
        self.covariance_: pd.DataFrame | None = None
        self.log_likelihood_: float | None = None

    @staticmethod
    def log_likelihood(params: dict[str, float], *columns: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fitting_rows(self) -> pd.DataFrame:
        return self.data

    def fit(self) -> FittedModel:
        """Fit the parameters by maximum likelihood; returns the model (parameters in `params_`,
        their covariance on the log scale in `covariance_`, total log-likelihood in
        `log_likelihood_`). Raises ModelFitError when the data cannot identify a parameter."""
        rows = self._fitting_rows()
        if not (rows["frequency"] > 0).any():
            raise ModelFitError(
                f"{type(self).__name__}: no customer made a repeat purchase, so nothing tells how "
                "often customers buy; fit on a longer period or more customers"
            )
        columns, _, weights = distinct_rows(
            *(rows[c].to_numpy(dtype=float) for c in self.likelihood_columns)
        )
        total = weights.sum()

        def mean_negative_log_likelihood(log_params: np.ndarray) -> float:
            params = dict(zip(self.parameter_names, np.exp(log_params)))
            # The optimiser may probe extreme parameters where terms overflow; those are refused.
            with np.errstate(all="ignore"):
                value = -np.dot(weights, self.log_likelihood(params, *columns)) / total
            # Outside the region where the likelihood can be evaluated, steer the optimiser back.
            return value if np.isfinite(value) else 1e10

        k = len(self.parameter_names)
        result = optimize.minimize(
            mean_negative_log_likelihood,
            x0=np.zeros(k),
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * k,
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
        )
        hessian = numerical_hessian(mean_negative_log_likelihood, result.x) * total
        covariance = np.linalg.pinv(hessian)
        with np.errstate(invalid="ignore"):
            log_std_error = np.sqrt(np.diag(covariance))
        # A flat likelihood (a standard error of a log-parameter above MAX_LOG_STD_ERROR, i.e. the
        # parameter is unknown within a factor of e**3 = 20) or an end at the bounds means the data
        # do not pin the parameter down; forecasts from such a fit would be arbitrary.
        unidentified = [
            name
            for name, value, error in zip(self.parameter_names, result.x, log_std_error)
            if abs(value) > LOG_BOUND - 1 or not error <= MAX_LOG_STD_ERROR
        ]
        if unidentified or not np.isfinite(result.fun) or result.fun >= 1e10:
            raise ModelFitError(
                f"{type(self).__name__}: the data cannot identify {', '.join(unidentified) or 'the parameters'}"
                f" (customers: {len(rows)}, with repeat purchases: {int((rows['frequency'] > 0).sum())});"
                " the model needs many customers who differ in how often they buy"
            )
        self.params_ = pd.Series(np.exp(result.x), index=list(self.parameter_names), name="estimate")
        self.log_likelihood_ = -result.fun * total
        self.covariance_ = pd.DataFrame(
            covariance, index=self.parameter_names, columns=self.parameter_names
        )
        return self

    def _require_fit(self) -> dict[str, float]:
        if self.params_ is None:
            raise ModelFitError(f"{type(self).__name__} is not fitted yet: call fit() first")
        return self.params_.to_dict()

    def parameter_summary(self) -> pd.DataFrame:
        """The fitted parameters with their standard errors and 95% intervals (from the
        likelihood's curvature on the log scale, so intervals stay positive)."""
        self._require_fit()
        log_se = np.sqrt(np.clip(np.diag(self.covariance_.to_numpy()), 0, None))
        estimate = self.params_.to_numpy()
        return pd.DataFrame(
            {
                "estimate": estimate,
                "std_error": estimate * log_se,
                "lower_95": estimate * np.exp(-1.96 * log_se),
                "upper_95": estimate * np.exp(1.96 * log_se),
            },
            index=self.params_.index,
        )

    def draw_parameters(self, draws: int, rng: np.random.Generator) -> list[dict[str, float]]:
        """`draws` plausible parameter sets: draws from the large-sample normal distribution of the
        log-parameters around the estimate."""
        self._require_fit()
        log_draws = rng.multivariate_normal(
            np.log(self.params_.to_numpy()), self.covariance_.to_numpy(), size=draws
        )
        return [dict(zip(self.parameter_names, np.exp(row))) for row in log_draws]

    def _customers(self, data: pd.DataFrame | None, required: Sequence[str]) -> pd.DataFrame:
        return self.data if data is None else validate_summary(data, required)

    def _per_customer(
        self,
        data: pd.DataFrame,
        columns: Sequence[str],
        compute: Callable[..., np.ndarray],
        name: str,
    ) -> pd.Series:
        """`compute` evaluated once per distinct summary and spread back to every customer."""
        distinct, position, _ = distinct_rows(*(data[c].to_numpy(dtype=float) for c in columns))
        return pd.Series(compute(*distinct)[position], index=data.index, name=name)


class PurchaseModel(FittedModel):
    """A model of how many purchases each customer makes and whether they are still a customer.

    A subclass gives `purchases_given_history(params, x, t_x, T, t)` and
    `alive_given_history(params, x, t_x, T)`; the business verbs below are the same for all.
    """

    likelihood_columns = ("frequency", "recency", "T")

    @staticmethod
    def purchases_given_history(params, x, t_x, T, t):
        raise NotImplementedError

    @staticmethod
    def alive_given_history(params, x, t_x, T):
        raise NotImplementedError

    @classmethod
    def purchases_by_horizon(cls, params, x, t_x, T) -> Callable[[float], np.ndarray]:
        """`purchases_given_history` of these customers as a function of the horizon t alone, for a
        caller that asks for several horizons (a subclass may share what does not depend on t)."""
        return lambda t: cls.purchases_given_history(params, x, t_x, T, t)

    def expected_purchases(self, data: pd.DataFrame | None = None, *, t: float) -> pd.Series:
        """Expected number of purchase days per customer in the next `t` weeks, by customer id."""
        params = self._require_fit()
        return self._per_customer(
            self._customers(data, SUMMARY_COLUMNS),
            self.likelihood_columns,
            lambda x, t_x, T: self.purchases_given_history(params, x, t_x, T, t),
            "expected_purchases",
        )

    def expected_probability_alive(self, data: pd.DataFrame | None = None) -> pd.Series:
        """Probability (0-1) that each customer is still a customer now, by customer id."""
        params = self._require_fit()
        return self._per_customer(
            self._customers(data, SUMMARY_COLUMNS),
            self.likelihood_columns,
            lambda x, t_x, T: self.alive_given_history(params, x, t_x, T),
            "probability_alive",
        )
