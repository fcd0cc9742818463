"""Sums that come out the same on every run and every engine.

Engines add floats in the order their threads meet the rows, and float addition is not
associative: two runs of the same refresh on the same lake would differ in the last bits, and
customers with equal spends would swap ranks between them. Summed as decimals, the totals are
exact, whatever the order (decision 0012).
"""

from __future__ import annotations

import ibis


def exact_sum(values: ibis.Value, decimals: int) -> ibis.Value:
    """The sum of `values`, each rounded to `decimals` decimals (and below 10^(18 - decimals)),
    added as decimals, so exactly, and returned as float64."""
    return values.cast(f"decimal(18, {decimals})").sum().cast("float64")


def money_total(amounts: ibis.Value) -> ibis.Value:
    """The sum of money amounts as float64 currency units, exact to the cent: the lake's decimal
    columns summed as they are, other amounts (sums of sums, in float64) each to the cent."""
    if amounts.type().is_decimal():
        return amounts.sum().cast("float64")
    return exact_sum(amounts, decimals=2)
