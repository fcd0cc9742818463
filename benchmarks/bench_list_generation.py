"""Shopping-list generation at chain scale from a synthetic lake (issue 19: 1M members, <= 3 min, <= 4 GB).

Synthesises a lake (`clientele synth`, the Complete Journey's products), refreshes it (not timed:
the nightly refresh has its own figures), loads the members and products into a fresh SQLite
operational database, then times the two halves of `clientele lists generate`, each printed:
the engine's part (the qualifying members' due products, brand cells, prices: `read_list_inputs`)
and the operational part (offers matched, lists and items written: `generate_lists`), with the
process's peak resident memory.

    .venv/bin/python benchmarks/bench_list_generation.py --customers 100000 --lines 10000000 --home var/bench-lists

The operational database is the settings' (DATABASE_URL for PostgreSQL). `--prepare-only` stops
after the lake, the members and their profiles are in place: a second run then times the generation
alone, so `/usr/bin/time -v` reports its own peak memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from datetime import date, datetime, timezone
from pathlib import Path


def backend_cpu() -> float | None:
    """CPU seconds the PostgreSQL backend of Django's connection has used (from /proc), None on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--home", type=Path, default=Path("var/bench-lists"))
    parser.add_argument("--products", type=Path, default=Path("var/lake/products/products.parquet"))
    parser.add_argument("--weekly-spend", type=float, default=None,
                        help="recompute the list candidates with this threshold (a synthetic lake spends less)")
    parser.add_argument("--due-per-member", type=int, default=None,
                        help="give every customer of the lake this many due products (their most bought): "
                             "the synthetic lake's forecasts find few repeat purchases, a chain's members have lists")
    parser.add_argument("--prepare-only", action="store_true", help="synthesise and refresh the lake, then stop")
    arguments = parser.parse_args()
    home = arguments.home.resolve()
    os.environ["CLIENTELE_HOME"] = str(home)  # a benchmark's own home: set before the settings are read
    lake = home / "lake"
    print(f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}, {os.cpu_count()} cores")

    from clientele.lake.synth import synthesize
    from clientele.refresh import customer_profiles, refresh

    if not (lake / "results" / "list_candidates").exists():
        started = time.perf_counter()
        synthesize(lake, arguments.customers, arguments.lines, arguments.products.resolve(), months=arguments.months)
        print(f"lake synthesised in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        refresh(lake=lake, refresh_date=date.today())
        print(f"refresh in {time.perf_counter() - started:.0f} s (not part of the figure)")

    if arguments.weekly_spend is not None:
        _recompute_candidates(lake, arguments.weekly_spend)
    if arguments.due_per_member is not None:
        _dense_candidates(lake, arguments.due_per_member)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")
    django.setup()
    from django.core.management import call_command

    from clientele.analytics.shopping_lists import ListRules, read_list_inputs
    from clientele.engine import connect
    from clientele.members.services import write_customer_profiles
    from clientele.offers.lists import generate_lists

    from clientele.members.models import Member

    call_command("migrate", verbosity=0)
    if arguments.prepare_only or not Member.objects.exists():  # every customer of the lake a member
        started = time.perf_counter()
        _load_reference(lake)
        from django.db import connection

        if connection.vendor == "postgresql":  # a million members: copied, not one object each
            _copy_members_and_profiles(lake)
        else:
            write_customer_profiles(customer_profiles(lake=lake), refreshed_on=date.today())
        print(f"members and profiles loaded in {time.perf_counter() - started:.0f} s (not part of the figure)")
    if arguments.prepare_only:
        return
    print(f"offers in force: {_bench_offers(lake)}")
    rules = ListRules.configured()
    baseline = peak_mb()
    started, cpu = time.perf_counter(), time.process_time()
    inputs = read_list_inputs(connect("duckdb"), lake, rules)
    engine_wall, engine_cpu = time.perf_counter() - started, time.process_time() - cpu
    members = len(inputs.candidates.column("customer_id").unique())
    print(f"engine part: {inputs.candidates.num_rows:,} listed products of {members:,} members in {engine_wall:.1f} s "
          f"({engine_cpu:.1f} CPU s), peak {peak_mb():,.0f} MB (before: {baseline:,.0f} MB)")
    database = backend_cpu()
    started, cpu = time.perf_counter(), time.process_time()
    result = generate_lists(inputs, datetime.now(timezone.utc), rules)
    write_wall, write_cpu = time.perf_counter() - started, time.process_time() - cpu
    database = f", PostgreSQL {backend_cpu() - database:.1f} CPU s" if database is not None else ""
    print(f"operational part: {result.lists:,} lists, {result.items:,} items ({result.offers:,} with an offer) in "
          f"{write_wall:.1f} s ({write_cpu:.1f} CPU s here{database}), peak {peak_mb():,.0f} MB")
    members = max(result.lists, 1)
    total = engine_wall + write_wall
    print(f"total {total:.1f} s for {result.lists:,} members: {total / members * 1e6 / 60:.1f} min per 1M members "
          "at this rate")


def _recompute_candidates(lake: Path, weekly_spend: float) -> None:
    """The refresh's list_candidates again, with another spend threshold, from its own results."""
    import shutil

    from clientele.analytics.results import read_result
    from clientele.analytics.shopping_lists import ListRules, list_candidates
    from clientele.engine import connect

    con = connect("duckdb")
    baskets = read_result(con, "baskets", lake)
    as_of = baskets.basket_date.max().execute()
    candidates = list_candidates(baskets, read_result(con, "next_purchases", lake), as_of,
                                 ListRules(weekly_spend_threshold=weekly_spend))
    staged = lake / "results" / "_staging_candidates"
    staged.mkdir(parents=True, exist_ok=True)
    con.to_parquet(candidates, staged / "part-0.parquet")
    shutil.rmtree(lake / "results" / "list_candidates")
    staged.rename(lake / "results" / "list_candidates")


def _bench_offers(lake: Path) -> int:
    """The offers a chain runs while lists are generated (made once, not timed): for each of the
    lake's five largest departments a percent off for everyone, an amount off its largest category,
    and a personal store-brand offer on that category (the brand-cell move), 15 offers in all."""
    from decimal import Decimal

    import duckdb

    from clientele.offers import services
    from clientele.offers.models import Offer

    if Offer.objects.filter(code__startswith="bench-gen-").exists():
        return Offer.objects.filter(code__startswith="bench-gen-").count()
    con = duckdb.connect()
    largest = con.execute(f"""
        SELECT department, arg_max(category, n) FROM (
            SELECT department, category, count(*) AS n FROM read_parquet('{lake}/products/*.parquet')
            WHERE department IS NOT NULL AND category IS NOT NULL GROUP BY ALL)
        GROUP BY department ORDER BY sum(n) DESC LIMIT 5""").fetchall()
    start, end = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)
    for n, (department, category) in enumerate(largest):
        services.save_offer(Offer(code=f"bench-gen-{n}-dept", name=f"5% off {department}", target="department",
                                  department=department, benefit="percent_off", percent=Decimal("5"),
                                  valid_from=start, valid_until=end, budget_money=Decimal("1000000")))
        services.save_offer(Offer(code=f"bench-gen-{n}-cat", name=f"0.50 off {category}", target="category",
                                  category=category, benefit="amount_off", amount=Decimal("0.50"),
                                  valid_from=start, valid_until=end, per_member_limit=2))
        services.save_offer(Offer(code=f"bench-gen-{n}-move", name=f"1.00 off store-brand {category}",
                                  target="category", category=category, brand_type="Private",
                                  benefit="amount_off", amount=Decimal("1.00"), eligibility="personal",
                                  valid_from=start, valid_until=end))
    return Offer.objects.filter(code__startswith="bench-gen-").count()


