"""The standard normal distribution as Ibis expressions, so that forecasts over millions of
customer-product pairs are computed and cut by the engine (DuckDB and Spark have no erf).

`with_cdf` follows Numerical Recipes' `erfcc` (Chebyshev fit of erfc, relative error below 1.2e-7
everywhere, so tails keep their precision) and is built as scipy's `ndtr` is: the small side is
computed directly, the large side as one minus it. `with_quantile` is Acklam's rational
approximation (relative error below 1.15e-9). Both are far inside the precision the forecasts are read at.
"""

from __future__ import annotations

import math

import ibis

_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
         0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)
_CENTRAL_NUMERATOR = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
                      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_CENTRAL_DENOMINATOR = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
                        6.680131188771972e01, -1.328068155288572e01, 1.0)
_TAIL_NUMERATOR = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
                   -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_TAIL_DENOMINATOR = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
                     3.754408661907416e00, 1.0)
_TAIL = 0.02425


def _polynomial(x: ibis.Value, coefficients: tuple[float, ...]) -> ibis.Value:
    """coefficients[0] * x**(n-1) + ... + coefficients[-1] (Horner)."""
    value = ibis.literal(coefficients[0])
    for coefficient in coefficients[1:]:
        value = value * x + coefficient
    return value


def _upper_tail(z: ibis.Value) -> ibis.Value:
    """P(Z > z) for z >= 0: erfc(z / sqrt 2) / 2."""
    x = z / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * x)
    exponent = _polynomial(t, tuple(reversed(_ERFC[1:]))) * t + _ERFC[0]
    return 0.5 * t * (exponent - x * x).exp()


def with_cdf(table: ibis.Table, **z: ibis.Value) -> ibis.Table:
    """`table` with one column per keyword: P(Z <= z) for a standard normal Z and the float
    expression z. Each stage is a projection of its own, so that the engine takes every
    logarithm and exponential once per row (an expression repeated inside a formula is not
    shared)."""
    table = table.mutate(**{f"_z_{name}": value for name, value in z.items()})
    table = table.mutate(**{f"_tail_{name}": _upper_tail(table[f"_z_{name}"].abs()) for name in z})
    return table.mutate(**{
        name: ibis.cases((table[f"_z_{name}"] < 0, table[f"_tail_{name}"]), else_=1.0 - table[f"_tail_{name}"])
        for name in z
    }).drop(*(f"_{stage}_{name}" for name in z for stage in ("z", "tail")))


def with_quantile(table: ibis.Table, **p: ibis.Value) -> ibis.Table:
    """`table` with one column per keyword: the z with P(Z <= z) = p, for the float expression p
    strictly between 0 and 1 (staged as `with_cdf`)."""
    table = table.mutate(**{f"_p_{name}": value for name, value in p.items()})
    table = table.mutate(**{f"_q_{name}": _quantile_argument(table[f"_p_{name}"]) for name in p})
    return table.mutate(**{
        name: _quantile(table[f"_p_{name}"], table[f"_q_{name}"]) for name in p
    }).drop(*(f"_{stage}_{name}" for name in p for stage in ("p", "q")))


def _quantile_argument(p: ibis.Value) -> ibis.Value:
    """What Acklam's rational functions read: sqrt(-2 log) of the nearer tail's probability in
    the tails, the distance from 1/2 in the centre."""
    return ibis.cases(
        (p < _TAIL, (-2.0 * p.ln()).sqrt()),
        (p > 1 - _TAIL, (-2.0 * (1.0 - p).ln()).sqrt()),
        else_=p - 0.5,
    )


def _quantile(p: ibis.Value, q: ibis.Value) -> ibis.Value:
    tail = _polynomial(q, _TAIL_NUMERATOR) / _polynomial(q, _TAIL_DENOMINATOR)
    square = q * q
    return ibis.cases(
        (p < _TAIL, tail),
        (p > 1 - _TAIL, -tail),
        else_=_polynomial(square, _CENTRAL_NUMERATOR) * q / _polynomial(square, _CENTRAL_DENOMINATOR),
    )
