"""Complaint analysis over 1M complaints and a 100M-line lake (target: 60 s on this machine).

Set-up (not timed): a synthetic lake of --lines lines (`lake.synth`, the products of the Complete
Journey lake in var/bench-service, made by bench_service_survey.py), every customer enrolled with a
nightly profile whose pyramid level is ranked from their spend, and --complaints complaints of real
lake customers on days they shopped (`lake.service_synth.complaints`), bulk-loaded.
Timed: `services.complaint_report` (counts by cause, store, product, category, month; service
levels; repeat complainers and the large ones) and `services.spend_before_and_after` (90 days
around each complainer's first complaint against customers of the same level, from the lake).

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_service_complaints.py [--lines 100000000]
     [--complaints 1000000] [--database-url postgresql://...] [--home /work/lakes/NAME]
     [--lake /work/lakes/synth-100m] [--prepare-only | --reuse]
Prints its figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINES_PER_CUSTOMER = 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000_000)
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--home", type=Path, default=None,
                        help="where the lake (kept and reused) and the SQLite file go; "
                             "default var/bench-service-complaints-LINES")
    parser.add_argument("--lake", type=Path, default=None,
                        help="an existing synthetic lake to read (never written), e.g. /work/lakes/synth-100m, "
                             "instead of synthesising one under --home")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database a previous run loaded when it holds --complaints complaints")
    parser.add_argument("--prepare-only", action="store_true", help="load the database, measure nothing")
    args = parser.parse_args()
    home = args.home or ROOT / "var" / f"bench-service-complaints-{args.lines}"
    os.environ["CLIENTELE_HOME"] = str(home)  # read once by clientele.config, below
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    if not args.reuse:
        (home / "clientele.sqlite3").unlink(missing_ok=True)

    import duckdb

    from clientele.cli import django_setup
    from clientele.lake.synth import synthesize

    lake = args.lake or home / "lake"
    if not (lake / "basket_lines").exists():
        started = time.perf_counter()
        products = ROOT / "var" / "bench-service" / "lake" / "products" / "products.parquet"
        made = synthesize(lake, args.lines // LINES_PER_CUSTOMER, args.lines, products)
        print(f"synthesised {made.lines:,} lines in {time.perf_counter() - started:.0f} s")
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    lines = f"read_parquet('{lake}/basket_lines/**/*.parquet', hive_partitioning=true)"
    con = duckdb.connect()
    if args.reuse:
        call_command("migrate", interactive=False, verbosity=0)
        from clientele.service.models import Complaint

        if Complaint.objects.count() == args.complaints:
            first, last = con.sql(f"select min(transaction_ts)::date, max(transaction_ts)::date from {lines}").fetchall()[0]
            print(f"set-up: reused the {args.complaints:,} complaints of the last run ({connection.vendor})")
            return _measure(first, last, lake)
    call_command("flush" if args.database_url else "migrate", interactive=False, verbosity=0)
    if args.database_url:
        call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    customers = con.sql(f"""
        select customer_id, case when rank <= n * 0.01 then 'VIP' when rank <= n * 0.05 then 'major'
               when rank <= n * 0.20 then 'medium' else 'small' end as pyramid_level
        from (select customer_id, row_number() over (order by sum(sales_value) desc) as rank,
                     count(*) over () as n
              from {lines} where customer_id is not null group by customer_id)""").df()
    visits = con.sql(f"select distinct customer_id, transaction_ts::date as basket_date from {lines} "
                     "where customer_id is not null").df()
    _load(customers, visits, args.complaints, connection)
    print(f"set-up: {len(customers):,} members and profiles, {args.complaints:,} complaints loaded in "
          f"{time.perf_counter() - started:.0f} s ({connection.vendor})")
    if args.prepare_only:
        return
    _measure(visits["basket_date"].min(), visits["basket_date"].max(), lake)


def _measure(first, last, lake: Path) -> None:
    """Time the complaint analysis of the whole period, then the spend step's former way (the lines
    grouped into baskets first) on the same data, for a ratio taken in the same run."""
    from clientele.service import services

    started = time.perf_counter()
    report = services.complaint_report(first, last)
    reported = time.perf_counter() - started
    spend = services.spend_before_and_after(first, last, days=90, lake=lake)
    total = time.perf_counter() - started
    print(f"complaint_report: {report['complaints']:,} complaints, {len(report['large_repeat_complainers']):,} large "
          f"repeat complainers: {reported:.1f} s")
    print(f"spend_before_and_after: {len(spend)} rows: {total - reported:.1f} s")
    print(f"complaint analysis in all: {total:.1f} s (target 60 s: {total / 60:.2f} of it)")
    started = time.perf_counter()
    former = _spend_through_baskets(first, last, lake)
    took = time.perf_counter() - started
    same = sorted(map(_rounded, former)) == sorted(map(_rounded, spend))
    print(f"reference, spend with the lines grouped into baskets first (before this change): {took:.1f} s; "
          f"now / before = {(total - reported) / took:.2f}; same figures: {same}")


def _rounded(row: dict) -> tuple:
    return (row["pyramid_level"], row["complained"], row["customers"], round(float(row["spend_before"]), 2),
            round(float(row["spend_after"]), 2))


def _spend_through_baskets(first, last, lake: Path) -> list[dict]:
    """`services.spend_before_and_after` as it was: the lake's lines grouped into baskets first."""
    import ibis
    import pandas as pd

    from clientele.analytics import complaints as analytics
    from clientele.analytics.baskets import baskets
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines
    from clientele.members.models import CustomerProfile
    from clientele.service.analysis import _received_between

    complained = pd.DataFrame(list(_received_between(first, last).values_list("member__customer_id", "received_at")
                                   .iterator(chunk_size=20_000)), columns=["customer_id", "received_at"])
    complained["received_at"] = pd.to_datetime(complained["received_at"], utc=True, format="ISO8601")
    levels = pd.DataFrame(list(CustomerProfile.objects.exclude(pyramid_level="").values_list(
        "member__customer_id", "pyramid_level").iterator(chunk_size=20_000)), columns=["customer_id", "pyramid_level"])
    con = connect()
    complaints = ibis.memtable(pd.DataFrame({"customer_id": complained["customer_id"],
                                             "complained_on": complained["received_at"].dt.date}))
    result = analytics.spend_around_complaints(baskets(basket_lines(con, lake)), complaints, ibis.memtable(levels),
                                               90)
    return con.execute(result).to_dict("records")


