"""From basket lines to baskets: the one-row-per-basket table most customer measures start from."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
from ibis import _

from clientele.analytics import ranking
from clientele.sums import money_total_of_sum


def member_lines(lines: ibis.Table) -> ibis.Table:
    """The basket lines of identified customers (anonymous lines have no customer to describe)."""
    return lines.filter(lines.customer_id.notnull())


def baskets(lines: ibis.Table) -> ibis.Table:
    """One row per customer basket.

    Columns: customer_id, basket_id, basket_date (store-local day), basket_month (first day of the
    month), spend (what the customer paid, currency units), discount (retail, coupon and coupon
    match discounts received, currency units), deal_spend (spend on lines bought with a retail
    discount or a coupon, currency units).
    """
    return baskets_from_sums(basket_sums(lines))


def basket_sums(lines: ibis.Table) -> ibis.Table:
    """Per customer basket, its exact sums: customer_id, basket_id, first_ts and last_ts (its first
    and last line's time), spend, discount, deal_spend as decimals. What the incremental refresh
    keeps per month partition (`refresh_state`): decimals add up exactly, so the sums of a basket
    met in two partitions, added again (`regroup_basket_sums`), are the sums of the whole basket."""
    members = member_lines(lines)
    on_deal = (members.retail_disc > 0) | (members.coupon_disc > 0) | (members.coupon_match_disc > 0)
    return members.group_by(["customer_id", "basket_id"]).aggregate(
        first_ts=members.transaction_ts.min(),
        last_ts=members.transaction_ts.max(),
        spend=members.sales_value.sum(),
        discount=(members.retail_disc + members.coupon_disc + members.coupon_match_disc).sum(),
        deal_spend=ibis.ifelse(on_deal, members.sales_value, 0).cast("decimal(18, 2)").sum(),
    )


def regroup_basket_sums(sums: ibis.Table) -> ibis.Table:
    """`basket_sums` of several parts of the lines (month partitions), added per basket."""
    return sums.group_by(["customer_id", "basket_id"]).aggregate(
        first_ts=sums.first_ts.min(), last_ts=sums.last_ts.max(), spend=sums.spend.sum(), discount=sums.discount.sum(),
        deal_spend=sums.deal_spend.sum(),
    )


def baskets_from_sums(sums: ibis.Table) -> ibis.Table:
    """The baskets table (see `baskets`) of `basket_sums`: money to float64 once, from the exact sums."""
    return sums.select(
        "customer_id", "basket_id",
        basket_date=sums.first_ts.date(),
        spend=money_total_of_sum(sums.spend),
        discount=money_total_of_sum(sums.discount),
        deal_spend=money_total_of_sum(sums.deal_spend),
    ).mutate(basket_month=_.basket_date.truncate("M"))


def last_day(baskets_or_lines: ibis.Table) -> date:
    """The day of the latest basket (the natural 'today' of a lake that is not fed live)."""
    column = "basket_date" if "basket_date" in baskets_or_lines.columns else "transaction_ts"
    latest = baskets_or_lines[column].max().execute()
    return latest if type(latest) is date else latest.date()


def in_window(baskets_table: ibis.Table, as_of: date, days: int) -> ibis.Table:
    """The baskets of the `days` days up to and including `as_of`."""
    first = as_of - timedelta(days=days - 1)
    return baskets_table.filter(
        (baskets_table.basket_date >= ibis.date(first)) & (baskets_table.basket_date <= ibis.date(as_of))
    )


def days_between(earlier: ibis.Value, later: date) -> ibis.Value:
    """Whole days from the date expression `earlier` to the day `later`."""
    return ibis.date(later).delta(earlier, unit="day")


def ranked_scores(table: ibis.Table, values: dict[str, str], buckets: int) -> ibis.Table:
    """`table` plus, for each name: value of `values`, a score 1..buckets by rank of the value over
    the whole table (higher value, higher score).

    Equal values share a rank, so equal customers always get equal scores; with distinct values each
    score holds about 1/buckets of the rows (quintiles for 5, terciles for 3). Ranked by ranges of
    the value, never in one partition (`ranking`).
    """
    ranks = {f"_rank_of_{name}": value for name, value in values.items()}
    counts = {f"_count_of_{name}": table[value].count() for name, value in values.items()}
    ranked = ranking.with_total(ranking.ranks(table, ranks), table, **counts)
    scores = {
        name: ((ranked[f"_rank_of_{name}"] * buckets) / ranked[f"_count_of_{name}"]).floor().cast("int32") + 1
        for name in values
    }
    return ranked.mutate(**scores).drop(*ranks, *counts)
