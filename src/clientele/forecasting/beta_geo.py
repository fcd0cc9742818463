"""BG/NBD: how many times each customer will buy again, and whether they are still a customer.

The beta-geometric/negative-binomial model (Fader, Hardie and Lee 2005): while active, a customer
buys at a steady rate (Poisson, rates across customers Gamma(r, alpha)); after each purchase they
may leave for good with probability p (p across customers Beta(a, b)). Time is in weeks.

Everything is computed in log space (gammaln, logaddexp) so that customers with hundreds of
purchases do not overflow, and the hypergeometric function of the forecast is taken in its Euler
form, whose parameters do not grow with the number of purchases.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit, gammaln, hyp2f1

from clientele.forecasting.base import PurchaseModel, distinct_rows, per_frequency


def log_likelihood(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """Log-probability of each customer's (frequency x, recency t_x, age T) under the model."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    common = per_frequency(
        lambda n: gammaln(r + n) - gammaln(r) + betaln(a, b + n) - betaln(a, b), x
    ) + r * np.log(alpha)
    still_active = -(r + x) * np.log(alpha + T)
    # The second term (left right after the last purchase) only exists for repeat buyers.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_leaving = per_frequency(lambda n: np.log(a) - np.log(b + n - 1), x)
    left_after_last = np.where(
        x > 0, log_odds_leaving - (r + x) * np.log(alpha + t_x), -np.inf
    )
    return common + np.logaddexp(still_active, left_after_last)


def _log_odds_gone(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """log P(left after the last purchase) - log P(still active), given the history."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    odds = np.full_like(x, -np.inf, dtype=float)
    repeaters = x > 0
    xr = x[repeaters]
    odds[repeaters] = (
        np.log(a)
        - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + T[repeaters]) - np.log(alpha + t_x[repeaters]))
    )
    return odds


def probability_alive(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """Probability (0-1) that each customer is still a customer at the end of observation."""
    return expit(-_log_odds_gone(params, x, t_x, T))


def conditional_expected_purchases(params: dict[str, float], x, t_x, T, t: float) -> np.ndarray:
    """Expected number of purchases by each customer in the next `t` weeks, given the history."""
    return BetaGeoModel.purchases_by_horizon(params, x, t_x, T)(t)


def _purchases_if_active(params: dict[str, float], x, T, t: float) -> np.ndarray:
    """Expected purchases in the next `t` weeks of a customer still active."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    z = t / (alpha + T + t)
    # Euler's transform of 2F1(r+x, b+x; a+b+x-1; z) times ((alpha+T)/(alpha+T+t))**(r+x).
    still_buying = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * (1 - still_buying)


class BetaGeoModel(PurchaseModel):
    """BG/NBD fitted on a customer summary (customer_id, frequency, recency, T in weeks).

    >>> model = BetaGeoModel(summary).fit()
    >>> model.expected_purchases(t=39)          # purchases per customer in the next 39 weeks
    >>> model.expected_probability_alive()      # chance each customer has not left
    """

    parameter_names = ("r", "alpha", "a", "b")
    log_likelihood = staticmethod(log_likelihood)
    purchases_given_history = staticmethod(conditional_expected_purchases)
    alive_given_history = staticmethod(probability_alive)

    @classmethod
    def purchases_by_horizon(cls, params, x, t_x, T):
        """`conditional_expected_purchases` by horizon, P(alive) computed once for every horizon
        and the purchases while active (a hypergeometric function: the costly part) once per
        distinct (x, T), which many customers share (the same floats as calling it horizon by
        horizon, customer by customer)."""
        alive = probability_alive(params, x, t_x, T)
        if np.ndim(x) == 0 or len(x) == 0:
            return lambda t: _purchases_if_active(params, x, T, t) * alive
        (x_once, T_once), position, _ = distinct_rows(x, T)
        return lambda t: _purchases_if_active(params, x_once, T_once, t)[position] * alive
