"""Brand loyalty x usage per product category: the nine cells.

Within a category, a customer is a *store-brand buyer* when at least `store_brand_min` (70%) of
their spend there is on the chain's private label, a *national-brand buyer* when at most
`national_brand_max` (30%) is, and a *switcher* in between. Their usage of the category is low,
medium or high by terciles of category spend among the category's buyers (ties share a tercile).
Brand loyalty (3) x usage (3) = nine cells, per category.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis

from clientele.analytics import ranking
from clientele.analytics.baskets import member_lines

BRAND_LOYALTIES = ("national", "switcher", "store")
USAGES = ("low", "medium", "high")


@dataclass(frozen=True)
class BrandLoyaltyRules:
    """Shares of a category's spend on the store brand that separate the three loyalties."""

    national_brand_max: float = 0.30
    store_brand_min: float = 0.70

    def __post_init__(self) -> None:
        if not 0 <= self.national_brand_max < self.store_brand_min <= 1:
            raise ValueError("brand loyalty shares must satisfy 0 <= national_brand_max < store_brand_min <= 1")


def category_spend(lines: ibis.Table, products: ibis.Table, since: date | None = None) -> ibis.Table:
    """Per customer and product category: spend (currency units) and the part on the store brand.

    Columns: customer_id, department, category, category_code (a number per category, for fast
    grouping), category_spend, store_brand_spend. Lines before `since` are left out; products
    without a category are left out.
    """
    return category_spend_from_sums(category_sums(lines, products, since), products)


def category_names(products: ibis.Table) -> ibis.Table:
    """The categories of the products table: category_code, category and department."""
    return _categories(products)[0]


def _categories(products: ibis.Table) -> tuple[ibis.Table, ibis.Table]:
    """The categories (category, department, category_code) and the shelf (product_id,
    category_code, is_private) of the products table."""
    named = products.filter(products.category.notnull())
    # a few categories appear under two departments; each is counted once, under one department
    home = named.group_by("category").aggregate(department=named.department.max())
    home = ranking.dense_rank(home, "category", "category_code")
    shelf = named.join(home, "category").select(
        "product_id", "category_code", is_private=named.brand_type == "Private"
    )
    return home, shelf


def category_sums(lines: ibis.Table, products: ibis.Table, since: date | None = None) -> ibis.Table:
    """Per customer and category code, the exact sums `category_spend` reads: category_spend and
    store_brand_spend as decimals, and the number of lines (`lines`). What the incremental refresh
    keeps: a day's sums are added when it enters the window and taken off when it leaves it, and a
    row whose lines fall to zero is gone."""
    members = window_lines(lines, since)
    _, shelf = _categories(products)
    # group on small integer keys over the many lines; names are joined back on the few sums
    joined = members.join(shelf, "product_id")
    return joined.group_by(["customer_id", "category_code"]).aggregate(
        category_spend=joined.sales_value.sum(),
        store_brand_spend=ibis.ifelse(joined.is_private, joined.sales_value, 0).cast("decimal(18, 2)").sum(),
        lines=joined.count(),
    )


def category_spend_from_sums(sums: ibis.Table, products: ibis.Table) -> ibis.Table:
    """The `category_spend` table of `category_sums`: names joined back, money to float64 once."""
    home, _ = _categories(products)
    named_sums = sums.join(home, "category_code")
    return named_sums.select(
        "customer_id", "department", "category", "category_code",
        category_spend=named_sums.category_spend.cast("float64"),
        store_brand_spend=named_sums.store_brand_spend.cast("float64"),
    )


def window_lines(lines: ibis.Table, since: date | None = None) -> ibis.Table:
    """The identified customers' lines from the day `since` on (all of them without `since`)."""
    members = member_lines(lines)
    if since is None:
        return members
    return members.filter(members.transaction_ts >= ibis.timestamp(since.isoformat()))


def nine_cells(category_spend_table: ibis.Table, rules: BrandLoyaltyRules = BrandLoyaltyRules()) -> ibis.Table:
    """Each customer's brand loyalty and usage cell in each category they bought.

    Columns: customer_id, category, category_spend (currency units), store_brand_share (0..1),
    brand_loyalty (national | switcher | store), usage (low | medium | high).
    """
    bought = category_spend_table.filter(category_spend_table.category_spend > 0)
    # rank on the numeric columns only and join the category names back on the few categories:
    # the window sorts millions of rows, and carrying the names through the sort costs a third more
    numbers = bought.select("customer_id", "category_code", "category_spend", "store_brand_spend")
    rank = ibis.rank().over(group_by="category_code", order_by=numbers.category_spend)
    buyers = numbers.category_spend.count().over(group_by="category_code")
    ranked = numbers.mutate(tercile=((rank * 3) / buyers).floor().cast("int32"))
    return _cells(ranked, bought, rules)


