"""`clientele loyalty ...`: the programme's batch work, thin over `loyalty.services`."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="The loyalty programme: balances, expiry, liability, tiers, till keys.",
                  no_args_is_help=True)
console = Console()


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


Today = Annotated[Optional[str], typer.Option("--today", help="Run as of this date (YYYY-MM-DD); default today.")]


@app.callback()
def start_django() -> None:
    from clientele.cli import django_setup  # the `clientele` command owns Django's start-up

    django_setup()


def _today(value: str | None) -> date:
    from clientele.loyalty.ledger import now_utc

    return date.fromisoformat(value) if value else now_utc().date()


def _print(rows: dict, title: str, output: Format) -> None:
    if output is Format.json:
        console.print_json(json.dumps(rows))
    elif output is Format.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["figure", "value"])
        writer.writerows(rows.items())
        typer.echo(buffer.getvalue(), nl=False)
    else:
        table = Table(title=title)
        table.add_column("Figure")
        table.add_column("Value", justify="right")
        for name, value in rows.items():
            table.add_row(name.replace("_", " "), str(value))
        console.print(table)


@app.command("import-balances")
def import_balances(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV from the previous system.")],
    output: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Bring members, cards and opening balances from a previous system (quarantine + reconciliation)."""
    from clientele.loyalty import services

    report = services.import_balances(file)
    _print({k: v for k, v in report.items() if k != "reasons"} | {"reasons": json.dumps(report["reasons"])},
           "Opening balances import", output)
    if not report["reconciles"]:
        raise typer.Exit(1)


@app.command("expire")
def expire(today: Today = None) -> None:
    """Expire points older than the programme's expiry period, oldest first."""
    from clientele.loyalty import services

    result = services.expire_points(_today(today))
    console.print(f"[green]Expired[/] {result['points_expired']} points on {result['accounts']} accounts")


@app.command("liability")
def liability(today: Today = None, output: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Outstanding points (available, pending, expiring next month) and their money value."""
    from clientele.loyalty import services

    with console.status("Summing the points ledger per account…"):
        report = services.liability(_today(today))
    _print(report, "Points liability", output)


@app.command("review-tiers")
def review_tiers(today: Today = None) -> None:
    """Move members between tiers on 12-month spend and visits, with the grace period; reasons recorded."""
    from clientele.loyalty import services

    with console.status("Reviewing tiers…") as status:
        counts = services.review_tiers(_today(today), on_step=lambda step: status.update(f"Reviewing tiers: {step}…"))
    _print(counts, "Tier review", Format.table)


@app.command("issue-api-key")
def issue_api_key(store: Annotated[int, typer.Option(help="Store number the key is scoped to.")],
                  name: Annotated[str, typer.Option(help="Which till or system holds it.")]) -> None:
    """Issue a till's API key for one store; the key is shown once, only its hash is kept."""
    from clientele.catalog.models import Store
    from clientele.loyalty import services
    from clientele.loyalty.errors import UnknownStore

    found = Store.objects.filter(pk=store).first()
    if found is None:
        raise UnknownStore(f"no store {store}")
    key, raw = services.issue_api_key(found, name)
    console.print(f"Key [bold]{key.prefix}[/] for store {store} ({name}): {raw}")


@app.command("default-programme")
def default_programme() -> None:
    """Install the default programme (earning rules, tiers, rewards: docs/loyalty.md) into a programme
    never set up; a programme that has (or had) any rule, tier or reward is left as it is."""
    from clientele.loyalty import services

    result = services.install_default_programme()
    contents = f"{result['earning_rules']} earning rules, {result['tiers']} tiers, {result['rewards']} rewards"
    if result["installed"]:
        console.print(f"[green]Default programme installed[/]: {contents} (edit them in the back office, /admin/)")
    else:
        console.print(f"Programme already set up, left as it is: {contents}")


@app.command("credit-history")
def credit_history(
    batch: Annotated[int, typer.Option(min=1, help="Baskets per transaction.")] = 2_000,
    output: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Credit the members' baskets in the lake (e.g. the Complete Journey's 2017) through the programme's
    earning rules, one ledger entry per basket, then review the tiers as of the last basket's day.
    Resumable and idempotent: a basket already credited is never credited again."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from clientele.loyalty import services

    columns = (TextColumn("[bold]Crediting the history"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("baskets", total=None)
        result = services.credit_history(batch=batch,
                                         on_progress=lambda done, total: progress.update(task, completed=done,
                                                                                         total=total))
    report = result.as_dict()
    if output is not Format.json:  # one figure per row: the counts by reason and by move as JSON text
        report |= {name: json.dumps(report[name]) for name in ("skipped_reasons", "tier_moves")}
    _print(report, "Purchase history credited", output)
