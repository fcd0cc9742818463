"""`clientele service ...`: the service desk's reports and batch work, thin over `service.services`."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="The service desk: complaints, satisfaction surveys, lost customers and win-back.",
                  no_args_is_help=True)
console = Console()
Day = Annotated[str, typer.Option(help="A date, YYYY-MM-DD.")]


@app.callback()
def start_django() -> None:
    from clientele.cli import django_setup  # the `clientele` command owns Django's start-up

    django_setup()


def _day(value: str, option: str) -> date:
    from clientele.errors import ClienteleError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ClienteleError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def _json(result) -> None:
    console.print_json(json.dumps(result, default=str))


@app.command("report")
def report(start: Day, end: Day,
           spend: Annotated[bool, typer.Option(help="Also the complainers' spend before and after, from the lake.")]
           = False) -> None:
    """Complaint analysis: by cause, store, product, category and month; service levels met; repeat
    complainers and the large customers among them; spend before and after (--spend)."""
    from clientele.service import services

    first, last = _day(start, "--start"), _day(end, "--end")
    result = services.complaint_report(first, last)
    if spend:
        result["spend_before_and_after"] = services.spend_before_and_after(first, last)
    _json(result)


@app.command("queue")
def queue(name: Annotated[Optional[str], typer.Option("--queue", help="Only this queue.")] = None) -> None:
    """The open complaints, late first, then by the next deadline."""
    from clientele.service import services
    from clientele.service.complaints import is_late, now_utc

    table = Table(title="Open complaints")
    for column in ("complaint", "member", "status", "severity", "cause", "next deadline", "late", "agent"):
        table.add_column(column)
    now = now_utc()
    for c in services.queue(queue_name=name):
        table.add_row(str(c.pk), str(c.member.customer_id), c.status, c.severity, c.cause.code,
                      f"{c.next_due:%Y-%m-%d %H:%M}", "LATE" if is_late(c, now) else "",
                      c.assigned_to.get_username() if c.assigned_to else c.queue)
    console.print(table)


def _moment(value: str, option: str) -> datetime:
    return datetime.combine(_day(value, option), datetime.min.time(), tzinfo=timezone.utc)


@app.command("create-survey")
def create_survey(
    code: str, title: Annotated[str, typer.Option()], opens: Day, closes: Day,
    attribute: Annotated[list[str], typer.Option(help="name=importance, repeated: --attribute quality=3")],
    derived: Annotated[bool, typer.Option(help="Weigh attributes by their correlation with the overall score.")]
    = False,
) -> None:
    """Define a satisfaction survey: its attributes rated 1-5 and their importance."""
    from decimal import Decimal, InvalidOperation

    from clientele.errors import ClienteleError
    from clientele.service import services

    weights = {}
    for pair in attribute:
        name, _, weight = pair.partition("=")
        try:
            weights[name] = Decimal(weight or "1")
        except InvalidOperation:
            raise ClienteleError(f"--attribute {pair!r}: the importance after '=' is a number") from None
    survey = services.create_survey(services.SurveyIn(
        code=code, title=title, opens_at=_moment(opens, "--opens"), closes_at=_moment(closes, "--closes"),
        attributes=weights, weighting="derived" if derived else "stated"), actor="command:service create-survey")
    console.print(f"[green]Survey {survey.code}[/] with {len(weights)} attributes")


@app.command("invite")
def invite(code: str, sample: Annotated[int, typer.Option(help="How many members to invite at random.")],
           links: Annotated[Path, typer.Option(help="CSV file to write: member, link, expiry.")],
           base_url: Annotated[str, typer.Option(help="The site's address.")] = "http://127.0.0.1:8000",
           seed: Annotated[Optional[int], typer.Option(help="Fix the random sample.")] = None) -> None:
    """Invite a random sample of members; writes a CSV of their own links (until campaigns send them)."""
    from clientele.service import services

    invitations = services.invite(code, sample, seed)
    with links.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["member_number", "link", "expires_at"])
        writer.writerows((i.member.customer_id, f"{base_url.rstrip('/')}/survey/{i.token}", i.expires_at.isoformat())
                         for i in invitations)
    console.print(f"[green]{len(invitations)} invitations[/] written to {links}")


@app.command("results")
def results(code: str, by: Annotated[Optional[str], typer.Option(
        help="Also per store or segment: store, pyramid_level, value_tier, rfm_segment, lifecycle_stage.")] = None
            ) -> None:
    """A survey's simple mean and importance-weighted index side by side, with intervals."""
    from clientele.service import services

    _json(services.survey_results(code, by))


@app.command("loyalty-curve")
def loyalty_curve(code: str, weeks: Annotated[int, typer.Option(help="Weeks after the answer.")] = 8) -> None:
    """Repurchase rate and spend after each overall score 1-5, and the ratio of 5s to 4s."""
    from clientele.service import services

    _json(services.satisfaction_loyalty(code, weeks))


@app.command("churn")
def churn() -> None:
    """Churn per value tier against the acceptable rate, large customers first, with the reasons."""
    from clientele.service import services

    _json(services.churn_by_tier())


@app.command("win-back")
def win_back(name: str, size: Annotated[int, typer.Option(help="Members on the list.")] = 200) -> None:
    """Build a win-back list: the lapsed members ranked by value at stake."""
    from clientele.service import services

    built = services.build_win_back_list(name, "command:service win-back", size)
    _json(services.win_back_results(built.pk))


@app.command("win-back-results")
def win_back_results(list_id: int) -> None:
    """A win-back list's calls and win-back rate."""
    from clientele.service import services

    _json(services.win_back_results(list_id))
