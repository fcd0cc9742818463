"""`clientele refresh | segments | export | synth`: thin commands over the refresh and the results."""

from __future__ import annotations

from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from clientele.cli_types import EngineOption, iso_date

app = typer.Typer(help="Customer analytics: the nightly refresh, segments and exports.", no_args_is_help=True)
console = Console()



class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


class Channel(str, Enum):
    email = "email"
    sms = "sms"
    post = "post"


@app.command("refresh")
def refresh_command(
    engine: EngineOption = None,
    as_of: Annotated[
        Optional[date], typer.Option(parser=iso_date, help="Last day described, YYYY-MM-DD (default: latest basket).")
    ] = None,
    window_days: Annotated[int, typer.Option(min=1, help="Days of history behind RFM, pyramid, value and habits.")] = 365,
    restart: Annotated[bool, typer.Option(
        help="Recompute every step from every line, even those already done today.")] = False,
    full: Annotated[bool, typer.Option(
        help="Read every line instead of rolling the last refresh's state forward with the new days (docs/analytics.md).")] = False,
    sync: Annotated[bool, typer.Option(help="First append the till's new baskets to the lake (clientele lake sync).")] = True,
    serve: Annotated[
        bool, typer.Option(help="Write each customer's profile to the operational database for the till and back office.")
    ] = True,
    apply_retention: Annotated[bool, typer.Option(
        help="Apply the retention rules (docs/privacy.md); without it the refresh only reports what they would change.")] = False,
) -> None:
    """The nightly refresh: lake sync, every customer result to <lake>/results/ (resumable), serving profiles, lists, dashboard."""
    from clientele.refresh import RefreshOptions, customer_profiles, refresh

    if sync or serve:
        from clientele.cli import django_setup

        django_setup()
        from clientele.loyalty.integrity import check_no_orphans

        check_no_orphans()  # fails the refresh, naming them, when any row of the till's lost its parent
    if sync:
        from clientele.loyalty.lake_sync import sync_lake

        synced = sync_lake()
        console.print(f"Lake sync: {synced['lines']:,} lines from the tills in {synced['imports']} imports")

    result = refresh(engine=engine, as_of=as_of, restart=restart, full=full,
                     options=RefreshOptions(window_days=window_days), console=console)
    table = Table(title=f"Refresh of {result.refresh_date} (as of {result.as_of}): {result.mode}")
    for column in ("result", "rows", "seconds"):
        table.add_column(column, justify="left" if column == "result" else "right")
    for name, rows in result.rows.items():
        seconds = "resumed" if name in result.resumed else f"{result.seconds[name]:.2f}"
        table.add_row(name, f"{rows:,}", seconds)
    console.print(table)
    if serve:
        from clientele.cli import django_setup

        django_setup()
        from clientele.members.services import write_customer_profiles

        written = write_customer_profiles(customer_profiles(engine=engine), refreshed_on=result.refresh_date)
        console.print(f"Customer profiles served to the till and back office: {written:,}")
        from clientele.analytics.results import till_contexts
        from clientele.engine import connect
        from clientele.members.services import write_till_context

        written = write_till_context(till_contexts(connect(engine)), refreshed_on=result.refresh_date)
        console.print(f"Till context (top categories, last purchase) served to identify: {written:,}")
        from clientele.care.services import list_follow_ups

        console.print(f"After-sales calls listed (large purchases of high-value members): {list_follow_ups():,}")
        _serve_lists(engine, result.refresh_date)
        from clientele.backoffice.dashboard import store_nightly

        stored = store_nightly(result.refresh_date)
        console.print(f"Dashboard figures of {stored.period_start} to {stored.period_end} stored for the back office")
        from clientele.privacy.retention import nightly_retention

        report, path = nightly_retention(apply=apply_retention)
        changes = ", ".join(f"{rule['rows']:,} {rule['rule']}" for rule in report["rules"])
        console.print(f"Retention ({'applied' if apply_retention else 'dry run'}): {changes} (report {path})")
        from clientele.portal.cli import purged_line
        from clientele.portal.housekeeping import purge_sign_in_records

        console.print(f"Portal sign-in records purged: {purged_line(purge_sign_in_records())}")


