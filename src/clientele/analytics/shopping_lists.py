"""Who gets a personal shopping list and what is on it, from the nightly results: tables in, tables out.

A customer qualifies when their average weekly spend over the last `spend_weeks` weeks up to
`as_of` exceeds `weekly_spend_threshold` (PRODUCT.md §5: 25 a week). Their list is as long as the
number of their products due in the list's window (the next-purchase forecasts, each one timed to
the customer's own cycle for that product, expected within `cycle_days`), at most `length`; it
holds the customer's forecast products that rank first by the chance of buying them in the window
(`probability`) times how often the customer bought them lately (`recent_frequency`: purchase days
weighted by their age, halved every 56 x ln 2 days), decisions 0113 and 0114. The offers are
matched by the operational app (`offers.lists`), which knows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import ibis
import pyarrow as pa

from clientele.analytics.results import read_result
from clientele.config import settings
from clientele.forecasting.next_purchase import RECENT_DECAY_DAYS
from clientele.lake.reader import basket_lines, read_table
from clientele.sums import money_total


@dataclass(frozen=True)
class ListRules:
    """Who qualifies (average weekly spend above the threshold over `spend_weeks` weeks) and how
    long a list is (`length` products, `cycle_days` days of validity)."""

    weekly_spend_threshold: float = 25.0
    spend_weeks: int = 8
    length: int = 20
    cycle_days: int = 14

    @classmethod
    def configured(cls) -> ListRules:
        """The rules of the settings (CLIENTELE_LIST_WEEKLY_SPEND, _LIST_CYCLE_DAYS, _LIST_LENGTH)."""
        current = settings()
        return cls(weekly_spend_threshold=current.list_weekly_spend, length=current.list_length,
                   cycle_days=current.list_cycle_days)

    def __post_init__(self) -> None:
        if (self.spend_weeks < 1 or self.length < 1 or self.cycle_days < 1
                or self.weekly_spend_threshold < 0):
            raise ValueError("list rules: weeks, length and cycle are positive, the threshold not negative")


def qualifying_customers(baskets: ibis.Table, as_of: date, rules: ListRules = ListRules()) -> ibis.Table:
    """The customers whose average weekly spend over the `spend_weeks` weeks to `as_of` exceeds
    the threshold: `customer_id`, `weekly_spend` (currency units a week)."""
    since = as_of - timedelta(weeks=rules.spend_weeks) + timedelta(days=1)
    recent = baskets.filter((baskets.basket_date >= since) & (baskets.basket_date <= as_of))
    weekly = recent.group_by("customer_id").aggregate(weekly_spend=money_total(recent.spend) / rules.spend_weeks)
    return weekly.filter(weekly.weekly_spend > rules.weekly_spend_threshold)


def recent_frequency(forecasts: ibis.Table, as_of: date) -> ibis.Value:
    """How often the customer will have bought the product lately on the day it is expected
    (`expected_date`, `as_of` if earlier): their purchase days weighted by their age on `as_of`
    (`recent_purchases`, exp(-age / `RECENT_DECAY_DAYS`), kept exact in the nightly's purchase
    cycles), aged on to that day. A product bought weekly until yesterday and due now scores near
    `RECENT_DECAY_DAYS` / 7; one bought once a year ago, about exp(-365 / 56); of two products
    bought alike, the one expected later scores less (decision 0113, amended; decision 0114)."""
    expected = ibis.greatest(forecasts.expected_date.cast("date"), ibis.date(as_of.isoformat()))
    ahead = expected.delta(ibis.date(as_of.isoformat()), unit="day").cast("float64")
    return forecasts.recent_purchases * (-ahead / RECENT_DECAY_DAYS).exp()


def list_candidates(baskets: ibis.Table, next_purchases: ibis.Table, as_of: date,
                    rules: ListRules = ListRules()) -> ibis.Table:
    """Each qualifying customer's listed products: `customer_id`, `weekly_spend`, `product_id`,
    `probability` (0-1, bought in the window), `expected_date`, `rank` (1 = first) and `as_of`.
    A customer's list has as many products as they have due within the list's `cycle_days` (at
    most `length`; none due, no list); they are the customer's forecast products (`next_purchases`,
    with `recent_purchases`) with the highest `probability` x `recent_frequency` (decisions 0113, 0114)."""
    window_end = as_of + timedelta(days=rules.cycle_days)
    qualifying = qualifying_customers(baskets, as_of, rules)
    mine = next_purchases.join(qualifying, "customer_id")
    due = (mine.expected_date.cast("date") <= window_end).cast("int64")
    mine = mine.mutate(
        list_length=ibis.least(due.sum().over(group_by="customer_id"), rules.length),
        score=mine.probability * recent_frequency(mine, as_of),
    )
    ranked = mine.mutate(
        rank=ibis.row_number().over(group_by="customer_id", order_by=[ibis.desc(mine.score), mine.product_id]) + 1)
    listed = ranked.filter(ranked.rank <= ranked.list_length)
    return listed.select("customer_id", "weekly_spend", "product_id", "probability",
                         listed.expected_date.cast("date").name("expected_date"), "rank",
                         as_of=ibis.date(as_of.isoformat()))


def store_brand_leaders(lines: ibis.Table, products: ibis.Table, since: date) -> ibis.Table:
    """Per category, the store-brand product most bought since `since` (by sales value): `category`,
    `product_id`, `unit_price` (its average price paid): what a national-to-store-brand offer
    puts on a list."""
    private = products.filter(products.brand_type == "Private").select("product_id", "category")
    recent = lines.filter(lines.transaction_ts >= ibis.timestamp(since.isoformat()))
    sold = recent.join(private, "product_id").group_by(["category", "product_id"]).aggregate(
        sales=recent.sales_value.sum(), units=recent.quantity.sum())
    sold = sold.filter(sold.units > 0)
    ranked = sold.mutate(rank=ibis.row_number().over(group_by="category",
                                                     order_by=[ibis.desc(sold.sales), sold.product_id]))
    leaders = ranked.filter(ranked.rank == 0)
    return leaders.select("category", "product_id", unit_price=(leaders.sales / leaders.units).cast("float64"))


def unit_prices(lines: ibis.Table, product_ids: ibis.Table, since: date) -> ibis.Table:
    """The average price paid per unit since `since` of the products in `product_ids`
    (`product_id`, `unit_price`): what a list's offer values are estimated on."""
    recent = lines.filter(lines.transaction_ts >= ibis.timestamp(since.isoformat()))
    wanted = recent.semi_join(product_ids, "product_id")
    sold = wanted.group_by("product_id").aggregate(sales=wanted.sales_value.sum(), units=wanted.quantity.sum())
    sold = sold.filter(sold.units > 0)
    return sold.select("product_id", unit_price=(sold.sales / sold.units).cast("float64"))


