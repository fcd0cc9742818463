"""`clientele care ...`: after-sales calls, member events and cost against value, thin over
`care.services`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Customer care: after-sales calls, member events, cost against value.", no_args_is_help=True)
console = Console()


@app.callback()
def start_django() -> None:
    from clientele.cli import django_setup  # the `clientele` command owns Django's start-up

    django_setup()


@app.command("follow-ups")
def follow_ups() -> None:
    """Put the large purchases of high-value members on the after-sales call list (settings
    CLIENTELE_FOLLOW_UP_TIERS, _BASKET, _DAYS; run nightly: each basket is listed once) and show
    the calls per outcome."""
    from clientele.care import services

    added = services.list_follow_ups()
    console.print(f"After-sales calls added: {added:,}")
    table = Table(title="After-sales calls")
    table.add_column("outcome")
    table.add_column("calls", justify="right")
    for outcome, calls in services.follow_up_summary().items():
        table.add_row(outcome, f"{calls:,}")
    console.print(table)


@app.command("event")
def create_event(code: str, name: str,
                 held_on: Annotated[str, typer.Option("--on", help="The event's day, YYYY-MM-DD.")],
                 points: Annotated[int, typer.Option(help="Points for taking part, once per member.")],
                 store: Annotated[Optional[int], typer.Option(help="The store holding it (none: any).")] = None) -> None:
    """Define a member event: taking part earns its points once per member."""
    from clientele.care import services
    from clientele.errors import ClienteleError

    try:
        day = date.fromisoformat(held_on)
    except ValueError:
        raise ClienteleError(f"--on: {held_on!r} is not a date (YYYY-MM-DD)") from None
    event = services.create_event(code, name, day, points, store)
    console.print(f"Event {event.code} on {event.held_on}: {event.bonus_points} points for taking part")


@app.command("attend")
def attend(code: str, member_number: int) -> None:
    """Record that a member took part in an event and credit its points (once per member and event)."""
    from clientele.care import services

    answer = services.record_attendance(code, "command line", member_number=member_number)
    console.print_json(json.dumps(answer))


@app.command("cost")
def cost(csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Also write the table as CSV here.")] = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """Customer cost (points, offers, service) against estimated margin, per value tier."""
    from clientele.care import reports, services
    from clientele.config import settings

    rows = services.cost_by_tier()
    if as_json:
        console.print_json(json.dumps(reports.plain(rows)))
    else:
        table = Table(title=f"Cost against value per tier (margin = net sales x {settings().margin_rate})")
        for name in reports.COLUMNS:
            table.add_column(name.replace("_", " "), justify="left" if name == "value_tier" else "right")
        for row in reports.plain(rows):
            table.add_row(*["—" if row[name] is None else str(row[name]) for name in reports.COLUMNS])
        console.print(table)
    if csv_path is not None:
        csv_path.write_text(reports.cost_csv(rows), encoding="utf-8")
        console.print(f"Written to {csv_path}")
