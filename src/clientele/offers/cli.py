"""`clientele lists ...` and `clientele offers ...`: thin commands over the lists and statements."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

lists_app = typer.Typer(help="Personal shopping lists: generate them, show a member's.", no_args_is_help=True)
offers_app = typer.Typer(help="Offers: manufacturers' statements and anonymised reports.", no_args_is_help=True)
console = Console()

EngineOption = Annotated[Optional[str], typer.Option(help="duckdb or spark (default CLIENTELE_ENGINE).")]


class ShowFormat(str, Enum):
    table = "table"
    json = "json"
    html = "html"


class ReportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@lists_app.callback()
@offers_app.callback()
def start_django() -> None:
    from clientele.cli import django_setup  # the `clientele` command owns Django's start-up

    django_setup()


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from None


@lists_app.command("generate")
def generate(engine: EngineOption = None) -> None:
    """A new list for every member above the weekly spend (CLIENTELE_LIST_WEEKLY_SPEND, default 25)
    who consented to profiling, from the last refresh's forecasts, with their offers."""
    from clientele.analytics.shopping_lists import ListRules, read_list_inputs
    from clientele.engine import connect
    from clientele.offers.lists import generate_lists

    rules = ListRules.configured()
    inputs = read_list_inputs(connect(engine), rules=rules)
    result = generate_lists(inputs, datetime.now(timezone.utc), rules)
    console.print(f"[green]Shopping lists[/] as of {inputs.as_of}: {result.lists:,} lists, {result.items:,} items, "
                  f"{result.offers:,} with an offer; {result.without_consent:,} qualifying members without "
                  "profiling consent got none")


@lists_app.command("show")
def show(
    member: Annotated[int, typer.Argument(help="The member's customer number.")],
    fmt: Annotated[ShowFormat, typer.Option("--format", help="table, json or html (print-ready).")] = ShowFormat.table,
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """The member's current shopping list."""
    from clientele.offers.lists import current_list, list_document, printable_html

    shopping_list = current_list(member)
    if fmt == ShowFormat.table:
        document = list_document(shopping_list)
        table = Table(title=f"List {document['number']} of {document['member_name']}, valid "
                            f"{document['valid_from']} to {document['valid_until']}")
        for column in ("department", "category", "product", "offer"):
            table.add_column(column)
        for department in document["departments"]:
            for item in department["items"]:
                table.add_row(department["department"], item["category"], str(item["product_id"]),
                              item["offer_description"])
        console.print(table)
        return
    text = (json.dumps(list_document(shopping_list), indent=1) if fmt == ShowFormat.json
            else printable_html(shopping_list))
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"List {shopping_list.number} written to {out}")


@offers_app.command("statement")
def statement_command(
    manufacturer: Annotated[str, typer.Option(help="The manufacturer's number or account name.")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """What the offers a manufacturer funds gave in the period, offer by offer, to the cent."""
    from clientele.offers.statements import statement

    first = datetime.combine(_day(start, "--from"), time.min, tzinfo=timezone.utc)
    after = datetime.combine(_day(end, "--to") + timedelta(days=1), time.min, tzinfo=timezone.utc)
    result = statement(manufacturer, first, after)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), default=str, indent=1) + "\n")
        return
    table = Table(title=f"{result.manufacturer}: offers from {start} to {end}")
    for column in ("offer", "name", "redemptions", "reversals", "discount", "bonus points"):
        table.add_column(column, justify="left" if column in ("offer", "name") else "right")
    for line in result.lines:
        table.add_row(line.offer, line.name, str(line.redemptions), str(line.reversals), str(line.discount),
                      str(line.bonus_points))
    table.add_row("total", "", str(result.redemptions), "", str(result.discount), str(result.bonus_points))
    console.print(table)


@offers_app.command("report")
def report_command(
    manufacturer: Annotated[str, typer.Option(help="The manufacturer's number or account name.")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (store time).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD, included.")],
    out: Annotated[Path, typer.Option(help="File to write.")],
    fmt: Annotated[ReportFormat, typer.Option("--format", help="csv or parquet.")] = ReportFormat.csv,
    engine: EngineOption = None,
) -> None:
    """The manufacturer's anonymised report: no customer identifier, no cell of fewer than k
    households (CLIENTELE_REPORT_MIN_HOUSEHOLDS, default 10)."""
    from clientele.config import settings
    from clientele.engine import connect
    from clientele.offers import reports

    k = settings().report_min_households
    table = reports.build(manufacturer, _day(start, "--from"), _day(end, "--to"), k, connect(engine))
    reports.write(table, out, fmt.value)
    console.print(f"{len(table):,} cells ({int(table.suppressed.sum()):,} suppressed under k={k}) written to {out}")
