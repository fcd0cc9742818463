"""Money sums that come out the same on every run and every engine."""

from __future__ import annotations

import ibis


def money_total(amounts: ibis.Value) -> ibis.Value:
    """The sum of money amounts as float64 currency units, the same whatever order the engine adds in.

    Engines add floats in the order their threads meet the rows, so two runs can differ in the
    last bits, and equal customers then swap ranks between runs. Decimal amounts (the lake's money
    columns) are summed exactly and converted once; float amounts (sums of sums) are rounded to
    the cent, far above any error of the float additions.
    """
    if amounts.type().is_decimal():
        return amounts.sum().cast("float64")
    return amounts.sum().round(2)
