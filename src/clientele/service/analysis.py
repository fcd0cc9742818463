"""Complaint analysis of a period: the operational tables read once each into Arrow (the period's
complaints, their members, profiles, causes and products; `table_reads`), joined and counted in
DuckDB by `analytics.complaints` (by cause, store, product, category and month; service levels
met; repeat complainers and the large customers among them); and the complainers' spend before
and after against customers who did not complain, from the lake."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import duckdb
import ibis
import pyarrow as pa
from django.db import connection
from django.db.models import DateTimeField, F
from django.db.models.expressions import RawSQL

from clientele.analytics import complaints as analytics
from clientele.catalog.models import Product
from clientele.members.models import CustomerProfile, Member
from clientele.service.models import Complaint, ComplaintCause
from clientele.service.table_reads import INTEGER, MOMENT, TEXT, read_rows

MOMENTS = ("received_at", "first_answered_at", "resolved_at", "first_answer_due", "resolution_due")


#: SQLite reads a period holding more than this share of the complaints by scanning the table in
#: its order rather than through the `received_at` index (a lookup per complaint in index order:
#: with a million complaints, random reads that waited for the disk); PostgreSQL's planner decides
MOST = 0.2


def _received_between(start: date, end: date):
    """The complaints received between `start` and `end`, inclusive UTC days."""
    return Complaint.objects.filter(received_at__gte=datetime.combine(start, time.min, tzinfo=timezone.utc),
                                    received_at__lte=datetime.combine(end, time.max, tzinfo=timezone.utc))


def _scanned_between(start: date, end: date):
    """`_received_between`, and whether the period holds most complaints: on SQLite such a period is
    read by a scan of the table (its filter written `+received_at`, which SQLite does not search
    in the index); counting both is read from the index alone."""
    period = _received_between(start, end)
    if connection.vendor != "sqlite":
        return period, False
    total = Complaint.objects.count()
    if not total or period.count() <= MOST * total:
        return period, False
    unindexed = RawSQL(f"+{connection.ops.quote_name(Complaint._meta.db_table)}.received_at", (),
                       output_field=DateTimeField())
    return Complaint.objects.alias(moment=unindexed).filter(
        moment__gte=datetime.combine(start, time.min, tzinfo=timezone.utc),
        moment__lte=datetime.combine(end, time.max, tzinfo=timezone.utc)), True


def _read(queryset, **columns: pa.DataType) -> pa.Table:
    """`queryset`'s fields named in `columns` (with their types), read in one statement."""
    chosen = queryset.values(**{f"c_{name}": F(name) for name in columns})
    rows = read_rows(chosen, {f"c_{name}": kind for name, kind in columns.items()})
    return rows.rename_columns(list(columns))


def complaints_table(database: duckdb.DuckDBPyConnection, start: date, end: date) -> int:
    """Table `complaint_rows` in `database`, the complaints received between `start` and `end`
    (inclusive, UTC days), one row each, with their member's number, pyramid level and value tier,
    their cause's name and their product's category (columns: `analytics.complaints`). Each table is
    read once, without joins in the operational database (there they were five index searches per
    complaint); DuckDB joins them. Returns how many complaints."""
    period, most = _scanned_between(start, end)
    # most complaints: whole tables in their order; a short period: the rows its complaints name
    members, profiles = Member.objects.all(), CustomerProfile.objects.all()
    products = Product.objects.all() if most else Product.objects.filter(
        product_id__in=period.values("product_id"))
    if not most:
        members = members.filter(id__in=period.values("member_id"))
        profiles = profiles.filter(member_id__in=period.values("member_id"))
    database.register("complaints", _read(period, member_id=INTEGER, **dict.fromkeys(MOMENTS, MOMENT),
                                          severity=TEXT, cause_id=INTEGER, store_id=INTEGER, product_id=INTEGER))
    database.register("members", _read(members, id=INTEGER, customer_id=INTEGER))
    database.register("profiles", _read(profiles, member_id=INTEGER, pyramid_level=TEXT, value_tier=TEXT))
    database.register("causes", _read(ComplaintCause.objects.all(), id=INTEGER, name=TEXT))
    database.register("products", _read(products, product_id=INTEGER, category=TEXT))
    database.execute("""
        CREATE TEMP TABLE complaint_rows AS
        SELECT members.customer_id, complaints.received_at, complaints.first_answered_at, complaints.resolved_at,
               complaints.first_answer_due, complaints.resolution_due, complaints.severity, causes.name AS cause,
               complaints.store_id, complaints.product_id, products.category, profiles.pyramid_level,
               profiles.value_tier
        FROM complaints JOIN members ON members.id = complaints.member_id
        JOIN causes ON causes.id = complaints.cause_id
        LEFT JOIN products USING (product_id)
        LEFT JOIN profiles USING (member_id)""")
    return database.execute("SELECT count(*) FROM complaint_rows").fetchone()[0]


