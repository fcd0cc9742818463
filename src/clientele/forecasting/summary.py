"""Per-customer purchase summaries, the input of the lifetime-value models.

A table of purchases in (one row per purchase or basket line), a table of customers out, one row
each: how many repeat purchase days they had, when the last one was, how long we have watched
them, and what they spent per repeat purchase. Time is measured in weeks. Purchases on the same
day count as one purchase (their spend is added), because the models count purchase occasions, not
basket lines.

Written as Ibis expressions, so the same code runs on DuckDB (default) and Spark.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from clientele.sums import money_total

DAYS_PER_WEEK = 7.0


def as_table(transactions) -> ibis.Table:
    """An Ibis table over pandas data, a DuckDB relation or an Ibis table."""
    if isinstance(transactions, ibis.Table):
        return transactions
    if isinstance(transactions, pd.DataFrame):
        return ibis.memtable(transactions)
    # A DuckDB relation: materialise through Arrow, which keeps column types.
    return ibis.memtable(transactions.to_arrow_table())


def purchase_days(
    transactions,
    *,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = "spend",
) -> ibis.Table:
    """One row per customer and purchase day: `customer_id`, `day` (date) and `spend` (the day's
    total spend in the currency of the input; 0 when no spend column is given)."""
    table = as_table(transactions)
    spend = table[monetary_value_col] if monetary_value_col else ibis.literal(0.0)
    lines = table.select(
        customer_id=table[customer_id_col],
        day=table[datetime_col].cast("date"),
        spend=spend,
    )
    return lines.group_by(["customer_id", "day"]).aggregate(spend=money_total(lines.spend))


def weeks_between(later, earlier):
    """Weeks (fractional) from `earlier` to `later`, as an Ibis expression."""
    return later.delta(earlier, unit="day").cast("float64") / DAYS_PER_WEEK


def summarise_transactions(
    transactions,
    *,
    observation_end: dt.date,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = "spend",
) -> pd.DataFrame:
    """Each customer's purchase summary at `observation_end` (inclusive), indexed by customer id.

    Columns: `frequency` (number of repeat purchase days, i.e. purchase days after the first),
    `recency` (weeks from the first to the last purchase day), `T` (weeks from the first purchase
    day to `observation_end`), `monetary_value` (mean spend per repeat purchase day; 0 for
    customers with no repeat purchase, following Fader, Hardie and Lee's Gamma-Gamma convention).
    Customers whose first purchase is after `observation_end` are left out.
    """
    days = purchase_days(
        transactions,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
    )
    end = ibis.date(observation_end)
    watched = days.filter(days.day <= end)
    first = watched.group_by("customer_id").aggregate(first_day=watched.day.min())
    with_first = watched.join(first, "customer_id")
    is_repeat = with_first.day > with_first.first_day
    customers = with_first.group_by("customer_id").aggregate(
        frequency=is_repeat.cast("int64").sum(),
        last_day=with_first.day.max(),
        first_day=with_first.first_day.min(),
        repeat_spend=money_total(ibis.cases((is_repeat, with_first.spend), else_=0.0)),
    )
    summary = customers.select(
        "customer_id",
        "frequency",
        recency=weeks_between(customers.last_day, customers.first_day),
        T=weeks_between(end, customers.first_day),
        monetary_value=ibis.cases(
            (customers.frequency > 0, customers.repeat_spend / customers.frequency),
            else_=0.0,
        ),
    )
    return summary.order_by("customer_id").execute().set_index("customer_id")


def calibration_holdout_summary(
    transactions,
    *,
    calibration_end: dt.date,
    observation_end: dt.date,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = "spend",
) -> pd.DataFrame:
    """The calibration summary at `calibration_end` plus what each of those customers did next.

    The calibration columns are those of `summarise_transactions`; the holdout columns are
    `frequency_holdout` (purchase days after `calibration_end` up to `observation_end`, inclusive),
    `monetary_value_holdout` (mean spend per holdout purchase day; 0 if none) and
    `duration_holdout` (length of the holdout period in weeks). Only customers who bought by
    `calibration_end` appear: the models forecast known customers, not new ones.
    """
    if observation_end <= calibration_end:
        raise ValueError("observation_end must come after calibration_end")
    columns = dict(
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
    )
    calibration = summarise_transactions(transactions, observation_end=calibration_end, **columns)
    days = purchase_days(transactions, **columns)
    holdout_days = days.filter(
        (days.day > ibis.date(calibration_end)) & (days.day <= ibis.date(observation_end))
    )
    holdout = (
        holdout_days.group_by("customer_id")
        .aggregate(
            frequency_holdout=holdout_days.count(),
            spend_holdout=holdout_days.spend.sum(),
        )
        .execute()
        .set_index("customer_id")
    )
    summary = calibration.join(holdout, how="left")
    summary["frequency_holdout"] = summary["frequency_holdout"].fillna(0).astype("int64")
    spend_holdout = summary.pop("spend_holdout").fillna(0.0)
    summary["monetary_value_holdout"] = (
        spend_holdout / summary["frequency_holdout"].where(summary["frequency_holdout"] > 0)
    ).fillna(0.0)
    summary["duration_holdout"] = (observation_end - calibration_end).days / DAYS_PER_WEEK
    return summary
