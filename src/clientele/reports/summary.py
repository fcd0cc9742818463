"""The first customer report: who the customers are, what they spend, and the customer pyramid."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal

import ibis
from ibis import _
from rich.console import Console
from rich.table import Table

from clientele.analytics.baskets import baskets, last_day
from clientele.analytics.pyramid import LEVELS, WINDOW_DAYS, PyramidCutoffs, customer_pyramid, level_summary
from clientele.engine import connect
from clientele.lake.reader import basket_lines


@dataclass
class Summary:
    """The summary report's figures (money in the lake's currency, to the cent); `pyramid_rule`
    says which window and cap the pyramid and the top customers are measured over."""

    overview: dict
    pyramid_rule: dict
    pyramid: list[dict]
    top_customers: list[dict]
    #: the identity review queue's counts (`identity.services.queue_summary`), from the operational
    #: database; None when the report is the lake's alone (no database set up)
    review_queue: dict | None = None


def compute(lines: ibis.Table, window_days: int = WINDOW_DAYS, cutoffs: PyramidCutoffs = PyramidCutoffs()) -> Summary:
    """Every figure of the summary report from the lake's basket lines: the overview over the whole
    lake, the pyramid and the top 10 customers as the nightly refresh ranks them (`customer_pyramid`
    over the `window_days` to the latest basket, bulk baskets capped)."""
    totals = lines.aggregate(
        customers=lines.customer_id.nunique(),
        baskets=lines.basket_id.nunique(),
        lines=_.count(),
        revenue=lines.sales_value.sum(),
        first_purchase=lines.transaction_ts.min(),
        last_purchase=lines.transaction_ts.max(),
    ).to_pyarrow().to_pylist()[0]
    as_of = last_day(lines)  # as the refresh takes it
    # one row per customer: computed once from the lines, then summarised in memory
    leveled = ibis.memtable(customer_pyramid(baskets(lines), as_of, window_days, cutoffs).to_pyarrow())
    per_level = {row["pyramid_level"]: row for row in level_summary(leveled, "spend").to_pyarrow().to_pylist()}
    pyramid = [
        {
            "level": level,
            "customers": per_level.get(level, {}).get("customers", 0),
            "customer_share": round(float(per_level.get(level, {}).get("customer_share", 0.0)), 4),
            "window_spend": _cents(per_level.get(level, {}).get("value_total", Decimal(0))),
            "window_spend_share": round(float(per_level.get(level, {}).get("value_share", 0.0)), 4),
        }
        for level in LEVELS
    ]
    top = leveled.filter(leveled.value_rank <= 10).order_by("value_rank").to_pyarrow().to_pylist()
    top_customers = [
        {
            "rank": row["value_rank"],
            "customer_id": row["customer_id"],
            "pyramid_level": row["pyramid_level"],
            "baskets": row["baskets"],
            "spend": _cents(row["spend"]),
            "monthly_value": _cents(row["monthly_value"]),
            "last_basket": row["last_basket"].isoformat(),
        }
        for row in top
    ]
    overview = {
        "customers": totals["customers"],
        "baskets": totals["baskets"],
        "lines": totals["lines"],
        "revenue": _cents(totals["revenue"]),
        "first_purchase": totals["first_purchase"].isoformat(sep=" "),
        "last_purchase": totals["last_purchase"].isoformat(sep=" "),
    }
    pyramid_rule = {"window_days": window_days, **pyramid_rule_of(leveled)}
    return Summary(overview, pyramid_rule, pyramid, top_customers)


def pyramid_rule_of(pyramid: ibis.Table) -> dict:
    """The window and basket cap a pyramid table (`customer_pyramid`'s columns) was ranked with:
    window_start and as_of (ISO dates) and basket_cap (currency units, to the cent); empty when
    the table has no customer."""
    rule = pyramid.select("window_start", "window_end", "basket_cap", "basket_cap_quantile").limit(1)
    rule = rule.to_pyarrow().to_pylist()
    if not rule:
        return {}
    return {"window_start": rule[0]["window_start"].isoformat(), "as_of": rule[0]["window_end"].isoformat(),
            "basket_cap": _cents(rule[0]["basket_cap"]), "basket_cap_quantile": rule[0]["basket_cap_quantile"]}


def rule_text(rule: dict) -> str:
    """The pyramid's definition in one sentence, for wherever it is shown."""
    if not rule:
        return "no customer bought in the window"
    return (f"{rule['window_start']} to {rule['as_of']}, ranked by monthly spend with each basket counted at most "
            f"{Decimal(rule['basket_cap']):,.2f} (the chain's {rule['basket_cap_quantile']:g} quantile basket: one bulk "
            "buy does not make a VIP)")


def build(engine: str | None = None, console: Console | None = None) -> Summary:
    """The summary report over the whole lake, computed on `engine` (duckdb or spark)."""
    if console is None:
        return compute(basket_lines(connect(engine)))
    with console.status("Computing the summary report…"):
        return compute(basket_lines(connect(engine)))


def _cents(amount) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


def print_tables(report: Summary, console: Console) -> None:
    """The report as Rich tables in the terminal."""
    o = report.overview
    overview = Table(title="Clientele summary", show_header=False)
    overview.add_row("Customers", f"{o['customers']:,}")
    overview.add_row("Baskets", f"{o['baskets']:,}")
    overview.add_row("Basket lines", f"{o['lines']:,}")
    overview.add_row("Revenue", f"{Decimal(o['revenue']):,.2f}")
    overview.add_row("Period", f"{o['first_purchase'][:10]} to {o['last_purchase'][:10]}")
    console.print(overview)

    pyramid = Table(title="Customer pyramid (the nightly one)", caption=rule_text(report.pyramid_rule))
    for column in ("Level", "Customers", "Share of customers", "Spend in window", "Share of spend"):
        pyramid.add_column(column, justify="left" if column == "Level" else "right")
    for row in report.pyramid:
        pyramid.add_row(
            row["level"], f"{row['customers']:,}", f"{row['customer_share']:.1%}",
            f"{Decimal(row['window_spend']):,.2f}", f"{row['window_spend_share']:.1%}",
        )
    console.print(pyramid)

    top = Table(title="Top 10 customers of the pyramid")
    for column in ("Rank", "Customer", "Level", "Baskets", "Spend in window", "Monthly value", "Last basket"):
        top.add_column(column, justify="right")
    for row in report.top_customers:
        top.add_row(str(row["rank"]), str(row["customer_id"]), row["pyramid_level"], f"{row['baskets']:,}",
                    f"{Decimal(row['spend']):,.2f}", f"{Decimal(row['monthly_value']):,.2f}", row["last_basket"])
    console.print(top)

    if report.review_queue is not None:
        queue = Table(title="Identity review queue")
        labels = {"review": "Waiting for review", "auto_linked": "Linked automatically", "accepted": "Accepted",
                  "rejected": "Rejected", "merges_in_force": "Merges in force", "merges_undone": "Merges undone"}
        for label in labels.values():
            queue.add_column(label, justify="right")
        queue.add_row(*(f"{report.review_queue.get(key, 0):,}" for key in labels))
        console.print(queue)


def to_json(report: Summary) -> str:
    """The report as one JSON document."""
    return json.dumps({"overview": report.overview, "pyramid_rule": report.pyramid_rule, "pyramid": report.pyramid,
                       "top_customers": report.top_customers, "review_queue": report.review_queue}, indent=2)


def to_csv(report: Summary) -> str:
    """The report as CSV: one section per table, rows `section,key,value...` for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "metric", "value"])
    for key, value in report.overview.items():
        writer.writerow(["overview", key, value])
    for key, value in report.pyramid_rule.items():
        writer.writerow(["pyramid_rule", key, value])
    writer.writerow([])
    writer.writerow(["section", *report.pyramid[0].keys()])
    for row in report.pyramid:
        writer.writerow(["pyramid", *row.values()])
    writer.writerow([])
    if report.top_customers:
        writer.writerow(["section", *report.top_customers[0].keys()])
        for row in report.top_customers:
            writer.writerow(["top_customers", *row.values()])
    if report.review_queue is not None:
        writer.writerow([])
        writer.writerow(["section", "metric", "value"])
        for key, value in report.review_queue.items():
            writer.writerow(["review_queue", key, value])
    return out.getvalue()
