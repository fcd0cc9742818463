"""The customer pyramid: VIP, major, medium and small customers by their value over a period.

There is one pyramid (`customer_pyramid`): the nightly refresh's, the summary report's, the
exports' and the back office's. It looks at the `WINDOW_DAYS` (365) days up to `as_of`, so it
describes today's customers rather than the whole history, and caps each basket:

Ranking rule against one-off bulk purchases (`pyramid_value`): each basket counts at most the
chain's `basket_cap_quantile` basket (99th percentile by default), and customers are ranked by this
capped spend per month of the period. A customer who buys one pallet of water for a party counts as
one big-but-normal basket, while one who buys every week keeps every basket: the long-run pattern
ranks, not the single event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import ibis
from ibis import _

from clientele.analytics import ranking
from clientele.analytics.baskets import in_window
from clientele.sums import money_total


#: Days of history the pyramid (and RFM, value, brand habits) looks at, up to as_of.
WINDOW_DAYS = 365


@dataclass(frozen=True)
class PyramidCutoffs:
    """Cumulative shares of customers, best first: VIP = top 1%, major = next 4%, medium = next 15%;
    and the bulk cap: each basket counts at most the chain's `basket_cap_quantile` basket."""

    vip: float = 0.01
    major: float = 0.05
    medium: float = 0.20
    basket_cap_quantile: float = 0.99

    def __post_init__(self) -> None:
        if not 0 < self.vip < self.major < self.medium < 1:
            raise ValueError("pyramid cut-offs must rise strictly between 0 and 1: vip < major < medium")
        if not 0 < self.basket_cap_quantile <= 1:
            raise ValueError("the basket cap quantile is in (0, 1]: 0.99 caps at the 99th percentile basket")


LEVELS = ("VIP", "major", "medium", "small")


def rank_into_levels(
    customers: ibis.Table,
    value: str,
    levels: list[tuple[str, float]],
    last_level: str,
    column: str,
    key: str = "customer_id",
    group_by: str | None = None,
) -> ibis.Table:
    """Rows ranked by `value` (highest first, ties by `key`) and cut into named levels.

    `levels` are (name, cumulative share of rows) best first: with n rows, a row of rank k gets
    the first level whose round(n x share) >= k, else `last_level`. With `group_by` the ranking
    restarts in each group. Adds `value_rank` (1 = best) and the level in `column`.
    """
    if group_by is None:
        # over the whole table: numbered by ranges of the value, never in one partition
        numbered = ranking.row_number(customers, value, key, "value_rank")
        ranked = ranking.with_total(numbered.mutate(value_rank=numbered.value_rank + 1), customers,
                                    row_count=customers[key].count())
    else:
        order = [ibis.desc(customers[value]), customers[key]]
        ranked = customers.mutate(
            value_rank=ibis.row_number().over(group_by=group_by, order_by=order) + 1,
            row_count=customers[key].count().over(group_by=group_by),
        )
    level = ibis.cases(
        *[(ranked.value_rank <= last_rank(ranked.row_count, share), name) for name, share in levels],
        else_=last_level,
    )
    return ranked.mutate(**{column: level}).drop("row_count")


def last_rank(row_count: ibis.Value, share: float) -> ibis.Value:
    """round(row_count x share), halves up: the last rank of a level, in whole numbers.

    The same as rounding the decimal product (what SQL does with the literal `share`), in integer
    arithmetic: decimals multiplied and rounded on each of millions of rows cost more than the
    window that ranks them.
    """
    exact = Decimal(repr(share))
    scale = 10 ** max(-exact.as_tuple().exponent, 0)
    units = int(exact * scale)  # share = units / scale exactly
    return (row_count * (2 * units) + scale) // (2 * scale)


def assign_levels(
    customers: ibis.Table, value: str, cutoffs: PyramidCutoffs = PyramidCutoffs(), key: str = "customer_id"
) -> ibis.Table:
    """Each customer's pyramid level by `value` (highest first; ties broken by customer id).

    With n customers, the top round(n x vip) are VIP, up to round(n x major) major, up to
    round(n x medium) medium, the rest small: 1,000 customers give 10, 40, 150 and 800.
    Returns the input columns plus `value_rank` (1 = best) and `pyramid_level`.
    """
    levels = [("VIP", cutoffs.vip), ("major", cutoffs.major), ("medium", cutoffs.medium)]
    return rank_into_levels(customers, value, levels, "small", "pyramid_level", key=key)