@dataclass(frozen=True)
class ListInputs:
    """What the lake says for one generation of lists: each member's due products (`candidates`: an
    Arrow table of `list_candidates`, by customer and rank), their brand cells (an Arrow table of
    customer_id, category, brand_loyalty, usage), the store-brand leader of each category
    (category -> (product_id, unit_price)) and the listed products' unit prices (product_id -> price).
    Tables, not rows: a chain's million members' candidates are joined set-based (`offers.generation`)."""

    as_of: date | None
    candidates: pa.Table
    cells: pa.Table
    leaders: dict[str, tuple[int, float]]
    prices: dict[int, float]


def read_list_inputs(con: ibis.BaseBackend, lake: Path | None = None, rules: ListRules = ListRules()) -> ListInputs:
    """The last refresh's list candidates (its `list_candidates` result) with the brand cells of
    those customers, the store-brand leaders and unit prices of the last `spend_weeks` weeks."""
    candidates = read_result(con, "list_candidates", lake)
    as_of = candidates.as_of.max().execute()
    as_of = as_of if type(as_of) is date or as_of is None else as_of.date()
    since = (as_of or date.today()) - timedelta(weeks=rules.spend_weeks)
    customers = candidates.select("customer_id").distinct()
    cells = read_result(con, "brand_loyalty", lake).semi_join(customers, "customer_id")
    cells = cells.filter((cells.brand_loyalty == "national") & (cells.usage == "high"))
    lines = basket_lines(con, lake)
    products = read_table(con, "products", lake)
    leaders = store_brand_leaders(lines, products, since).to_pyarrow().to_pylist()
    prices = unit_prices(lines, candidates.select("product_id").distinct(), since).to_pyarrow().to_pylist()
    return ListInputs(
        as_of=as_of,
        candidates=candidates.order_by(["customer_id", "rank"]).to_pyarrow(),
        cells=cells.select("customer_id", "category", "brand_loyalty", "usage").order_by(
            ["customer_id", "category"]).to_pyarrow(),
        leaders={row["category"]: (row["product_id"], row["unit_price"]) for row in leaders},
        prices={row["product_id"]: row["unit_price"] for row in prices},
    )
