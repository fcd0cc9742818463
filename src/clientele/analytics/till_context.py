"""What the cashier is told about a member at identify, computed the night before (seed 004: "last
time you bought this sofa cover; the matching cushions just arrived").

Two tables, Ibis in and out:

- `complementary_categories`: the catalogue relation mined from the baskets: for each category,
  the categories bought in the same basket more often than chance (association lift).
- `till_context`: per customer, the categories they buy most, what they last bought and what goes
  with it (by the relation above): one small row the till's identify reads with the greeting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis

from clientele.analytics import ranking
from clientele.analytics.brand_loyalty import window_lines

#: How many of a customer's categories the till shows, most spent first.
TOP_CATEGORIES = 3


@dataclass(frozen=True)
class PairRules:
    """When two categories count as going together: bought together in at least `min_baskets`
    baskets, with a lift of at least `min_lift` (1 = as often as chance); each category keeps its
    `per_category` best partners."""

    min_baskets: int = 20
    min_lift: float = 1.5
    per_category: int = 3


def _shelf(products: ibis.Table) -> ibis.Table:
    """product_id -> category, for products with a category."""
    named = products.filter(products.category.notnull() & (products.category != ""))
    return named.select("product_id", "category")


def category_codes(products: ibis.Table) -> ibis.Table:
    """Each category of the products, with its code: 0-based, in name order (never in one
    partition: decision 0075)."""
    codes = _shelf(products).select("category").distinct()
    return ranking.dense_rank(codes, "category", "code")


#: The columns of `category_basket_counts`, as either engine writes and reads them.
COUNTS = ibis.schema({"code_a": "int64", "code_b": "int64", "baskets": "int64"})


def category_basket_counts(lines: ibis.Table, products: ibis.Table, since: date | None = None) -> ibis.Table:
    """What `complementary_categories` counts, per basket of identified customers from `since` on:
    code_a, code_b (`category_codes`) and baskets, the number of baskets holding both categories;
    a row with code_a = code_b counts the baskets holding that category, and the row whose codes
    are null counts the baskets holding any. Every count is a sum over baskets, so the counts of
    two sets of baskets add up (what the incremental refresh keeps, decision 0117)."""
    coded = _shelf(products).join(category_codes(products), "category").select("product_id", "code")
    members = window_lines(lines, since).join(coded, "product_id")
    # each basket's categories as one list (its lines' codes, each once), its pairs the list
    # unnested twice: no self-join of the (basket, category) rows on the basket's id; each
    # unordered pair counted once, then mirrored (decision 0144)
    baskets = members.group_by("basket_id").aggregate(codes=members.code.collect().unique())
    firsts = baskets.select(code_a=baskets.codes.unnest(), codes=baskets.codes)
    together = firsts.select("code_a", code_b=firsts.codes.unnest())
    together = together.filter(together.code_a <= together.code_b)
    pairs = together.group_by(["code_a", "code_b"]).aggregate(baskets=together.count())
    mirrored = pairs.filter(pairs.code_a < pairs.code_b).select(code_a="code_b", code_b="code_a", baskets="baskets")
    total = baskets.aggregate(baskets=baskets.count())
    every = total.select(code_a=ibis.null("int64"), code_b=ibis.null("int64"), baskets=total.baskets)
    return ibis.union(pairs.cast(COUNTS), mirrored.cast(COUNTS), every.cast(COUNTS), distinct=False)


def complementary_categories(lines: ibis.Table, products: ibis.Table, since: date | None = None,
                             rules: PairRules = PairRules()) -> ibis.Table:
    """Per category, the categories bought with it in the same basket more often than chance.

    Columns: category, goes_with, baskets_together (baskets holding both), lift (how many times
    more often than if the two were bought independently), confidence (share of the category's
    baskets that also hold `goes_with`), rank (1 = the highest lift of the category). Baskets of
    identified customers from `since` on.
    """
    return complementary_of_counts(category_basket_counts(lines, products, since), products, rules)


def complementary_of_counts(counts: ibis.Table, products: ibis.Table, rules: PairRules = PairRules()) -> ibis.Table:
    """`complementary_categories` of the baskets whose `category_basket_counts` are `counts`."""
    codes = category_codes(products)
    baskets_total = counts.filter(counts.code_a.isnull()).baskets.max().as_scalar()
    per_category = counts.filter(counts.code_a == counts.code_b).select(
        "code_a", category_baskets=counts.baskets)
    pairs = counts.filter(counts.code_a != counts.code_b).select(
        "code_a", "code_b", baskets_together=counts.baskets)
    pairs = pairs.filter(pairs.baskets_together >= rules.min_baskets)
    a = per_category.rename(baskets_a="category_baskets")
    b = per_category.rename(baskets_b="category_baskets", code_b="code_a")
    scored = pairs.join(a, "code_a").join(b, "code_b")
    scored = scored.mutate(
        lift=scored.baskets_together.cast("float64") * baskets_total.cast("float64")
        / (scored.baskets_a.cast("float64") * scored.baskets_b.cast("float64")),
        confidence=scored.baskets_together.cast("float64") / scored.baskets_a.cast("float64"),
    )
    scored = scored.filter(scored.lift >= rules.min_lift)
    ranked = scored.mutate(rank=ibis.row_number().over(
        group_by=scored.code_a, order_by=[ibis.desc(scored.lift), ibis.desc(scored.baskets_together), scored.code_b]
    ) + 1)
    kept = ranked.filter(ranked.rank <= rules.per_category)
    names_a = codes.rename(category="category", code_a="code")
    names_b = codes.rename(goes_with="category", code_b="code")
    named = kept.join(names_a, "code_a").join(names_b, "code_b")
    return named.select("category", "goes_with", "baskets_together", "lift", "confidence", "rank").order_by(
        ["category", "rank"])


def last_bought(lines: ibis.Table, products: ibis.Table) -> ibis.Table:
    """Per identified customer of `lines` who bought a product with a category, the latest such
    line (the dearest of the latest time, then the lowest product id): customer_id, last_bought
    (its category) and last_bought_on (its store-local day). The incremental refresh keeps it and
    replaces the row of a customer with new lines by that of their new lines (all later)."""
    members = window_lines(lines).join(_shelf(products), "product_id")
    # the latest time per customer by an aggregation, then only the lines at it ordered: a window
    # over every line sorted them all, two thirds of the till context's CPU (decision 0144)
    last_time = members.group_by("customer_id").aggregate(last_ts=members.transaction_ts.max())
    at_last = members.join(last_time, [members.customer_id == last_time.customer_id,
                                       members.transaction_ts == last_time.last_ts]).select(*members.columns)
    latest = at_last.mutate(position=ibis.row_number().over(
        group_by=at_last.customer_id,
        order_by=[ibis.desc(at_last.transaction_ts), ibis.desc(at_last.sales_value), at_last.product_id]))
    return latest.filter(latest.position == 0).select(
        "customer_id", last_bought=latest.category, last_bought_on=latest.transaction_ts.date())


def till_context(lines: ibis.Table | None, products: ibis.Table | None, category_spend: ibis.Table,
                 pairs: ibis.Table, last: ibis.Table | None = None, top: ibis.Table | None = None) -> ibis.Table:
    """Per customer who bought a product with a category: what the till tells the cashier.

    Columns: customer_id, top_category_1..3 (the categories of the most spend in `category_spend`,
    the refresh's window; null beyond the customer's count), last_bought (the category of the
    dearest line of the customer's last basket), last_bought_on (its store-local day) and goes_with
    (the category `pairs` ranks first with it; null when none goes with it). `last`, when given, is
    the lines' `last_bought` (the lines and products are then not read); `top`, when given, is
    `top_categories` of `category_spend` (which is then not read).
    """
    if top is None:
        top = top_categories(category_spend)
    if last is None:
        last = last_bought(lines, products)
    best = pairs.filter(pairs["rank"] == 1).select(last_bought="category", goes_with="goes_with")
    last = last.left_join(best, "last_bought").select("customer_id", "last_bought", "last_bought_on", "goes_with")
    joined = last.left_join(top, "customer_id")
    return joined.select(
        "customer_id", *[f"top_category_{n}" for n in range(1, TOP_CATEGORIES + 1)],
        "last_bought", "last_bought_on", "goes_with")


def top_categories(category_spend: ibis.Table) -> ibis.Table:
    """Per customer with spend in `category_spend`: top_category_1..3, the categories of the most
    spend (the category's name breaks a tie); null beyond the customer's count. Each customer's
    from their own rows alone."""
    bought = category_spend.filter(category_spend.category_spend > 0)
    # ranked on the numbers alone, the names joined on the top rows: category_code is in name order
    # (`category_names`), so it breaks a tie as the name does (decision 0144)
    spend = bought.select("customer_id", "category_code", "category_spend")
    spend = spend.mutate(position=ibis.row_number().over(
        group_by=spend.customer_id, order_by=[ibis.desc(spend.category_spend), spend.category_code]) + 1)
    top = spend.filter(spend.position <= TOP_CATEGORIES)
    top = top.join(bought.select("category_code", "category").distinct(), "category_code")
    return top.group_by("customer_id").aggregate(**{
        f"top_category_{n}": top.category.max(where=top.position == n) for n in range(1, TOP_CATEGORIES + 1)})
