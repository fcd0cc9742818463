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
    """A win-back list's calls and win-back rate; with its campaign, treated against holdout."""
    from clientele.service import services
    from clientele.service.models import WinBackList

    result = services.win_back_results(list_id)
    if WinBackList.objects.filter(pk=list_id, campaign__isnull=False).exists():
        result["treated_vs_holdout"] = services.win_back_by_group(list_id)
    _json(result)


@app.command("win-back-campaign")
def win_back_campaign(list_id: int,
                      days: Annotated[int, typer.Option(help="Days the campaign's window runs.")] = 28,
                      holdout: Annotated[Optional[float], typer.Option(
                          help="Share of the control group, 0-0.5 (default: the campaigns' usual).")] = None) -> None:
    """Make a win-back list a campaign with a random control group that agents never call."""
    from decimal import Decimal

    from clientele.service import services

    campaign = services.win_back_campaign(list_id, "command:service win-back-campaign", days,
                                          None if holdout is None else Decimal(str(holdout)))
    console.print(f"[green]Campaign {campaign.pk}[/] ({campaign.name}): {campaign.assignments.count():,} lapsed "
                  "members drawn; the list's holdout is not to be called")
    _json(services.win_back_by_group(list_id))


@app.command("synth")
def synth(
    complaints: Annotated[int, typer.Option(help="Complaints of real households on days they shopped.")] = 0,
    answers: Annotated[int, typer.Option(help="Answers to a new satisfaction survey, one per household.")] = 0,
    survey: Annotated[str, typer.Option(help="The new survey's code.")] = "synthetic",
    five_to_four: Annotated[float, typer.Option(
        help="Built in: the 5s buy again within --weeks this many times as often as the 4s.")] = 6.0,
    weeks: Annotated[int, typer.Option(help="Weeks after an answer in which buying again counts.")] = 4,
    exit_reasons: Annotated[bool, typer.Option(
        help="Give each lapsed member of the nightly profiles an exit reason.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of every draw: the same seed, the same data.")] = 0,
    truth: Annotated[Optional[Path], typer.Option(help="Write the built-in effects to this JSON file.")] = None,
) -> None:
    """Synthetic complaints, survey answers and exit reasons for the lake's real households, with known
    built-in effects (the 5-to-4 repurchase ratio, the attributes' means), recorded through the desk."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from clientele.service import synthetic

    request = synthetic.SynthRequest(complaints=complaints, answers=answers, survey=survey, five_to_four=five_to_four,
                                     weeks=weeks, exit_reasons=exit_reasons, seed=seed)
    synthetic.check(request)  # a bad option is refused before the lake is read
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        def progress(label: str, total: int):
            task = bar.add_task(label, total=total)
            return lambda done: bar.update(task, completed=done)

        made = synthetic.synthesize(request, progress=progress)
    table = Table(title="Synthetic service-desk data recorded")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, count in (("complaints (closed)", made.complaints), (f"answers to survey {survey}", made.answers),
                         ("exit reasons", made.exit_reasons)):
        table.add_row(label, f"{count:,}")
    console.print(table)
    if made.truth:
        effects = Table(title="Built in (the analysis should recover these)")
        effects.add_column("figure")
        effects.add_column("value", justify="right")
        for score, rate in made.truth["rates"].items():
            effects.add_row(f"repurchase rate of {score}s within {weeks} weeks", f"{rate:.4f}")
        effects.add_row("ratio 5s to 4s", f"{made.truth['five_to_four']:.4f}")
        effects.add_row("weighted index", f"{made.truth['weighted_index']:.4f}")
        effects.add_row("simple mean", f"{made.truth['simple_mean']:.4f}")
        console.print(effects)
        if truth is not None:
            truth.write_text(json.dumps(made.truth, indent=2, default=str), encoding="utf-8")
            console.print(f"built-in effects written to {truth}")
