"""Each customer's purchase history kept as whole-day counts and exact sums, rolled forward by the
new days instead of read again from every basket (decision 0133).

The history model's features (`churn.history_features`) are derived from a few numbers per
customer (`churn.purchase_history`). All but two are sums over the purchase days that a new day
adds to: the purchase days, the first and last day and their spend, the gaps' squares (the gaps'
sum is the last day less the first), the last gap, the spend (exact, in cents). The other two
depend on the day the features are taken at:

- the purchase days in the last 4, 13 and 26 weeks: the days entering the windows added, the
  days leaving them taken off (read from the baskets of those days);
- `months_with_purchase`, the 4-week blocks counted back from that day holding a purchase. The
  blocks move with the day, but only with its phase (its day number modulo 28): for a phase, a
  day's block is fixed (`block`). So the state keeps one count per phase, and a purchase day after
  the customer's last one adds 1 to the count of each phase whose block of it is not the last
  day's (days arrive in order: the blocks are intervals, a day is either in the last block or in
  a new one). The count of today's phase is the feature.

A day's spend is the exact sum of its baskets' spends, in cents, as `summary.purchase_days`
adds it: the floats read from the state are the floats the full query gives, bit for bit.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from clientele.forecasting.summary import purchase_days

#: The days of a block of `months_with_purchase`, and so the phases a state keeps a count for.
BLOCK_DAYS = 28
#: The windows of the recent purchase counts, in weeks.
RECENT_WEEKS = (4, 13, 26)
#: Day numbers count from here (before any lake's first day: block numbers stay positive).
EPOCH = dt.date(1900, 1, 1)
MONEY = "decimal(38, 2)"


def months_column(phase: int) -> str:
    return f"months_{phase}"


def recent_column(weeks: int) -> str:
    return f"purchases_last_{weeks}_weeks"


#: The kept state's columns and types (both engines write it so).
STATE = ibis.schema({
    "customer_id": "int64", "first_day": "date", "last_day": "date", "purchase_days": "int64",
    "gap_days_squared": "int64", "last_gap_days": "int64", "spend": MONEY, "first_spend": MONEY,
    "last_spend": MONEY, **{recent_column(w): "int64" for w in RECENT_WEEKS},
    **{months_column(p): "int64" for p in range(BLOCK_DAYS)},
})


def phase(day: dt.date) -> int:
    """The phase of `day`: which of the kept counts is its `months_with_purchase`."""
    return (day - EPOCH).days % BLOCK_DAYS


def block(day: ibis.Value, phase_of_cutoff: int) -> ibis.Value:
    """The 4-week block of `day` as counted back from any cutoff of phase `phase_of_cutoff`: days
    `day` and `other` are in the same block from such a cutoff c exactly when (c - day) // 28 ==
    (c - other) // 28, which is when their `block`s are equal (ceil((day - phase) / 28))."""
    number = day.delta(ibis.date(EPOCH), unit="day")
    return (number + (BLOCK_DAYS - 1 - phase_of_cutoff)) // BLOCK_DAYS


def day_sums(baskets: ibis.Table) -> ibis.Table:
    """One row per customer and purchase day of `baskets` (customer_id, date, spend): `day` and
    `spend`, the day's exact sum (decimal cents: `purchase_days` sums the same cents)."""
    days = purchase_days(baskets)
    return days.select("customer_id", "day", spend=days.spend.cast("decimal(18, 2)").cast(MONEY))


def _count(condition: ibis.Value) -> ibis.Value:
    """How many rows meet `condition`, as int64 (DuckDB sums BIGINTs into a HUGEINT that Ibis
    calls int64, written to Parquet as a DOUBLE: through float64, exact below 2^53)."""
    return _total(ibis.ifelse(condition, 1, 0).cast("int64"))


def _total(values: ibis.Value) -> ibis.Value:
    return values.sum().cast("float64").cast("int64")


def _added(days: ibis.Table, cutoff: dt.date) -> ibis.Table:
    """Per customer, what the rows of `days` flagged `new` add to the state at `cutoff` (each row:
    customer_id, day, spend, new; a row not new is the customer's kept last day, before them)."""
    in_order = ibis.window(group_by="customer_id", order_by="day")
    days = days.mutate(previous_day=days.day.lag().over(in_order))
    gap = days.day.delta(days.previous_day, unit="day")
    days = days.mutate(gap=gap).filter(days.new)
    opened = {
        months_column(p): _count(days.previous_day.isnull() | (block(days.day, p) != block(days.previous_day, p)))
        for p in range(BLOCK_DAYS)
    }
    recent = {
        recent_column(w): _count(days.day > ibis.date(cutoff - dt.timedelta(weeks=w))) for w in RECENT_WEEKS
    }
    return days.group_by("customer_id").aggregate(
        first_day=days.day.min(), last_day=days.day.max(), purchase_days=days.count(),
        gap_days_squared=_total(days.gap * days.gap), last_gap_days=days.gap.argmax(days.day),
        spend=days.spend.sum().cast(MONEY), first_spend=days.spend.argmin(days.day),
        last_spend=days.spend.argmax(days.day), **recent, **opened,
    )


def history_state(baskets: ibis.Table, cutoff: dt.date) -> ibis.Table:
    """Every customer's kept history at `cutoff` (inclusive), from their `baskets` (customer_id,
    date, spend): columns `STATE`, one row per customer with a purchase day up to `cutoff`."""
    days = day_sums(baskets)
    days = days.filter(days.day <= ibis.date(cutoff)).mutate(new=ibis.literal(True))
    added = _added(days, cutoff)
    return added.mutate(gap_days_squared=added.gap_days_squared.fill_null(0)).select(*STATE.names).cast(STATE)