def complaint_report(start: date, end: date) -> dict:
    """The complaint analysis of a period: counts by cause, store, product, category and month;
    service levels met per severity; the 50 most frequent repeat complainers; every large customer
    (VIP, major, platinum or gold) who complained at least twice."""
    database = duckdb.connect()
    counted = complaints_table(database, start, end)
    con = ibis.duckdb.from_connection(database)
    complaints = con.table("complaint_rows")

    def rows(expression) -> list[dict]:
        return con.to_pyarrow(expression).to_pylist()

    counts = {column: rows(expression) for column, expression in analytics.complaint_counts(complaints).items()}
    levels = [row | {"answer_hours": _hours(row["answer_hours"]), "resolution_hours": _hours(row["resolution_hours"])}
              for row in rows(analytics.service_levels_met(complaints))]
    return {"period": {"start": start.isoformat(), "end": end.isoformat()}, "complaints": counted,
            "by": {"cause": counts["cause"], "store": counts["store_id"], "product": counts["product_id"],
                   "category": counts["category"], "month": counts["month"]},
            "service_levels": levels,
            "repeat_complainers": _complainers(rows(analytics.repeat_complainers(complaints).limit(50))),
            "large_repeat_complainers": _complainers(rows(analytics.repeat_complainers(complaints, large_only=True)))}


def _hours(mean: float | None) -> float | None:
    return None if mean is None else round(mean, 2)


def _complainers(rows: list[dict]) -> list[dict]:
    return [{"member_number": row["customer_id"], "complaints": row["complaints"],
             "pyramid_level": row["pyramid_level"] or "", "value_tier": row["value_tier"] or ""} for row in rows]


def spend_before_and_after(start: date, end: date, days: int = 90, lake=None) -> list[dict]:
    """The complainers' mean spend in the `days` days before and after their first complaint of the
    period against customers of the same pyramid level who did not complain, from the lake."""
    from clientele.analytics.baskets import member_lines
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines

    database = duckdb.connect()
    database.register("complaints", _read(_scanned_between(start, end)[0], member_id=INTEGER, received_at=MOMENT))
    database.register("members", _read(Member.objects.all(), id=INTEGER, customer_id=INTEGER))
    database.register("profiles", _read(CustomerProfile.objects.exclude(pyramid_level=""),
                                        member_id=INTEGER, pyramid_level=TEXT))
    complained = database.sql("""SELECT members.customer_id, complaints.received_at::DATE AS complained_on
        FROM complaints JOIN members ON members.id = complaints.member_id""").fetch_arrow_table()
    levels = database.sql("""SELECT members.customer_id, profiles.pyramid_level
        FROM profiles JOIN members ON members.id = profiles.member_id""").fetch_arrow_table()
    if not complained.num_rows or not levels.num_rows:
        return []
    con = connect()
    lines = member_lines(basket_lines(con, lake))
    # the lines' spend by day, not grouped into baskets first: the analysis only sums spend
    spend_lines = lines.select("customer_id", basket_date=lines.transaction_ts.date(), spend=lines.sales_value)
    result = analytics.spend_around_complaints(spend_lines, ibis.memtable(complained), ibis.memtable(levels), days)
    return con.execute(result).to_dict("records")
