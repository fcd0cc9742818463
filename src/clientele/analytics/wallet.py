"""Share of wallet and year on year: did last period's best customers come back; who buys narrowly.

We cannot see what a customer buys elsewhere, but a regular customer who buys from only one or two
departments with us is most likely buying the rest of their groceries at a competitor: the
narrow-basket customers are the share-of-wallet opportunity.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis

from clientele.analytics import ranking
from clientele.analytics.baskets import in_window
from clientele.sums import money_total


def year_over_year(baskets: ibis.Table, as_of: date, period_days: int = 365, top_share: float = 0.05) -> ibis.Table:
    """Last period's top customers and whether they bought again this period.

    This period is the `period_days` days up to `as_of`, last period the `period_days` before.
    Returns one row per customer in last period's top `top_share` by spend: customer_id, last_rank
    (1 = biggest), last_spend and this_spend (currency units), this_baskets, bought_again (bool)
    and spend_change (this_spend / last_spend - 1; -1 = gone).
    """
    this = in_window(baskets, as_of, period_days)
    last = in_window(baskets, as_of - timedelta(days=period_days), period_days)
    last_spend = last.group_by("customer_id").aggregate(last_spend=money_total(last.spend))
    numbered = ranking.row_number(last_spend, "last_spend", "customer_id", "last_rank")
    numbered = numbered.mutate(last_rank=numbered.last_rank + 1)
    ranked = ranking.with_total(numbered, last_spend, customers=last_spend.count())
    top = ranked.filter(ranked.last_rank <= (ranked.customers * top_share).ceil())
    this_spend = this.group_by("customer_id").aggregate(this_spend=money_total(this.spend), this_baskets=this.count())
    joined = top.left_join(this_spend, "customer_id")
    spent = joined.this_spend.fill_null(0.0)
    return joined.select(
        customer_id=top.customer_id,
        last_rank=joined.last_rank,
        last_spend=joined.last_spend,
        this_spend=spent,
        this_baskets=joined.this_baskets.fill_null(0),
        bought_again=joined.this_baskets.fill_null(0) > 0,
        spend_change=spent / joined.last_spend - 1,
    )


def narrow_baskets(
    category_spend: ibis.Table,
    baskets: ibis.Table,
    as_of: date,
    window_days: int = 365,
    max_departments: int = 2,
    min_baskets: int = 4,
) -> ibis.Table:
    """Regular customers who buy from few departments with us: the share-of-wallet opportunity.

    `category_spend` covers the same window (`brand_loyalty.category_spend(..., since=...)`).
    Returns every customer with at least `min_baskets` baskets in the window: customer_id,
    baskets, departments and categories bought, spend (currency units) and narrow (bool: at most
    `max_departments` departments).
    """
    window = in_window(baskets, as_of, window_days)
    regulars = window.group_by("customer_id").aggregate(baskets=window.count(), spend=money_total(window.spend))
    regulars = regulars.filter(regulars.baskets >= min_baskets)
    # count distinct numbers, not names, over the millions of customer x category rows: each category
    # has one number (category_code) and one department, numbered here on the few categories
    shelf = category_spend.select("category_code", "department").distinct()
    ranked = ranking.dense_rank(shelf, "department", "department_code")
    numbered = ranked.mutate(department_code=ibis.ifelse(ranked.department.notnull(), ranked.department_code, None))
    coded = category_spend.select("customer_id", "category_code").join(
        numbered.select("category_code", "department_code"), "category_code"
    )
    breadth = coded.group_by("customer_id").aggregate(
        departments=coded.department_code.nunique(), categories=coded.category_code.nunique()
    )
    joined = regulars.left_join(breadth, "customer_id")
    departments = joined.departments.fill_null(0)
    return joined.select(
        customer_id=regulars.customer_id,
        baskets=joined.baskets,
        departments=departments,
        categories=joined.categories.fill_null(0),
        spend=joined.spend,
        narrow=departments <= max_departments,
    )