def _serve_lists(engine: str | None, today: date) -> None:
    """The refresh's shopping lists step: new lists when the cycle (CLIENTELE_LIST_CYCLE_DAYS) is due."""
    from clientele.analytics.shopping_lists import ListRules, read_list_inputs
    from clientele.engine import connect
    from clientele.offers.lists import generate_lists, lists_due

    rules = ListRules.configured()
    if not lists_due(today, rules):
        console.print(f"Shopping lists: not due (every {rules.cycle_days} days)")
        return
    lists = generate_lists(read_list_inputs(connect(engine), rules=rules), datetime.now(timezone.utc), rules)
    console.print(f"Shopping lists: {lists.lists:,} members ({lists.items:,} items, {lists.offers:,} offers)")


@app.command("segments")
def segments_command(
    category: Annotated[Optional[str], typer.Option(help="Show the nine brand-loyalty cells of this category.")] = None,
    engine: EngineOption = None,
) -> None:
    """The last refresh's segments: pyramid, RFM grid, lifecycle stages (and nine cells of --category)."""
    from clientele import analytics
    from clientele.analytics.results import read_result, segment_vocabulary
    from clientele.reports.summary import pyramid_rule_of, rule_text
    from clientele.engine import connect

    con = connect(engine)
    profiles = read_result(con, "customer_profiles")
    pyramid = analytics.level_summary(profiles, "monetary").execute().set_index("pyramid_level")
    table = Table(title="Customer pyramid (last refresh)", caption=rule_text(pyramid_rule_of(read_result(con, "pyramid"))))
    for column in ("level", "customers", "share of customers", "share of spend"):
        table.add_column(column, justify="left" if column == "level" else "right")
    for level in analytics.pyramid.LEVELS:
        if level in pyramid.index:
            row = pyramid.loc[level]
            table.add_row(level, f"{int(row.customers):,}", f"{row.customer_share:.1%}", f"{row.value_share:.1%}")
    console.print(table)
    console.print(_rfm_grid(analytics.segment_grid_counts(read_result(con, "rfm")).execute()))
    stages = read_result(con, "lifecycle")
    counts = stages.group_by(["lifecycle_stage", "exit_pattern"]).aggregate(customers=stages.count()).execute()
    table = Table(title="Lifecycle stages")
    for column in ("stage", "exit pattern", "customers"):
        table.add_column(column, justify="right" if column == "customers" else "left")
    for row in counts.sort_values(["lifecycle_stage", "customers"], ascending=[True, False]).itertuples():
        table.add_row(row.lifecycle_stage, row.exit_pattern if isinstance(row.exit_pattern, str) else "",
                      f"{row.customers:,}")
    console.print(table)
    if category:
        category = segment_vocabulary(con).canonical("category", category)
        cells = analytics.cell_counts(read_result(con, "brand_loyalty"), category).execute()
        console.print(_nine_cells(category, cells))


def _rfm_grid(counts) -> Table:
    """Customers per (R, FM) cell, each cell labelled with its segment."""
    table = Table(title="RFM grid: recency score (rows) x frequency-monetary score (columns)")
    table.add_column("R \\ FM")
    for fm in range(1, 6):
        table.add_column(str(fm), justify="right")
    cells = {(row.r_score, row.fm_score): row for row in counts.itertuples()}
    for r in range(5, 0, -1):
        table.add_row(str(r), *[
            f"{cells[(r, fm)].customers:,}\n[dim]{cells[(r, fm)].rfm_segment}[/]" if (r, fm) in cells else "-"
            for fm in range(1, 6)
        ])
    return table


def _nine_cells(category: str, cells) -> Table:
    """Customers and spend of one category's brand loyalty x usage cells."""
    table = Table(title=f"{category}: brand loyalty x usage (customers, spend)")
    table.add_column("loyalty \\ usage")
    for usage in ("low", "medium", "high"):
        table.add_column(usage, justify="right")
    found = {(row.brand_loyalty, row.usage): row for row in cells.itertuples()}
    for loyalty in ("national", "switcher", "store"):
        table.add_row(loyalty, *[
            f"{found[(loyalty, u)].customers:,} / {found[(loyalty, u)].spend:,.0f}" if (loyalty, u) in found else "0"
            for u in ("low", "medium", "high")
        ])
    return table