def level_summary(leveled: ibis.Table, value: str) -> ibis.Table:
    """Per pyramid level: customers, share of customers and share of `value` (shares in 0..1)."""
    per_level = leveled.group_by("pyramid_level").aggregate(customers=_.count(), value_total=leveled[value].sum())
    totals = ranking.with_total(
        per_level, per_level, _customers=per_level.customers.sum(), _value=per_level.value_total.sum()
    )
    return totals.mutate(
        customer_share=totals.customers / totals._customers, value_share=totals.value_total / totals._value
    ).drop("_customers", "_value")


def pyramid_value(
    baskets: ibis.Table, as_of: date, window_days: int = WINDOW_DAYS, basket_cap_quantile: float = 0.99
) -> ibis.Table:
    """Per customer who bought in the window: spend and the bulk-proof ranking value.

    Columns: customer_id, spend (currency units in the window), baskets, last_basket (date),
    capped_spend (each basket counted at most the chain's `basket_cap_quantile` basket, currency
    units), monthly_value (capped_spend per 30-day month of the window: the typical monthly spend),
    and the rule, the same on every row so that wherever the pyramid is shown it can be said:
    basket_cap (that cap, currency units), basket_cap_quantile, window_start and window_end (dates,
    as_of included).
    """
    window = in_window(baskets, as_of, window_days)
    # the chain's cap basket, found by the baskets' places in the order of spend (never sorted in one partition)
    capped = window.cross_join(ranking.exact_quantile(window, "spend", basket_cap_quantile))
    capped = capped.mutate(capped=ibis.least(capped.spend, capped.quantile), basket_cap=capped.quantile)
    per_customer = capped.group_by("customer_id").aggregate(
        spend=money_total(capped.spend), baskets=capped.count(), last_basket=capped.basket_date.max(),
        capped_spend=money_total(capped.capped), basket_cap=capped.basket_cap.max(),
    )
    return per_customer.mutate(
        monthly_value=per_customer.capped_spend / (window_days / 30.0),
        basket_cap_quantile=ibis.literal(basket_cap_quantile, "float64"),
        window_start=ibis.date(as_of - timedelta(days=window_days - 1)), window_end=ibis.date(as_of),
    )


def customer_pyramid(
    baskets: ibis.Table,
    as_of: date,
    window_days: int = WINDOW_DAYS,
    cutoffs: PyramidCutoffs = PyramidCutoffs(),
) -> ibis.Table:
    """Each customer's pyramid level over the `window_days` up to `as_of`, ranked by typical monthly
    spend with bulk baskets capped (`cutoffs.basket_cap_quantile`).

    Columns: those of `pyramid_value` plus value_rank (1 = best) and pyramid_level (VIP, major,
    medium, small).
    """
    value = pyramid_value(baskets, as_of, window_days, cutoffs.basket_cap_quantile)
    return assign_levels(value, "monthly_value", cutoffs)


def category_pyramid(category_spend: ibis.Table, cutoffs: PyramidCutoffs = PyramidCutoffs()) -> ibis.Table:
    """Each customer's pyramid level within each product category they bought.

    `category_spend` has customer_id, category, category_code and category_spend (see
    `brand_loyalty.category_spend`). Returns it plus category_rank (1 = the category's best
    customer) and category_level: a customer small overall can be VIP of one category. The refresh
    stores it without the rank (`category_levels`) and its readers add the rank
    (`with_category_rank`, decision 0128): the same table.
    """
    return with_category_rank(category_levels(category_spend, cutoffs))


#: category_pyramid's rank: the column, the column it comes before, and its order within the
#: category (spend descending, ties by customer id ascending). Not stored: computed when read.
CATEGORY_RANK = "category_rank"
RANK_BEFORE = "category_level"


