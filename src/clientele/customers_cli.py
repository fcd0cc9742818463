"""`clientele customer ID | customers at-risk`: one customer, and the customers to win back first."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from clientele.cli_types import EngineOption

app = typer.Typer(help="Look at customers one by one.", no_args_is_help=True)
customers_app = typer.Typer(help="Lists of customers to act on.", no_args_is_help=True)
console = Console()

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for machines.")]


@app.command("customer")
def customer_command(
    customer_id: Annotated[int, typer.Argument(min=1, help="The customer's number (the member number).")],
    purchases: Annotated[int, typer.Option(min=1, help="How many likely next purchases to list.")] = 10,
    as_json: JsonOption = False,
    engine: EngineOption = None,
) -> None:
    """One customer: profile, segments, lifetime value and its interval, churn risk, next visit,
    likely next purchases, and the loyalty programme's points and tier."""
    from clientele.analytics.customer_card import customer_view
    from clientele.cli import django_setup
    from clientele.engine import connect

    view = customer_view(connect(engine), customer_id, purchases=purchases)
    django_setup()
    from clientele.members.selectors import member_points

    view["loyalty"] = member_points(customer_id)
    if as_json:
        console.print_json(json.dumps(view, default=str))
        return
    profile, loyalty = view["profile"], view["loyalty"]
    summary = Table(title=f"Customer {customer_id}" + (f": {loyalty['name']}" if loyalty and loyalty["name"] else ""),
                    show_header=False)
    summary.add_column(overflow="fold")
    summary.add_column(overflow="fold")
    for label, value in _profile_rows(profile, view["pyramid"], view["traits"]):
        summary.add_row(label, value)
    if loyalty is None:
        summary.add_row("Loyalty programme", "not a member")
    else:
        summary.add_row("Loyalty tier", loyalty["loyalty_tier"] or "none yet")
        summary.add_row("Points", f"{loyalty['available']:,} available, {loyalty['pending']:,} pending")
    console.print(summary)
    likely = Table(title="Likely purchases in the next 14 days")
    for column in ("product", "category", "probability", "expected"):
        likely.add_column(column, justify="right" if column == "probability" else "left")
    for row in view["next_purchases"]:
        likely.add_row(str(row["product_id"]), row.get("subcategory") or row.get("category") or "",
                       f"{row['probability']:.0%}", str(row["expected_date"])[:10])
    console.print(likely if view["next_purchases"] else "No product likely bought in the next 14 days.")


def _profile_rows(profile: dict, pyramid: dict | None, traits: list[dict]) -> list[tuple[str, str]]:
    """The profile's lines as (label, value) for the terminal."""
    def money(value) -> str:
        return "-" if value is None else f"{value:,.2f}"

    rows = [
        ("RFM segment", f"{profile['rfm_segment']} (last basket {profile['recency_days']} days ago, "
                        f"{profile['frequency']} baskets, {money(profile['monetary'])} in the window)"),
        ("Pyramid level", profile["pyramid_level"] + (
            f" (rank {pyramid['value_rank']:,}; {money(pyramid['monthly_value'])} a month, {pyramid['window_start']} to "
            f"{pyramid['window_end']}, baskets capped at {money(pyramid['basket_cap'])})" if pyramid else "")),
        ("Value (lifetime value)", f"class {profile['value_class']}, tier {profile['value_tier']}"),
        ("Lifecycle stage", profile["lifecycle_stage"]),
        ("Traits", ", ".join(f"{t['trait']} ({t['confidence']:.0%})" for t in traits) or "none"),
    ]
    if profile["predicted_clv"] is None:
        rows.append(("Forecasts", "none: the lake is too small to fit the models"))
        return rows
    return rows + [
        ("12-month value", f"{money(profile['predicted_clv'])} (90% interval {money(profile['clv_lower'])} to "
                           f"{money(profile['clv_upper'])})"),
        ("Churn risk", f"{profile['churn_risk']:.0%}" + (" - at risk" if profile["at_risk"] else "")),
        ("Purchases expected in 13 weeks", f"{profile['expected_purchases']:.1f}"),
        ("Next visit expected", str(profile["expected_next_visit"] or "-")),
    ]


@customers_app.command("at-risk")
def at_risk_command(
    limit: Annotated[int, typer.Option(min=1, help="How many customers to list.")] = 20,
    as_json: JsonOption = False,
    engine: EngineOption = None,
) -> None:
    """The customers at risk of leaving (churn risk 0.5 or more), ranked by value at stake: churn
    risk x their spend of the last 365 days, the spend expected to be lost if nothing is done."""
    from clientele.analytics.customer_card import customers_at_risk
    from clientele.engine import connect

    rows = customers_at_risk(connect(engine), limit)
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table(title=f"Customers at risk, by value at stake (top {limit})")
    columns = ("customer", "value at stake", "spend 365 days", "churn risk", "last basket", "RFM segment",
               "pyramid", "lifecycle")
    for column in columns:
        table.add_column(column, justify="left" if column in ("RFM segment", "pyramid", "lifecycle") else "right")
    for row in rows:
        table.add_row(str(row["customer_id"]), f"{row['value_at_stake']:,.2f}", f"{row['spend']:,.2f}",
                      f"{row['churn_risk']:.0%}", f"{row['recency_days']} days ago", row["rfm_segment"],
                      row["pyramid_level"], row["lifecycle_stage"])
    console.print(table if rows else "No customer is at risk in the last refresh.")
