"""`clientele identity ...`: thin commands over `identity.sources`, `identity.services` and `identity.merging`."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from clientele.cli_types import EngineOption

app = typer.Typer(help="One customer, one ID: contact sources, scored matching, review queue, merges.",
                  no_args_is_help=True)
console = Console()


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@app.callback()
def start_django() -> None:
    from clientele.cli import django_setup  # the `clientele` command owns Django's start-up

    django_setup()


@app.command("import")
def import_contacts(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of contact records.")],
    mapping: Annotated[Optional[Path], typer.Option(help="TOML mapping of the file's columns (docs/identity.md).")] = None,
    source: Annotated[Optional[str], typer.Option(help="The source system, e.g. online_shop (or in the mapping).")] = None,
) -> None:
    """Import a source system's contacts: every row loaded or quarantined with its reason."""
    from clientele.identity.sources import import_contacts as run

    result = run(file, mapping, source=source, actor=_actor())
    table = Table("source", "read", "loaded", "new", "updated", "quarantined")
    table.add_row(result.source, f"{result.rows_read:,}", f"{result.rows_loaded:,}", f"{result.created:,}",
                  f"{result.updated:,}", f"{result.rows_quarantined:,}")
    console.print(table)
    for reason, count in sorted(result.reasons.items()):
        console.print(f"  quarantined: {count:,} x {reason}")
    if result.quarantine_file:
        console.print(f"Quarantine file: {result.quarantine_file}")


@app.command("resolve")
def resolve(engine: EngineOption = None) -> None:
    """Score members and contacts; link above the upper threshold, queue for review between (nightly step)."""
    from clientele.config import settings
    from clientele.identity.services import resolve as run

    from clientele.identity.lake_export import export_golden_ids

    chosen = engine.value if engine else settings().engine
    with console.status(f"Scoring candidate pairs with Splink on {chosen}"):
        counts = run(actor="command:identity resolve", engine=chosen)
    counts["golden_ids"] = export_golden_ids()
    table = Table("records", "pairs scored", "linked automatically", "members merged", "sent to review",
                  "already decided", "merged ids in the lake")
    table.add_row(*(f"{counts[k]:,}" for k in ("records", "pairs_scored", "auto_linked", "merged", "to_review",
                                                "already_decided", "golden_ids")))
    console.print(table)


@app.command("merge")
def merge(
    survivor: Annotated[int, typer.Argument(help="Member number that stays.")],
    absorbed: Annotated[int, typer.Argument(help="Member number merged into it (closed).")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "merged by hand",
) -> None:
    """Merge member ABSORBED into member SURVIVOR: cards, points, baskets, complaints move."""
    from clientele.identity.merging import merge_members

    from clientele.identity.lake_export import export_golden_ids

    done = merge_members(survivor, absorbed, actor=_actor(), reason=reason)
    export_golden_ids()
    moved = done.moved
    console.print(f"[green]Merge {done.pk}[/]: member {absorbed} into {survivor}: {len(moved['cards'])} cards, "
                  f"{sum(g['points'] for g in moved['points']):,} points, {len(moved['baskets'])} baskets, "
                  f"{len(moved['complaints'])} complaints moved")


@app.command("unmerge")
def unmerge(
    merge_id: Annotated[int, typer.Argument(help="The merge's number (clientele identity merges).")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "undone by hand",
) -> None:
    """Undo a merge exactly: everything it moved goes back (points by compensating entries)."""
    from clientele.identity.merging import unmerge as run

    from clientele.identity.lake_export import export_golden_ids

    done = run(merge_id, actor=_actor(), reason=reason)
    export_golden_ids()
    console.print(f"[green]Merge {done.pk} undone[/]: member {done.absorbed.customer_id} is apart from "
                  f"{done.survivor.customer_id} again")


@app.command("merges")
def merges() -> None:
    """The merges, newest first, with who, when, why and their undo."""
    from clientele.identity.models import Merge

    table = Table("merge", "survivor", "absorbed", "by", "at (UTC)", "reason", "undone")
    for m in Merge.objects.select_related("survivor", "absorbed").order_by("-pk")[:200]:
        table.add_row(str(m.pk), str(m.survivor.customer_id), str(m.absorbed.customer_id), m.merged_by,
                      f"{m.merged_at:%Y-%m-%d %H:%M}", m.reason,
                      f"{m.undone_by} {m.undone_at:%Y-%m-%d %H:%M}" if m.undone_at else "")
    console.print(table)


@app.command("review")
def review(
    accept: Annotated[Optional[int], typer.Option(help="Accept this pair (link or merge).")] = None,
    reject: Annotated[Optional[int], typer.Option(help="Reject this pair (never proposed again).")] = None,
) -> None:
    """The review queue (pairs between the thresholds), or accept/reject one pair."""
    from clientele.identity.models import CandidatePair
    from clientele.identity.services import decide

    if accept is not None or reject is not None:
        pair = decide(accept if accept is not None else reject, accept=accept is not None, reviewer=_actor())
        console.print(f"Pair {pair.pk}: {pair.get_status_display()}")
        return
    table = Table("pair", "left", "right", "probability", "agree", "disagree")
    for p in CandidatePair.objects.filter(status="review").order_by("-match_probability")[:200]:
        table.add_row(str(p.pk), p.left_ref, p.right_ref, f"{p.match_probability:.4f}",
                      ", ".join(f["field"] for f in p.fields if f["agreement"] == "agree"),
                      ", ".join(f["field"] for f in p.fields if f["agreement"] == "disagree"))
    console.print(table)