def with_category_rank(levels: ibis.Table) -> ibis.Table:
    """`levels` (category_levels' columns, maybe more after category_level) with category_rank
    before category_level: 1 + the category's buyers with more spend, or as much and a smaller
    customer id (a window partitioned by category)."""
    order = [ibis.desc(levels.category_spend), levels.customer_id]
    rank = ibis.row_number().over(group_by="category_code", order_by=order) + 1
    at = levels.columns.index(RANK_BEFORE)
    ranked = levels.mutate(**{CATEGORY_RANK: rank})
    return ranked.select(*levels.columns[:at], CATEGORY_RANK, *levels.columns[at:])


def _category_levels(cutoffs: PyramidCutoffs) -> list[tuple[str, float]]:
    return [("VIP", cutoffs.vip), ("major", cutoffs.major), ("medium", cutoffs.medium)]


def spend_distribution(category_spend: ibis.Table) -> ibis.Table:
    """Per category code and distinct spend of a category_spend table, its rows (`buyers_at`):
    what `category_cuts` and `usage_bounds` read, a sixth of the rows on the synthetic lake. The
    night keeps the one of category_spend's base and updates it with the delta (decision 0141)."""
    return category_spend.group_by(["category_code", "category_spend"]).aggregate(buyers_at=category_spend.count())


def updated_distribution(distribution: ibis.Table, removed: ibis.Table, added: ibis.Table) -> ibis.Table:
    """`distribution` (a `spend_distribution`) of a table less the rows `removed` plus the rows
    `added` (category_spend rows): the `spend_distribution` of the table they make, exactly (a
    count per distinct spend; the spends whose count falls to zero are gone)."""
    parts = ibis.union(
        distribution.select("category_code", "category_spend", buyers_at=distribution.buyers_at.cast("int64")),
        *[rows.group_by(["category_code", "category_spend"]).aggregate(
            buyers_at=(rows.count() * sign).cast("int64")) for rows, sign in ((removed, -1), (added, 1))],
        distinct=False)
    summed = parts.group_by(["category_code", "category_spend"]).aggregate(
        buyers_at=parts.buyers_at.sum().cast("int64"))
    return summed.filter(summed.buyers_at > 0)


def category_cuts(category_spend: ibis.Table, cutoffs: PyramidCutoffs = PyramidCutoffs(),
                  distribution: ibis.Table | None = None) -> ibis.Table:
    """Per category code, where each level of `category_levels` ends: the last row of the level in
    the order spend descending, customer id ascending, as `<level>_spend` and `<level>_customer`
    (lower-case level names; both null when the level is empty: round(buyers x share) = 0).

    A level is the first round(n x share) rows of that order. Found without ranking every row
    (decision 0128): per distinct (category, spend) the buyers at it, the buyers ahead of it by a
    running sum, so the spend holding a cut's position is known; only the rows tied at a cut's spend
    are numbered by customer id, to find the last one inside. `distribution`: the table's
    `spend_distribution` when known (then only the rows at a cut's spend are read)."""
    per_spend = spend_distribution(category_spend) if distribution is None else distribution
    running = ibis.cumulative_window(group_by="category_code", order_by=ibis.desc("category_spend"))
    counted = per_spend.mutate(through=per_spend.buyers_at.sum().over(running),
                               buyers=per_spend.buyers_at.sum().over(group_by="category_code"))
    levels = _category_levels(cutoffs)
    cuts, holding = {}, {}
    for name, share in levels:
        last = last_rank(counted.buyers, share)
        holds = (counted.through - counted.buyers_at < last) & (last <= counted.through)
        cuts[f"{name.lower()}_spend"] = counted.category_spend.max(where=holds)
        cuts[f"{name.lower()}_taken"] = (last - counted.through + counted.buyers_at).max(where=holds)
    per_category = counted.group_by("category_code").aggregate(**cuts)
    # the rows tied at each cut's spend, numbered by customer id: the cut is the `taken`-th
    at_cut = [per_category.select("category_code", level=ibis.literal(name.lower()),
                                  category_spend=per_category[f"{name.lower()}_spend"],
                                  taken=per_category[f"{name.lower()}_taken"]) for name, _ in levels]
    at_cut = ibis.union(*at_cut).filter(_.category_spend.notnull())
    rows = category_spend.select("customer_id", "category_code", "category_spend").view()
    tied = rows.join(at_cut, ["category_code", "category_spend"])
    tied = tied.select("category_code", "customer_id", "level", "taken")
    numbered = tied.mutate(place=ibis.row_number().over(group_by=["category_code", "level"],
                                                          order_by=tied.customer_id) + 1)
    last_in = numbered.filter(numbered.place == numbered.taken)
    customers = last_in.group_by("category_code").aggregate(**{
        f"{name.lower()}_customer": last_in.customer_id.max(where=last_in.level == name.lower())
        for name, _ in levels})
    joined = per_category.left_join(customers, "category_code")
    return joined.select(per_category.category_code, *[
        c for name, _ in levels for c in (joined[f"{name.lower()}_spend"], joined[f"{name.lower()}_customer"])])