@app.command("export")
def export_command(
    segment: Annotated[str, typer.Argument(help=(
        "A segment expression: FIELD=VALUE conditions and flags joined by AND, OR, NOT and parentheses, "
        "values in any case, e.g. \"pyramid=VIP OR (rfm=champions AND NOT at_risk)\". Fields: rfm, pyramid, "
        "value_class, value_tier (predicted lifetime value), loyalty_tier (the programme's tier), lifecycle, exit, "
        "category, cell=CATEGORY/LOYALTY/USAGE, trait, offer_trait; flags: narrow, gone_top, at_risk."))],
    out: Annotated[Path, typer.Option(help="File to write.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or parquet.")] = ExportFormat.csv,
    channel: Annotated[Channel, typer.Option(help="Channel the members must consent to: email, sms or post.")] = Channel.email,
    ids_only: Annotated[bool, typer.Option(help="Customer ids only, no contact fields (no consent needed).")] = False,
    engine: EngineOption = None,
) -> None:
    """Write a segment's members for a mailing: ids, names and contacts of those who consented."""
    import ibis
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    from clientele.analytics.results import parse_segment
    from clientele.engine import connect

    con = connect(engine)
    parsed = parse_segment(con, segment)  # a mistake is told before the operational database is opened
    from clientele.cli import django_setup

    django_setup()
    from clientele.members.selectors import segment_customer_ids

    customer_ids = segment_customer_ids(con, segment)
    if ids_only:
        rows = [{"customer_id": customer_id} for customer_id in customer_ids]
    else:
        from clientele.members.selectors import contacts_for_customers

        rows = contacts_for_customers(customer_ids, channel=channel.value)
    columns = ["customer_id"] if ids_only else ["customer_id", "first_name", "last_name", "email", "phone"]
    table = pa.Table.from_pylist(rows, schema=pa.schema([(c, pa.int64() if c == "customer_id" else pa.string())
                                                          for c in columns]))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == ExportFormat.csv:
            pa_csv.write_csv(table, out)
        else:
            pq.write_table(table, out)
    except OSError as error:  # pyarrow's own errors name no file: say which and why
        raise typer.BadParameter(f"cannot write {out}: {error.strerror or error}", param_hint="--out") from None
    if not ids_only:  # names and contacts: an erasure must find the file (privacy.files)
        from clientele.privacy.files import register_export

        register_export(out)
    left_out = "" if ids_only else f" ({len(customer_ids) - len(rows):,} without {channel.value} consent left out)"
    console.print(f"{segment}: {len(customer_ids):,} customers, {len(rows):,} written to {out}{left_out}")
    if "pyramid" in parsed.fields():
        from clientele.analytics.results import read_result
        from clientele.reports.summary import pyramid_rule_of, rule_text

        console.print(f"Pyramid of the last refresh: {rule_text(pyramid_rule_of(read_result(con, 'pyramid')))}")


@app.command("synth")
def synth_command(
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")],
    lines: Annotated[int, typer.Option(min=1, help="About how many basket lines.")],
    out: Annotated[Path, typer.Option(help="Folder of the synthetic lake.")],
    months: Annotated[int, typer.Option(min=1, help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Same seed, same lake.")] = 42,
    products: Annotated[Optional[Path], typer.Option(help="Products Parquet (default: the lake's).")] = None,
) -> None:
    """Write a synthetic lake (basket_lines by month + products) with a realistic shape, any size."""
    from clientele.config import settings
    from clientele.lake.synth import synthesize

    products_file = products or settings().lake_path / "products" / "products.parquet"
    if not products_file.exists():
        raise typer.BadParameter(f"no products table at {products_file}: import the Complete Journey first "
                                 "or pass --products", param_hint="--products")
    result = synthesize(out, customers, lines, products_file, months=months, seed=seed, console=console)
    console.print(f"{result.lines:,} lines in {result.baskets:,} baskets of {result.customers:,} customers over "
                  f"{result.months} months -> {result.out}")