def _load(customers, visits, count: int, connection) -> None:
    """Members, their profiles and `count` complaints, bulk-loaded (a set-up, not the service path)."""
    from django.db import transaction

    from clientele.catalog.models import Store
    from clientele.lake.service_synth import complaints
    from clientele.members.models import CustomerProfile, Member
    from clientele.service.models import Complaint, ComplaintCause

    batch = 20_000
    with transaction.atomic():
        Store.objects.get_or_create(store_id=1)
        Member.objects.bulk_create((Member(customer_id=int(c), join_date=date(2023, 12, 1))
                                    for c in customers["customer_id"]), batch_size=batch)
        ids = dict(Member.objects.values_list("customer_id", "pk"))
        CustomerProfile.objects.bulk_create((CustomerProfile(member_id=ids[int(c)], refreshed_on=date(2026, 1, 1),
                                                             pyramid_level=level)
                                             for c, level in zip(customers["customer_id"],
                                                                 customers["pyramid_level"])), batch_size=batch)
    causes = dict(ComplaintCause.objects.values_list("code", "pk"))
    made = complaints(visits, count, seed=1)
    hours = {"low": (72, 240), "medium": (24, 120), "high": (8, 48), "critical": (2, 24)}

    def rows():
        for c, day, cause, severity in made.itertuples(index=False):
            at = datetime.combine(day, clock(10), tzinfo=timezone.utc)
            answer, resolve = hours[severity]
            yield Complaint(
                member_id=ids[int(c)], channel="store", store_id=1, cause_id=causes[cause], severity=severity,
                what_happened="x", how_it_happened="x", why_unhappy="x", served_by="x", claim_reasonable=True,
                wanted_resolution="x", returning_customer=True, status="resolved", received_at=at,
                first_answer_due=at + timedelta(hours=answer), resolution_due=at + timedelta(hours=resolve),
                first_answered_at=at + timedelta(hours=answer * 0.8), resolved_at=at + timedelta(hours=resolve * 0.9),
                recorded_by="bench")

    with transaction.atomic():
        Complaint.objects.bulk_create(rows(), batch_size=batch)


if __name__ == "__main__":
    main()
