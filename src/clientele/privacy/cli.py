"""`clientele privacy ...`: the data protection officer's commands, thin over the privacy services."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Personal data: consent, access exports, erasure, retention.", no_args_is_help=True)
console = Console()


@app.callback()
def start_django() -> None:
    from clientele.cli import django_setup

    django_setup()


@app.command("export")
def export(
    member: Annotated[int, typer.Argument(help="Member number (a merged-away number answers for its survivor).")],
    out: Annotated[Optional[Path], typer.Option(help="Folder for the archive; default <home>/privacy/access.")] = None,
) -> None:
    """Access request: write one archive (member.json plus a CSV per section) with everything held about the member."""
    from clientele.privacy.access import export_member

    archive = export_member(member, folder=out)
    table = Table(title=f"Access archive of member {archive.customer_id}"
                  + (f" (asked for {archive.asked_for}, merged into it)" if archive.asked_for != archive.customer_id else ""))
    table.add_column("section")
    table.add_column("rows", justify="right")
    for name, rows in archive.sections.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"written to {archive.path}")


@app.command("erase")
def erase(
    member: Annotated[int, typer.Argument(help="Member number (a merged-away number answers for its survivor).")],
    reason: Annotated[str, typer.Option(help="Why (the member's request, its date and channel).")],
    requested_by: Annotated[str, typer.Option(help="Who asks for the erasure.")],
    approved_by: Annotated[str, typer.Option(help="A second person who approves it.")],
) -> None:
    """Erase the member's personal data everywhere; the ledger and baskets stay under the member
    number, now a pseudonym. Asked again: the same answer."""
    from clientele.privacy.erasure import erase_member

    answer = erase_member(member, reason=reason, requested_by=requested_by, approved_by=approved_by)
    table = Table(title=f"Erasure of member {answer.customer_id}: {answer.status} (request {answer.request_id})")
    table.add_column("what")
    table.add_column("rows or files", justify="right")
    for name, count in answer.summary.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


@app.command("consent")
def show_consent(member: Annotated[int, typer.Argument(help="Member number.")]) -> None:
    """The member's consent now, and its history."""
    from clientele.privacy.consent import consent_history, current_consents
    from clientele.privacy.identity import find_member

    found = find_member(member)
    now = Table(title=f"Consent of member {found.customer_id}")
    for column in ("purpose", "channel", "granted", "since", "source", "text"):
        now.add_column(column)
    for s in current_consents(found):
        now.add_row(s.purpose, s.channel or "-", "yes" if s.granted else "no",
                    s.occurred_at.isoformat() if s.occurred_at else "(default)", s.source or "", s.text_version or "")
    console.print(now)
    history = consent_history(found)
    if history:
        console.print_json(json.dumps(history))


@app.command("record-consent")
def record(
    member: Annotated[int, typer.Argument(help="Member number.")],
    purpose: Annotated[str, typer.Option(help="profiling or marketing.")],
    granted: Annotated[bool, typer.Option("--granted/--withdrawn", help="Given or withdrawn.")],
    source: Annotated[str, typer.Option(help="till, web, service desk or import.")],
    text_version: Annotated[str, typer.Option(help="Version of the consent text the member saw.")],
    channel: Annotated[str, typer.Option(help="email, sms or post (marketing only).")] = "",
    at: Annotated[Optional[str], typer.Option(help="When the member said it (ISO time with zone); default now.")] = None,
) -> None:
    """Record a consent given or withdrawn (e.g. on a paper form at the service desk)."""
    from datetime import timezone

    from clientele.privacy.consent import record_consent
    from clientele.privacy.errors import BadConsent
    from clientele.privacy.identity import find_member

    try:
        moment = datetime.fromisoformat(at) if at else datetime.now(timezone.utc)
    except ValueError:
        raise BadConsent(f"--at: {at!r} is not an ISO time (e.g. 2026-12-06T10:00:00+00:00)") from None
    found = find_member(member)
    record_consent(found, purpose, channel, granted, occurred_at=moment, source=source,
                   text_version=text_version, recorded_by="clientele privacy record-consent")
    console.print(f"recorded; member {found.customer_id}: "
                  f"email {found.email_consent}, sms {found.sms_consent}, post {found.post_consent}, "
                  f"profiling {found.profiling_consent}")


@app.command("retention")
def retention(
    apply: Annotated[bool, typer.Option("--apply", help="Carry it out; without it, a dry run that only reports.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Also write the report as JSON here.")] = None,
) -> None:
    """The retention step (nightly): contact data of long-inactive members, cards on old baskets."""
    from clientele.privacy.retention import run_retention

    report = run_retention(apply=apply)
    table = Table(title=f"Retention ({'applied' if apply else 'dry run'}; as of {report['as_of']})")
    table.add_column("rule")
    table.add_column("cutoff")
    table.add_column("rows", justify="right")
    for rule in report["rules"]:
        table.add_row(rule["rule"], rule["cutoff"], f"{rule['rows']:,}")
    console.print(table)
    if out is not None:
        out.write_text(json.dumps(report, indent=1))
