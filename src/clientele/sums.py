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


def money_total_of_sum(total: ibis.Value) -> ibis.Value:
    """A money total already summed as decimals (a state kept between refreshes, added to as days
    come) as float64 currency units: the same float as `money_total` of the amounts it sums."""
    return total.cast("float64")


def decimal_sum(values: ibis.Value, decimals: int) -> ibis.Value:
    """The exact decimal sum `exact_sum` converts to float64, kept as a decimal: sums of parts
    of the rows add up to the sum of all of them, to the last digit (the incremental refresh)."""
    return values.cast(f"decimal(18, {decimals})").sum()