def _dense_candidates(lake: Path, due: int) -> None:
    """`list_candidates` with every customer's `due` most bought products, due in the next 14 days
    (most bought first), in place of the forecasts' few."""
    import shutil

    import duckdb

    staged = lake / "results" / "_staging_candidates"
    staged.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"""
        COPY (
            WITH bought AS (
                SELECT customer_id, product_id, count(*) AS n, sum(sales_value) AS sales
                FROM read_parquet('{lake}/basket_lines/**/*.parquet', hive_partitioning = true) GROUP BY ALL
            ), as_of AS (SELECT max(basket_date) AS day FROM read_parquet('{lake}/results/baskets/*.parquet')),
            ranked AS (
                SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY n DESC, product_id) AS rank,
                       CAST(sum(sales) OVER (PARTITION BY customer_id) AS DOUBLE) / 26 AS weekly_spend
                FROM bought QUALIFY rank <= {due}
            )
            SELECT customer_id, weekly_spend, product_id, 1.0 / (1 + rank) AS probability,
                   CAST(day + INTERVAL (rank % 14 + 1) DAY AS DATE) AS expected_date, rank, day AS as_of
            FROM ranked, as_of
        ) TO '{staged}/part-0.parquet' (FORMAT parquet)""")
    shutil.rmtree(lake / "results" / "list_candidates")
    staged.rename(lake / "results" / "list_candidates")


