"""Pareto/NBD: how many times each customer will buy again, and whether they are still a customer.

The Pareto/NBD model (Schmittlein, Morrison and Colombo 1987): while active, a customer buys at a
steady rate (Poisson, rates across customers Gamma(r, alpha)); each customer's lifetime is
exponential, with dropout rates across customers Gamma(s, beta). Time is in weeks.

The likelihood needs the difference of two Gauss hypergeometric terms, which overflows or cancels
when taken literally for frequent buyers. Here each term is rewritten with Euler's transformation
as a power factor times 2F1(1, b; c; z) with 0 <= z < 1 and c > b + 1 (a series of positive terms
that converges even at z = 1), and the difference is taken in log space with log1p(-exp(.)).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from clientele.forecasting.base import PurchaseModel


def _log_lifetime_term(params: dict[str, float], x, t) -> np.ndarray:
    """log of the integral term of the likelihood evaluated at time t (t = recency or T).

    Equals log[2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t)) / (alpha+t)**(r+s+x)] when
    alpha >= beta, and the mirror form in beta otherwise, rewritten as explained above.
    """
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
    c = r + s + x + 1
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        return (
            -(r + x) * np.log(alpha + t) - s * np.log(beta + t) + np.log(hyp2f1(1.0, r + x, c, z))
        )
    z = (beta - alpha) / (beta + t)
    return (
        (1 - r - x) * np.log(alpha + t) - (s + 1) * np.log(beta + t) + np.log(hyp2f1(1.0, s + 1, c, z))
    )


def _log_terms(params: dict[str, float], x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """(log weight of 'still active at T', log weight of 'left between t_x and T')."""
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
    active = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    at_recency = _log_lifetime_term(params, x, t_x)
    at_age = _log_lifetime_term(params, x, T)
    # The integral from t_x to T is positive; when t_x == T it vanishes (log -> -inf).
    with np.errstate(divide="ignore"):
        between = at_recency + np.log1p(-np.exp(np.minimum(at_age - at_recency, 0.0)))
    left = np.log(s) - np.log(r + s + x) + between
    return active, left


def log_likelihood(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """Log-probability of each customer's (frequency x, recency t_x, age T) under the model."""
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
    active, left = _log_terms(params, x, t_x, T)
    return (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        + np.logaddexp(active, left)
    )


def probability_alive(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """Probability (0-1) that each customer is still a customer at the end of observation."""
    active, left = _log_terms(params, x, t_x, T)
    return expit(active - left)


def conditional_expected_purchases(params: dict[str, float], x, t_x, T, t: float) -> np.ndarray:
    """Expected number of purchases by each customer in the next `t` weeks, given the history."""
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
    log_share_left = np.log(beta + T) - np.log(beta + T + t)
    # (1 - share**(s-1)) / (s-1), with its limit -log(share) at s == 1.
    if abs(s - 1) < 1e-9:
        lifetime_weeks = -log_share_left * (beta + T)
    else:
        lifetime_weeks = -np.expm1((s - 1) * log_share_left) / (s - 1) * (beta + T)
    purchase_rate = (r + x) / (alpha + T)
    return purchase_rate * lifetime_weeks * probability_alive(params, x, t_x, T)


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD fitted on a customer summary (customer_id, frequency, recency, T in weeks).

    >>> model = ParetoNBDModel(summary).fit()
    >>> model.expected_purchases(t=39)          # purchases per customer in the next 39 weeks
    >>> model.expected_probability_alive()      # chance each customer has not left
    """

    parameter_names = ("r", "alpha", "s", "beta")
    log_likelihood = staticmethod(log_likelihood)
    purchases_given_history = staticmethod(conditional_expected_purchases)
    alive_given_history = staticmethod(probability_alive)
