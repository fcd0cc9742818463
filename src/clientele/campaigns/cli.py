"""`clientele campaigns ...`: thin commands over `campaigns.services` and `campaigns.measurement`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Campaigns measured against random holdouts: playbooks, launch, send, measure.",
                  no_args_is_help=True)
console = Console()


@app.callback()
def start_django() -> None:
    from clientele.cli import django_setup  # the `clientele` command owns Django's start-up

    django_setup()


@app.command("playbooks")
def playbooks() -> None:
    """The segment playbooks ready to launch (one per lifecycle stage and pyramid level)."""
    from clientele.campaigns.playbooks import PLAYBOOKS

    table = Table("key", "name", "strategy", "audience", "goal", "channels", "trigger")
    for p in PLAYBOOKS.values():
        table.add_row(p.key, p.name, p.strategy, p.audience, f"{p.goal_metric} {Decimal(p.goal_target):+.0%}",
                      ", ".join(p.channels), p.trigger or "-")
    console.print(table)


@app.command("list")
def list_campaigns() -> None:
    """Every campaign with its status and groups."""
    from clientele.campaigns.models import Campaign
    from clientele.campaigns.services import group_counts

    table = Table("id", "name", "status", "goal", "window", "treated", "holdout")
    for c in Campaign.objects.all():
        groups = group_counts(c)
        table.add_row(str(c.id), c.name, c.status, f"{c.goal_metric} {c.goal_target:+.1%}",
                      f"{c.window_start} to {c.window_end}", f"{groups['treated']:,}", f"{groups['holdout']:,}")
    console.print(table)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="The campaign's name.")],
    owner: Annotated[str, typer.Option(help="Who answers for it.")],
    audience: Annotated[str, typer.Option(help="Segment expression, e.g. 'at_risk AND NOT lifecycle=lapsed'.")],
    goal: Annotated[str, typer.Option(help="Goal metric: spend, visits, basket_value, repurchase_rate, churn_rate, "
                                           "reactivation_rate, redemption_rate.")],
    target: Annotated[Decimal, typer.Option(help="Relative lift aimed at: 0.05 = +5%.")],
    start: Annotated[Optional[str], typer.Option(help="First day of the window (YYYY-MM-DD).")] = None,
    end: Annotated[Optional[str], typer.Option(help="Last day of the window: the deadline.")] = None,
    channel: Annotated[Optional[list[str]], typer.Option(help="email, sms, post, till (repeat).")] = None,
    message: Annotated[str, typer.Option(help="The message sent.")] = "",
    holdout: Annotated[Optional[Decimal], typer.Option(help="Holdout share, 0 to 0.5 (default the setting).")] = None,
    fixed_cost: Annotated[Decimal, typer.Option(help="Fixed cost.")] = Decimal("0"),
    cost_per_contact: Annotated[Decimal, typer.Option(help="Cost per message sent.")] = Decimal("0"),
    offer: Annotated[Optional[list[str]], typer.Option(help="Offer code carried (repeat).")] = None,
) -> None:
    """Create a draft campaign."""
    from clientele.campaigns import services

    campaign = services.create_campaign(services.CampaignIn(
        name=name, owner=owner, goal_metric=goal, goal_target=target, window_start=_date(start, "--start"),
        window_end=_date(end, "--end"), audience=audience, channels=tuple(channel or ()), message=message,
        holdout_share=holdout, fixed_cost=fixed_cost, cost_per_contact=cost_per_contact, offer_codes=tuple(offer or ())))
    console.print(f"[green]Campaign {campaign.id}[/] {campaign.name}: draft (launch it with "
                  f"`clientele campaigns launch {campaign.id}`)")


@app.command("from-playbook")
def from_playbook(
    key: Annotated[str, typer.Argument(help="Playbook key (see `clientele campaigns playbooks`).")],
    owner: Annotated[str, typer.Option(help="Who answers for it.")],
    start: Annotated[Optional[str], typer.Option(help="First day of the window; default tomorrow.")] = None,
) -> None:
    """Create a draft campaign from a playbook."""
    from clientele.campaigns import services

    campaign = services.create_from_playbook(key, owner, _date(start, "--start"))
    console.print(f"[green]Campaign {campaign.id}[/] {campaign.name}: audience {campaign.audience!r}, window "
                  f"{campaign.window_start} to {campaign.window_end}, holdout {campaign.holdout_share:.0%}")


@app.command("launch")
def launch(campaign_id: Annotated[int, typer.Argument(help="Campaign id.")]) -> None:
    """Draw the audience from the last refresh and its random holdout (stored once)."""
    from clientele.campaigns import services

    counts = services.launch(campaign_id)
    console.print(f"[green]Launched[/]: {counts['treated']:,} treated, {counts['holdout']:,} in the holdout")


@app.command("trigger")
def trigger(campaign_id: Annotated[int, typer.Argument(help="Campaign id.")]) -> None:
    """Add the members the campaign's trigger names since the last run (after each refresh)."""
    from clientele.campaigns import services

    added = services.add_triggered_members(campaign_id)
    console.print(f"Added {added['treated']:,} treated, {added['holdout']:,} held out")