def _leaving_days(old_cutoff: dt.date, cutoff: dt.date) -> dict[int, tuple[dt.date, dt.date]]:
    """Per recent window (weeks), the kept days that leave it from `old_cutoff` to `cutoff`: those
    after the first and up to the second (in the window at the old cutoff, not now)."""
    return {w: (old_cutoff - dt.timedelta(weeks=w), min(old_cutoff, cutoff - dt.timedelta(weeks=w)))
            for w in RECENT_WEEKS}


def rolled_days(baskets: ibis.Table, old_cutoff: dt.date, cutoff: dt.date) -> ibis.Table:
    """The `day_sums` of `baskets` (customer_id, date, spend) that rolling a state kept at
    `old_cutoff` to `cutoff` reads: the days after `old_cutoff` up to `cutoff`, and the days
    leaving the recent windows (a caller materialises it: `roll_history_state` reads it thrice)."""
    on = baskets.date.cast("date")
    spans = [(old_cutoff, cutoff), *_leaving_days(old_cutoff, cutoff).values()]
    return day_sums(baskets.filter(ibis.or_(*[(on > ibis.date(after)) & (on <= ibis.date(until))
                                              for after, until in spans])))


def roll_history_state(state: ibis.Table, days: ibis.Table, old_cutoff: dt.date, cutoff: dt.date) -> ibis.Table:
    """The kept `state` at `old_cutoff` rolled to `cutoff` with `days` (`rolled_days`: the new
    days added, the days leaving the recent windows taken off). The customers' baskets up to
    `old_cutoff` must be the ones the state was computed from (the caller recomputes the others
    with `history_state`). The rows of the customers with neither are the kept rows."""
    new = days.filter(days.day > ibis.date(old_cutoff))
    last = state.semi_join(new, "customer_id").select("customer_id", day=state.last_day, spend=state.last_spend)
    added = _added(ibis.union(last.mutate(new=ibis.literal(False)), new.mutate(new=ibis.literal(True)),
                              distinct=False), cutoff)
    leaving = days.filter(days.day <= ibis.date(old_cutoff))
    left = leaving.group_by("customer_id").aggregate(**{
        recent_column(w): _count((leaving.day > ibis.date(after)) & (leaving.day <= ibis.date(until)))
        for w, (after, until) in _leaving_days(old_cutoff, cutoff).items()
    })
    changed = ibis.union(added.select("customer_id"), left.select("customer_id"), distinct=True)
    joined = state.semi_join(changed, "customer_id").outer_join(added, "customer_id", rname="{name}_added")
    joined = joined.mutate(customer_id=ibis.coalesce(joined.customer_id, joined.customer_id_added)).drop(
        "customer_id_added")
    joined = joined.left_join(left, "customer_id", rname="{name}_left").drop("customer_id_left")

    def total(column: str) -> ibis.Value:
        return joined[column].fill_null(0) + joined[f"{column}_added"].fill_null(0)

    kept_days, new_days = joined.purchase_days.notnull(), joined.last_day_added.notnull()
    rolled = joined.select(
        "customer_id",
        first_day=ibis.coalesce(joined.first_day, joined.first_day_added),
        last_day=ibis.coalesce(joined.last_day_added, joined.last_day),
        purchase_days=total("purchase_days"),
        gap_days_squared=total("gap_days_squared"),
        last_gap_days=ibis.ifelse(new_days, joined.last_gap_days_added, joined.last_gap_days),
        spend=total("spend"),
        first_spend=ibis.ifelse(kept_days, joined.first_spend, joined.first_spend_added),
        last_spend=ibis.ifelse(new_days, joined.last_spend_added, joined.last_spend),
        **{recent_column(w): total(recent_column(w)) - joined[f"{recent_column(w)}_left"].fill_null(0)
           for w in RECENT_WEEKS},
        **{months_column(p): total(months_column(p)) for p in range(BLOCK_DAYS)},
    )
    return state.anti_join(changed, "customer_id").cast(STATE).union(rolled.cast(STATE), distinct=False)


def history_of_state(state: ibis.Table, cutoff: dt.date) -> pd.DataFrame:
    """The `churn.purchase_history` at `cutoff` of the customers of `state` (kept at `cutoff`):
    the same columns, counts and sums, to the last bit."""
    repeat = state.purchase_days > 1
    history = state.select(
        "customer_id", "purchase_days", "first_day", "last_day",
        gaps=state.purchase_days - 1,
        gap_days=ibis.ifelse(repeat, state.last_day.delta(state.first_day, unit="day"), ibis.null("int64")),
        gap_days_squared=ibis.ifelse(repeat, state.gap_days_squared, ibis.null("int64")),
        last_gap_days=ibis.ifelse(repeat, state.last_gap_days, ibis.null("int64")),
        **{recent_column(w): state[recent_column(w)] for w in RECENT_WEEKS},
        months_with_purchase=state[months_column(phase(cutoff))],
        spend=state.spend.cast("float64"),
        repeat_spend=(state.spend - state.first_spend).cast("float64"),
        first_spend=state.first_spend.cast("float64"),
        last_spend=state.last_spend.cast("float64"),
    )
    return history.order_by("customer_id").execute().set_index("customer_id")