def category_levels_within_cuts(category_spend_rows: ibis.Table, cuts: ibis.Table,
                       cutoffs: PyramidCutoffs = PyramidCutoffs()) -> ibis.Table:
    """The rows of a category_spend table (any of its rows) with their category_level, from the
    `category_cuts` of the whole table: a row is in a level when it comes no later than the level's
    last row in the order spend descending, customer id ascending."""
    rows = category_spend_rows.join(cuts, "category_code")

    def within(name: str) -> ibis.Value:
        spend, customer = rows[f"{name.lower()}_spend"], rows[f"{name.lower()}_customer"]
        return (rows.category_spend > spend) | ((rows.category_spend == spend) & (rows.customer_id <= customer))

    level = ibis.cases(*[(within(name), name) for name, _ in _category_levels(cutoffs)], else_="small")
    return rows.select(*category_spend_rows.columns, category_level=level)


def category_levels(category_spend: ibis.Table, cutoffs: PyramidCutoffs = PyramidCutoffs()) -> ibis.Table:
    """category_pyramid as the refresh stores it: `category_spend`'s columns plus category_level,
    without the rank (decision 0128), cut by `category_cuts` with no window over every row."""
    return category_levels_within_cuts(category_spend, category_cuts(category_spend, cutoffs), cutoffs)


def category_levels_delta(base: ibis.Table, present: ibis.Table, touched: ibis.Table, cuts: ibis.Table,
                          cuts_before: ibis.Table, cutoffs: PyramidCutoffs = PyramidCutoffs()
                          ) -> tuple[ibis.Table, ibis.Table]:
    """What changed in `category_levels` since a base computed with the cuts `cuts_before` from
    the category_spend rows `base`, now that the keys (customer_id, category_code) `touched` are
    all those changed since, `present` their rows tonight (those not gone) and `cuts` tonight's
    `category_cuts`: (the rows that may differ from the base's, with their levels; the touched
    keys gone). Tonight's table is `base` less the touched keys plus `present`.

    A level is the rows up to its cut in the order spend descending, customer id ascending. An
    untouched row keeps its spend, so its level moves only if it lies between the base's cut and
    tonight's, when they differ: the rows whose spend is between the two cut spends, both included
    (those at either spend settled by customer id), or at or above the cut of a level that was or
    is now empty. The untouched rows are the base's alone (never the merged table's: decision 0141).
    Those rows and the touched keys' rows get tonight's levels; they are a superset of the rows
    that differ."""
    keys = ["customer_id", "category_code"]
    moved = cuts.join(cuts_before, "category_code", rname="{name}_before")
    # the rows near a moved cut first, on the base's columns alone; then those of untouched keys
    near = base.join(moved, "category_code")

    def between(level: str) -> ibis.Value:
        now, then = near[f"{level}_spend"], near[f"{level}_spend_before"]
        still = now.identical_to(then) & near[f"{level}_customer"].identical_to(
            near[f"{level}_customer_before"])
        return ~still & ibis.ifelse(now.isnull() | then.isnull(), near.category_spend >= now.coalesce(then),
                                    (near.category_spend >= ibis.least(now, then))
                                    & (near.category_spend <= ibis.greatest(now, then)))

    crossing = near.filter(ibis.or_(*[between(name.lower()) for name, _ in _category_levels(cutoffs)]))
    crossing = crossing.select(*base.columns).anti_join(touched, keys)
    rows = ibis.union(present.select(*base.columns).cast(base.schema()), crossing, distinct=False)
    return category_levels_within_cuts(rows, cuts, cutoffs), touched.select(*keys).anti_join(present, keys)
