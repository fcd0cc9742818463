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

from clientele.analytics.pyramid import LEVELS, assign_levels, level_summary
from clientele.engine import connect
from clientele.lake.reader import basket_lines


@dataclass
class Summary:
    """The summary report's figures (money in the lake's currency, to the cent)."""

    overview: dict
    pyramid: list[dict]
    top_customers: list[dict]


def customer_spend(lines: ibis.Table) -> ibis.Table:
    """Per customer: baskets, spend (sum of sales value) and last purchase over the whole lake."""
    members = lines.filter(lines.customer_id.notnull())
    return members.group_by("customer_id").aggregate(
        baskets=_.basket_id.nunique(),
        spend=_.sales_value.sum(),
        last_purchase=_.transaction_ts.max(),
    )


def compute(lines: ibis.Table) -> Summary:
    """Every figure of the summary report from the lake's basket lines."""
    totals = lines.aggregate(
        customers=lines.customer_id.nunique(),
        baskets=lines.basket_id.nunique(),
        lines=_.count(),
        revenue=lines.sales_value.sum(),
        first_purchase=lines.transaction_ts.min(),
        last_purchase=lines.transaction_ts.max(),
    ).to_pyarrow().to_pylist()[0]
    leveled = assign_levels(customer_spend(lines), "spend")
    per_level = {row["pyramid_level"]: row for row in level_summary(leveled, "spend").to_pyarrow().to_pylist()}
    pyramid = [
        {
            "level": level,
            "customers": per_level.get(level, {}).get("customers", 0),
            "customer_share": round(float(per_level.get(level, {}).get("customer_share", 0.0)), 4),
            "revenue": _cents(per_level.get(level, {}).get("value_total", Decimal(0))),
            "revenue_share": round(float(per_level.get(level, {}).get("value_share", 0.0)), 4),
        }
        for level in LEVELS
    ]
    top = leveled.filter(leveled.value_rank <= 10).order_by("value_rank").to_pyarrow().to_pylist()
    top_customers = [
        {
            "rank": row["value_rank"],
            "customer_id": row["customer_id"],
            "baskets": row["baskets"],
            "spend": _cents(row["spend"]),
            "last_purchase": row["last_purchase"].isoformat(sep=" "),
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
    return Summary(overview, pyramid, top_customers)


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

    pyramid = Table(title="Customer pyramid by spend over the period")
    for column in ("Level", "Customers", "Share of customers", "Revenue", "Share of revenue"):
        pyramid.add_column(column, justify="left" if column == "Level" else "right")
    for row in report.pyramid:
        pyramid.add_row(
            row["level"], f"{row['customers']:,}", f"{row['customer_share']:.1%}",
            f"{Decimal(row['revenue']):,.2f}", f"{row['revenue_share']:.1%}",
        )
    console.print(pyramid)

    top = Table(title="Top 10 customers by spend")
    for column in ("Rank", "Customer", "Baskets", "Spend", "Last purchase"):
        top.add_column(column, justify="right")
    for row in report.top_customers:
        top.add_row(str(row["rank"]), str(row["customer_id"]), f"{row['baskets']:,}",
                    f"{Decimal(row['spend']):,.2f}", row["last_purchase"][:10])
    console.print(top)


def to_json(report: Summary) -> str:
    """The report as one JSON document."""
    return json.dumps({"overview": report.overview, "pyramid": report.pyramid, "top_customers": report.top_customers}, indent=2)


def to_csv(report: Summary) -> str:
    """The report as CSV: one section per table, rows `section,key,value...` for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "metric", "value"])
    for key, value in report.overview.items():
        writer.writerow(["overview", key, value])
    writer.writerow([])
    writer.writerow(["section", *report.pyramid[0].keys()])
    for row in report.pyramid:
        writer.writerow(["pyramid", *row.values()])
    writer.writerow([])
    if report.top_customers:
        writer.writerow(["section", *report.top_customers[0].keys()])
        for row in report.top_customers:
            writer.writerow(["top_customers", *row.values()])
    return out.getvalue()