def usage_bounds(category_spend_table: ibis.Table, distribution: ibis.Table | None = None) -> ibis.Table:
    """Per category code, the spends that bound the usage terciles of `nine_cells`: a buyer is low
    up to `low_max`, medium up to `medium_max`, high above (decision 0124).

    A buyer's tercile is floor(3 x rank / buyers), rank the number of the category's buyers who
    spent less: it grows with the spend, so each tercile is the spends up to a bound. Found per
    distinct spend (a sixteenth of the rows on the synthetic lake), with the buyers below each
    counted by a running sum: no window over every row. `distribution`: the table's
    `spend_distribution` when known (pyramid.py; then no row is read)."""
    if distribution is None:
        bought = category_spend_table.filter(category_spend_table.category_spend > 0)
        per_spend = bought.group_by(["category_code", "category_spend"]).aggregate(buyers_at=bought.count())
    else:
        per_spend = distribution.filter(distribution.category_spend > 0)
    running = ibis.cumulative_window(group_by="category_code", order_by="category_spend")
    counted = per_spend.mutate(below=per_spend.buyers_at.sum().over(running) - per_spend.buyers_at,
                               buyers=per_spend.buyers_at.sum().over(group_by="category_code"))
    return counted.group_by("category_code").aggregate(
        low_max=counted.category_spend.max(where=counted.below * 3 < counted.buyers),
        medium_max=counted.category_spend.max(where=counted.below * 3 < counted.buyers * 2))


def cells_within_bounds(category_spend_rows: ibis.Table, bounds: ibis.Table,
                        rules: BrandLoyaltyRules = BrandLoyaltyRules()) -> ibis.Table:
    """`nine_cells`' rows of some rows of a category_spend table whose `usage_bounds` are `bounds`:
    the same columns and values as `nine_cells` of the whole table gives them."""
    bought = category_spend_rows.filter(category_spend_rows.category_spend > 0)
    numbers = bought.select("customer_id", "category_code", "category_spend", "store_brand_spend")
    bounded = numbers.join(bounds, "category_code")
    ranked = bounded.select(*numbers.columns, tercile=ibis.cases(
        (bounded.category_spend <= bounded.low_max, 0), (bounded.category_spend <= bounded.medium_max, 1),
        else_=2).cast("int32"))
    return _cells(ranked, bought, rules)


def cells_delta(base: ibis.Table, present: ibis.Table, touched: ibis.Table, bounds: ibis.Table,
                bounds_before: ibis.Table, rules: BrandLoyaltyRules = BrandLoyaltyRules()
                ) -> tuple[ibis.Table, ibis.Table]:
    """What changed in `nine_cells` since a base computed with the usage bounds `bounds_before`
    from the category_spend rows `base`, now that the keys (customer_id, category_code) `touched`
    are all those changed since, `present` their rows tonight (those not gone) and `bounds`
    tonight's `usage_bounds`: (the rows that may differ from the base's, with their cells; the
    touched keys without a cell tonight). Tonight's table is `base` less the touched keys plus
    `present`.

    An untouched row keeps its spend and its share, so its cell moves only when its usage does:
    when its spend lies between the base's bound of a tercile and tonight's (a tercile is the
    spends up to its bound). Those rows, read from the base alone (decision 0141), and the
    touched keys' rows get tonight's cells; they are a superset of the rows that differ."""
    keys = ["customer_id", "category_code"]
    moved = bounds.join(bounds_before, "category_code", rname="{name}_before")
    # the rows near a moved bound first, on the base's columns alone; then those of untouched keys
    near = base.filter(base.category_spend > 0).join(moved, "category_code")

    def between(bound: str) -> ibis.Value:
        now, then = near[bound], near[f"{bound}_before"]
        low, high = ibis.least(now, then), ibis.greatest(now, then)
        return (near.category_spend > low) & (near.category_spend <= high)

    crossing = near.filter(between("low_max") | between("medium_max")).select(*base.columns)
    crossing = crossing.anti_join(touched, keys)
    now = present.select(*base.columns).cast(base.schema())
    rows = cells_within_bounds(ibis.union(now, crossing, distinct=False), bounds, rules)
    return rows, touched.select(*keys).anti_join(now.filter(now.category_spend > 0), keys)


def _cells(ranked: ibis.Table, bought: ibis.Table, rules: BrandLoyaltyRules) -> ibis.Table:
    """The nine cells' columns of the rows `ranked` (customer_id, category_code, category_spend,
    store_brand_spend, tercile), the category names of `bought` joined back."""
    names = bought.select("category_code", "category").distinct()
    cells = ranked.join(names, "category_code")
    share = (cells.store_brand_spend / cells.category_spend).clip(lower=0.0, upper=1.0)
    return cells.select(
        "customer_id",
        "category",
        "category_spend",
        store_brand_share=share,
        brand_loyalty=ibis.cases(
            (share <= rules.national_brand_max, "national"),
            (share >= rules.store_brand_min, "store"),
            else_="switcher",
        ),
        usage=ibis.cases((cells.tercile == 0, "low"), (cells.tercile == 1, "medium"), else_="high"),
    )


def cell_members(cells: ibis.Table, category: str, brand_loyalty: str = "national", usage: str = "high") -> ibis.Table:
    """The customers of one cell of one category, biggest category spenders first.

    `cell_members(cells, "COLD CEREAL", "national", "high")` = the heavy national-brand buyers of
    cold cereal: the customers to move to the store brand with the strongest offer.
    """
    if brand_loyalty not in BRAND_LOYALTIES or usage not in USAGES:
        raise ValueError(f"brand_loyalty is one of {BRAND_LOYALTIES}, usage one of {USAGES}")
    chosen = cells.filter(
        (cells.category == category) & (cells.brand_loyalty == brand_loyalty) & (cells.usage == usage)
    )
    return chosen.order_by([ibis.desc(chosen.category_spend), chosen.customer_id])


def cell_counts(cells: ibis.Table, category: str) -> ibis.Table:
    """Customers and spend (currency units) in each of one category's nine cells."""
    chosen = cells.filter(cells.category == category)
    return chosen.group_by(["brand_loyalty", "usage"]).aggregate(
        customers=chosen.count(), spend=chosen.category_spend.sum()
    )
