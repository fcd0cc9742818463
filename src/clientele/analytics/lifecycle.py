"""Customer lifecycle: exploration, formation, stability, decline, lapsed, month by month.

Every customer's spend is laid on a calendar of complete months, from the month of their first
basket to the last complete month before `as_of` (months without a basket count as zero spend).
At the end of each month the stage is, first rule that holds (thresholds in `LifecycleRules`):

1. lapsed      no basket in the last `lapse_months` months (default 2);
2. exploration the first `exploration_months` months since the first basket (default 3): trial;
3. decline     the last 3 months' spend fell below `decline_ratio` (0.7) of the customer's own
               average 3 months over the 6 months before: their business with us falls;
4. formation   that ratio is at least `growth_ratio` (1.2), or the customer did not buy in each of
               the last 3 months yet: spend still growing or not yet regular;
5. stability   otherwise: regular every month, spend steady against their own history.

A lapsed customer's exit pattern says where they left from: "in exploration" (never went past
trial), "in formation" (never reached stability), "early in stability" (fewer than
`long_stability_months` stable months, default 6) or "after a long stability".
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from datetime import date, timedelta

import ibis

from clientele.sums import money_total

STAGES = ("exploration", "formation", "stability", "decline", "lapsed")
EXIT_PATTERNS = ("in exploration", "in formation", "early in stability", "after a long stability")


@dataclass(frozen=True)
class LifecycleRules:
    """The thresholds of the lifecycle stages (see the module's docstring)."""

    lapse_months: int = 2
    exploration_months: int = 3
    decline_ratio: float = 0.7
    growth_ratio: float = 1.2
    long_stability_months: int = 6

    def __post_init__(self) -> None:
        if not 0 < self.decline_ratio < 1 < self.growth_ratio:
            raise ValueError("lifecycle ratios must satisfy 0 < decline_ratio < 1 < growth_ratio")
        if self.lapse_months < 1 or self.exploration_months < 1 or self.long_stability_months < 1:
            raise ValueError("lifecycle month counts must be at least 1")


def monthly_spend(baskets: ibis.Table, as_of: date) -> ibis.Table:
    """Per customer and complete month since their first basket: spend (currency units) and baskets.

    Months without a basket are present with zero spend. Columns: customer_id, month (first day),
    spend, baskets.
    """
    first_open_month = (as_of + timedelta(days=1)).replace(day=1)
    done = baskets.filter(baskets.basket_month < ibis.date(first_open_month))
    bought = done.group_by(["customer_id", "basket_month"]).aggregate(
        spend=money_total(done.spend), baskets=done.count()
    )
    first = bought.group_by("customer_id").aggregate(first_month=bought.basket_month.min())
    calendar = bought.select(month=bought.basket_month).distinct()
    grid = first.cross_join(calendar).filter(lambda t: t.month >= t.first_month)
    filled = grid.left_join(
        bought, [grid.customer_id == bought.customer_id, grid.month == bought.basket_month]
    )
    return filled.select(
        customer_id=grid.customer_id,
        month=grid.month,
        spend=filled.spend.fill_null(0.0),
        baskets=filled.baskets.fill_null(0),
    )


def lifecycle_history(baskets: ibis.Table, as_of: date, rules: LifecycleRules = LifecycleRules()) -> ibis.Table:
    """Every customer's lifecycle stage at the end of each complete month (the table of flows).

    Columns: customer_id, month, tenure_months (1 = the month of the first basket), spend (the
    month's, currency units), spend_trend (last 3 months against the 6 before, per month; 1 =
    steady; null without history), active_recent (months with a basket among the last 3) and
    lifecycle_stage.
    """
    return _staged(_windowed(monthly_spend(baskets, as_of), rules), rules)


def lifecycle_month(history: ibis.Table, baskets: ibis.Table, month: date,
                    rules: LifecycleRules = LifecycleRules()) -> ibis.Table | None:
    """The rows `lifecycle_history` adds for `month`, the complete month after the last of
    `history` (that table, computed by it up to the month before): None when no one bought in it.

    A row of a month depends on the customer's spend and baskets of that month and the 8
    calendar months before it, and on their tenure (the history's last + 1, or 1 for a customer
    whose first basket is in the month): every earlier row stays as it is. The months before a
    customer's first are laid as zero spend here (none in the history), which adds the same zeros
    the lags default to.
    """
    if not baskets.filter(baskets.basket_month == ibis.date(month)).count().execute():
        return None
    calendar = sorted(history.select("month").distinct().to_pyarrow()["month"].to_pylist())
    tail = [*calendar[-8:], month]
    recent = baskets.filter(baskets.basket_month.isin([ibis.date(m) for m in tail]))
    bought = recent.group_by(["customer_id", "basket_month"]).aggregate(
        spend=money_total(recent.spend), baskets=recent.count()
    )
    # one row per customer, the tail's months side by side (k months before `month`: k = 0 is it),
    # rather than a grid of customers x months and a window over it: the month's row alone is kept
    laid = bought.group_by("customer_id").aggregate(**{
        f"{name}_{k}": bought[name].max(where=bought.basket_month == ibis.date(m))
        for k, m in enumerate(reversed(tail)) for name in ("spend", "baskets")
    })
    before = history.filter(history.month == ibis.date(calendar[-1])) if calendar else history.limit(0)
    before = before.select("customer_id", tenure_before=before.tenure_months)
    customers = ibis.union(
        before.select("customer_id"), bought.filter(bought.basket_month == ibis.date(month)).select("customer_id"),
        distinct=True,
    )
    rows = customers.left_join(laid, "customer_id").left_join(before, "customer_id")

    def at(name: str, k: int) -> ibis.Value:
        """The month k months before `month`'s spend or baskets (0 where none: the lags' default)."""
        if k >= len(tail):
            return ibis.literal(0.0 if name == "spend" else 0)
        return rows[f"{name}_{k}"].fill_null(0.0 if name == "spend" else 0)

    active = {k: (at("baskets", k) > 0).cast("int32") for k in range(9)}
    windowed = rows.select(
        customer_id=rows.customer_id,
        month=ibis.date(month),
        spend=at("spend", 0),
        baskets=at("baskets", 0),
        tenure_months=(rows.tenure_before + 1).fill_null(1).cast(history.tenure_months.type()),
        **_month_sums(lambda k: at("spend", k), lambda k: active[k], rules),
    )
    return _staged(windowed, rules)


def _windowed(months: ibis.Table, rules: LifecycleRules) -> ibis.Table:
    """`monthly_spend`'s rows with the sums the stages read: tenure (months since the first),
    the spend of the last 3 months and of the 6 before, and the months with a basket."""
    # one window (customer, month order) and lags over it: the calendar is dense, so the k-th lag is
    # the month k months earlier. Lags share one sort, where sums over several frames cost one each.
    by_customer = ibis.window(group_by="customer_id", order_by="month")
    active = (months.baskets > 0).cast("int32")

    def lagged(value: ibis.Value) -> Callable[[int], ibis.Value]:
        return lambda k: value.lag(k, default=0).over(by_customer) if k else value

    return months.mutate(
        tenure_months=ibis.row_number().over(by_customer) + 1,
        **_month_sums(lagged(months.spend), lagged(active), rules),
    )


def _month_sums(spend: Callable[[int], ibis.Value], active: Callable[[int], ibis.Value],
                rules: LifecycleRules) -> dict[str, ibis.Value]:
    """The sums the stages read, given a month's spend and activity (1: a basket) k months before
    this one (0 = this; 0 before the customer's first): the spend of the last 3 months and of the
    6 before, and the months with a basket. Added in the same order however the months are found
    (a window's lags or the months side by side: `lifecycle_month`), so the same floats."""

    def last_months(value: Callable[[int], ibis.Value], first: int, last: int) -> ibis.Value:
        """The sum of `value` over the months `first`..`last` months before this one (0 = this)."""
        return sum(value(k) for k in range(first, last + 1))

    return {
        "recent": last_months(spend, 0, 2),
        "prior": last_months(spend, 3, 8),
        "active_recent": last_months(active, 0, 2),
        "active_lapse": last_months(active, 0, rules.lapse_months - 1),
    }


def _staged(windowed: ibis.Table, rules: LifecycleRules) -> ibis.Table:
    """The history's rows from `_windowed`'s sums: the spend trend and the stage."""
    tenure = windowed.tenure_months
    windowed = windowed.mutate(prior_months=ibis.least(tenure, 9) - ibis.least(tenure, 3))
    prior_per_month = windowed.prior / windowed.prior_months.cast("float64")
    trended = windowed.mutate(
        spend_trend=ibis.ifelse(
            (windowed.prior_months > 0) & (windowed.prior > 0), (windowed.recent / 3.0) / prior_per_month, None
        )
    )
    stage = ibis.cases(
        (trended.active_lapse == 0, "lapsed"),
        (trended.tenure_months <= rules.exploration_months, "exploration"),
        (trended.spend_trend < rules.decline_ratio, "decline"),
        (trended.spend_trend.isnull() | (trended.spend_trend >= rules.growth_ratio), "formation"),
        (trended.active_recent < 3, "formation"),
        else_="stability",
    )
    return trended.mutate(lifecycle_stage=stage).select(
        "customer_id", "month", "tenure_months", "spend", "spend_trend", "active_recent", "lifecycle_stage"
    )


def current_stage(history: ibis.Table, rules: LifecycleRules = LifecycleRules()) -> ibis.Table:
    """Each customer's stage at the last month of `history` (`lifecycle_history`: the same month for
    every customer), with the exit pattern if lapsed.

    Columns: customer_id, month, tenure_months, spend_trend, lifecycle_stage, stable_months
    (months ever spent in stability) and exit_pattern (null unless lapsed).
    """
    # every customer's calendar runs to the same last complete month: filter on it, then join the
    # small per-customer path (a join of the whole history on two keys costs several times more)
    latest_month = history.filter(history.month == history.month.max())
    path = history.group_by("customer_id").aggregate(
        stable_months=(history.lifecycle_stage == "stability").cast("int32").sum(),
        formed=(history.lifecycle_stage.isin(FORMED)).cast("int32").max(),
    )
    latest = latest_month.join(path, "customer_id")
    exit_pattern = _exit_pattern(latest.lifecycle_stage, latest.stable_months, latest.formed > 0, rules)
    return latest.select(
        "customer_id", "month", "tenure_months", "spend_trend", "lifecycle_stage", "stable_months",
        exit_pattern=exit_pattern,
    )


#: The stages a customer has "formed" in (past exploration, not lapsed): `current_stage`'s exit patterns.
FORMED = ("formation", "stability", "decline")


def _exit_pattern(stage: ibis.Value, stable_months: ibis.Value, formed: ibis.Value,
                  rules: LifecycleRules) -> ibis.Value:
    """How a lapsed customer left (None for a customer not lapsed): after a long stability, early
    in it, in formation, or in exploration; shared by `current_stage` and `next_stage`."""
    return ibis.cases(
        (stage != "lapsed", None),
        (stable_months >= rules.long_stability_months, "after a long stability"),
        (stable_months > 0, "early in stability"),
        (formed, "in formation"),
        else_="in exploration",
    )


def next_stage(previous: ibis.Table, month_rows: ibis.Table, rules: LifecycleRules = LifecycleRules()) -> ibis.Table:
    """`current_stage` of a history one month longer than the one `previous` (its `current_stage`)
    is of, from that month's rows alone (`month_rows`: every customer's; a customer new in it has
    no row in `previous`): the same table, without a pass over every month of the history
    (decision 0148). A customer's months in stability are the previous count plus this month's;
    they had formed when they had months in stability, or their last stage was formation,
    stability or decline, or they lapsed "in formation": exploration is the first months alone
    (a customer past it never explores again), so a customer last exploring, or lapsed from it,
    had not."""
    before = previous.select(
        "customer_id", stable_before=previous.stable_months,
        formed_before=(previous.stable_months > 0) | previous.lifecycle_stage.isin(FORMED)
        | (previous.exit_pattern == "in formation").fill_null(False))
    latest = month_rows.left_join(before, "customer_id")
    stable = latest.stable_before.fill_null(0) + (latest.lifecycle_stage == "stability").cast("int32")
    formed = latest.formed_before.fill_null(False) | latest.lifecycle_stage.isin(FORMED)
    stage = latest.lifecycle_stage
    return latest.select(
        customer_id=month_rows.customer_id, month=latest.month, tenure_months=latest.tenure_months,
        spend_trend=latest.spend_trend, lifecycle_stage=stage,
        stable_months=stable.cast(previous.stable_months.type()),
        exit_pattern=_exit_pattern(stage, stable, formed, rules))


def refresh_flows(previous: ibis.Table | None, current: ibis.Table) -> ibis.Table:
    """Customers per move of lifecycle stage from the previous refresh's `lifecycle` table to this
    refresh's (the dashboard's flows between two refreshes).

    Columns: from_stage (null: not a customer at the previous refresh, or no previous refresh),
    to_stage (null: no longer a customer, e.g. erased), customers.
    """
    now = current.select("customer_id", to_stage=current.lifecycle_stage)
    if previous is None:
        moved = now.mutate(from_stage=ibis.null(str))
    else:
        before = previous.select(before_id=previous.customer_id, from_stage=previous.lifecycle_stage)
        joined = before.outer_join(now, before.before_id == now.customer_id)
        moved = joined.select("from_stage", "to_stage")
    return moved.group_by(["from_stage", "to_stage"]).aggregate(customers=moved.count())


def stage_flows(history: ibis.Table) -> ibis.Table:
    """Customers moving from one stage to another, per month (for the back office's flow chart).

    Columns: month, from_stage (null for a customer's first month), to_stage, customers.
    """
    moved = history.mutate(
        from_stage=history.lifecycle_stage.lag().over(group_by="customer_id", order_by="month")
    )
    return moved.group_by(["month", "from_stage", moved.lifecycle_stage.name("to_stage")]).aggregate(
        customers=moved.count()
    )