def _load_reference(lake: Path) -> None:
    """The lake's products and customers as catalogue products and members (what `make run` loads)."""
    import duckdb

    from django.db import connection

    from clientele.catalog.models import Product, Store
    from clientele.members.models import Member

    con = duckdb.connect()
    products = con.execute(f"SELECT product_id, manufacturer_id, department, coalesce(category, ''), brand_type "
                           f"FROM read_parquet('{lake}/products/*.parquet')").fetchall()
    customers = con.execute(f"SELECT DISTINCT customer_id FROM read_parquet('{lake}/results/baskets/*.parquet')"
                            ).fetchall()
    Store.objects.get_or_create(store_id=1)
    Product.objects.bulk_create([Product(product_id=p, manufacturer_id=m, department=d, category=c, brand_type=b)
                                 for p, m, d, c, b in products], ignore_conflicts=True, batch_size=5000)
    if connection.vendor != "postgresql":
        Member.objects.bulk_create([Member(customer_id=c, join_date=date(2017, 1, 1)) for (c,) in customers],
                                   ignore_conflicts=True, batch_size=5000)


def _copy_members_and_profiles(lake: Path) -> None:
    """Every customer of the lake as a member and their nightly profile, by PostgreSQL COPY (the
    bench's set-up: `make run` loads the Complete Journey's 2,500 through the members' services)."""
    import tempfile

    import duckdb
    from django.db import connection, transaction

    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as directory, transaction.atomic(), connection.cursor() as cursor:
        members, profiles = Path(directory) / "members.csv", Path(directory) / "profiles.csv"
        con.execute(f"""COPY (SELECT DISTINCT customer_id FROM read_parquet('{lake}/results/baskets/*.parquet'))
                        TO '{members}' (FORMAT csv, HEADER false)""")
        con.execute(f"""COPY (SELECT customer_id, coalesce(rfm_segment, ''), coalesce(pyramid_level, ''),
                                     coalesce(value_class, ''), coalesce(value_tier, ''),
                                     coalesce(lifecycle_stage, ''), at_risk
                              FROM read_parquet('{lake}/results/customer_profiles/*.parquet'))
                        TO '{profiles}' (FORMAT csv, HEADER false)""")
        cursor.execute("CREATE TEMP TABLE bench_customers (customer_id bigint) ON COMMIT DROP")
        cursor.execute("CREATE TEMP TABLE bench_profiles (customer_id bigint, rfm text, pyramid text, class text, "
                       "tier text, stage text, at_risk boolean) ON COMMIT DROP")
        for table, path in (("bench_customers", members), ("bench_profiles", profiles)):
            with cursor.cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy, path.open("rb") as rows:
                while chunk := rows.read(1 << 20):
                    copy.write(chunk)
        cursor.execute("""
            INSERT INTO members_member (customer_id, first_name, last_name, email, phone, address_line, postal_code,
                                        city, country, join_date, status, email_consent, sms_consent, post_consent,
                                        profiling_consent, created_at, updated_at)
            SELECT customer_id, '', '', '', '', '', '', '', '', DATE '2017-01-01', 'active', false, false, false,
                   true, now(), now()
            FROM bench_customers ON CONFLICT DO NOTHING""")
        cursor.execute("DELETE FROM members_customerprofile")
        cursor.execute("""
            INSERT INTO members_customerprofile (refreshed_on, rfm_segment, pyramid_level, value_class, value_tier,
                                                 lifecycle_stage, at_risk, member_id)
            SELECT current_date, p.rfm, p.pyramid, p.class, p.tier, p.stage, p.at_risk, m.id
            FROM bench_profiles p JOIN members_member m ON m.customer_id = p.customer_id""")


if __name__ == "__main__":
    main()
