"""`clientele portal ...`: the member portal's batch work, thin over its services."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="The member portal: its housekeeping.", no_args_is_help=True)
console = Console()


@app.callback()
def start_django() -> None:
    from clientele.cli import django_setup  # the `clientele` command owns Django's start-up

    django_setup()


def purged_line(purged: dict[str, int]) -> str:
    """The purge's counts in one line, as the command and the nightly refresh print them."""
    return ", ".join(f"{count:,} {what}" for what, count in purged.items())


@app.command("purge")
def purge(batch: Annotated[int, typer.Option(min=1, max=100_000, help="Rows deleted per transaction.")] = 5000) -> None:
    """Delete sign-in codes, wrong codes and sessions ended more than CLIENTELE_PORTAL_RECORDS_DAYS
    ago, and forget the new addresses of confirmation codes expired (nightly; safe to run again)."""
    from clientele.portal.housekeeping import purge_sign_in_records

    console.print(f"Portal sign-in records purged: {purged_line(purge_sign_in_records(batch=batch))}")