@app.command("send")
def send(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    channel: Annotated[str, typer.Option(help="email, sms or post.")],
    out: Annotated[Optional[Path], typer.Option(help="post: the mailing house's CSV file.")] = None,
) -> None:
    """Send to the consenting treated members on one channel; run again to retry the failed."""
    from clientele.campaigns import services

    counts = services.send(campaign_id, channel, out)
    console.print(", ".join(f"{n:,} {status}" for status, n in counts.items()))


@app.command("end")
def end(campaign_id: Annotated[int, typer.Argument(help="Campaign id.")]) -> None:
    """End a running campaign."""
    from clientele.campaigns import services

    services.end_campaign(campaign_id)
    console.print(f"Campaign {campaign_id} ended")


@app.command("measure")
def measure(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    as_json: Annotated[bool, typer.Option("--json", help="The whole measurement as JSON.")] = False,
    engine: Annotated[Optional[str], typer.Option(help="duckdb or spark (default CLIENTELE_ENGINE).")] = None,
) -> None:
    """Lift against the holdout with 95% intervals, variance-reduced, per stratum, and ROI."""
    from clientele.campaigns.measurement import measure_campaign

    result = measure_campaign(campaign_id, engine)
    if as_json:
        print(json.dumps(result, default=str, indent=2))
        return
    console.print(f"[bold]{result['name']}[/] ({result['label']})")
    for line in result["sentences"]:
        console.print(f"- {line}")
    table = Table("metric", "method", "treated", "holdout", "lift", "95% interval", "p")
    for name, lift in {**result["lifts"], **{f"{k} (CUPED)": v for k, v in result["adjusted"].items()}}.items():
        relative = "-" if lift["relative"] is None else f"{lift['relative']:+.1%}"
        interval = "-" if lift["relative"] is None else f"{lift['relative_low']:+.1%} to {lift['relative_high']:+.1%}"
        table.add_row(name, lift["method"], f"{lift['treated']:.3f}", f"{lift['holdout']:.3f}", relative, interval,
                      f"{lift['p_value']:.3f}")
    console.print(table)
    console.print(f"[dim]{result['analysis']}[/]")


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from None


@app.command("past")
def past(engine: Annotated[Optional[str], typer.Option(help="duckdb or spark (default CLIENTELE_ENGINE).")] = None,
         recompute: Annotated[bool, typer.Option(help="Compute again even if the lake has not changed.")] = False) -> None:
    """The Complete Journey's own campaigns: redemption rates and, observationally, the targeted
    households' spend against untargeted households matched on pre-campaign spend and visits."""
    from clientele.campaigns.past import past_campaign_rows

    rows = past_campaign_rows(engine, recompute=recompute)["rows"]
    table = Table("campaign", "type", "dates", "targeted", "redeemed", "redemption rate (95%)",
                  "spend/household targeted vs matched", "difference (95%)")
    for row in rows:
        rate = "-" if row["redemption_rate"] is None else (
            f"{row['redemption_rate']:.1%} ({row['redemption_low']:.1%}-{row['redemption_high']:.1%})")
        compared = row["comparison"]
        spend = "-" if compared is None else f"{compared['treated']:.2f} vs {compared['holdout']:.2f}"
        difference = "-" if compared is None else (
            f"{compared['difference']:+.2f} ({compared['difference_low']:+.2f} to {compared['difference_high']:+.2f})")
        table.add_row(str(row["campaign_id"]), row["campaign_type"], f"{row['start']} to {row['end']}",
                      f"{row['targeted']:,}", f"{row['redeemers']:,}", rate, spend, difference)
    console.print(table)
    console.print("[dim]Observational: no random holdout was kept for these campaigns; the comparison is with "
                  "untargeted households of the same pre-campaign spend quintile and visit band, not a causal lift.[/]")
