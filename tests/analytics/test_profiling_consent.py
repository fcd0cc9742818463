"""Members who refused profiling get no segment, trait, forecast or serving profile from the refresh."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from clientele.analytics_cli import app
from clientele.lake.reader import read_table
from clientele.lake.schema import PROFILING_REFUSAL_SCHEMA, PROFILING_REFUSALS
from clientele.refresh import STEPS, refresh

runner = CliRunner()
AS_OF = date(2024, 12, 31)
REFUSED = 7


def build_lake(builder):
    for customer in range(1, 21):
        builder.weekly(customer, AS_OF - timedelta(days=7 * (customer + 5)), weeks=customer + 1,
                       spend=5.0 * customer, product_id=customer % 7 + 1)
    return builder.build()


def customers_per_result(con, lake) -> dict[str, set[int]]:
    """The customer ids in every customer result table of the last refresh."""
    tables = {}
    for name in STEPS:
        table = read_table(con, f"results/{name}", lake)
        if "customer_id" in table.columns:
            tables[name] = set(table.customer_id.to_pyarrow().to_pylist())
    return tables


def test_a_customer_who_refused_profiling_is_in_no_result_on_either_engine(lake_builder, con, duckdb_con):
    lake = build_lake(lake_builder)
    (lake / PROFILING_REFUSALS).mkdir()
    pq.write_table(pa.table({"customer_id": [REFUSED]}, schema=PROFILING_REFUSAL_SCHEMA),
                   lake / PROFILING_REFUSALS / "part-0.parquet")

    refresh(lake=lake, refresh_date=date(2025, 1, 1), con=con, as_of=AS_OF)

    tables = customers_per_result(duckdb_con, lake)
    assert {"rfm", "traits", "lifecycle", "forecasts", "customer_profiles"} <= set(tables)
    assert all(REFUSED not in customers for customers in tables.values())
    assert tables["customer_profiles"] == set(range(1, 21)) - {REFUSED}


@pytest.mark.django_db
def test_given_a_member_who_refuses_profiling_when_the_nightly_refresh_runs_then_they_have_no_profile(
        home, lake_builder_factory, duckdb_con):
    from clientele.members.models import CustomerProfile, Member

    build_lake(lake_builder_factory(home / "lake"))
    for customer in range(1, 21):
        Member.objects.create(customer_id=customer, join_date=date(2024, 1, 1))
    Member.objects.filter(customer_id=REFUSED).update(profiling_consent=False)

    refreshed = runner.invoke(app, ["refresh"])  # lake sync (writes the refusals), refresh, serving profiles

    assert refreshed.exit_code == 0, refreshed.output
    served = set(CustomerProfile.objects.values_list("member__customer_id", flat=True))
    assert served == set(range(1, 21)) - {REFUSED}
    assert all(REFUSED not in customers for customers in customers_per_result(duckdb_con, home / "lake").values())

    Member.objects.filter(customer_id=REFUSED).update(profiling_consent=True)
    again = runner.invoke(app, ["refresh"])  # same day, same as_of: consent given back, so not resumed

    assert again.exit_code == 0, again.output
    assert CustomerProfile.objects.filter(member__customer_id=REFUSED).exists()


def test_the_last_day_read_from_the_files_statistics_is_of_a_line_of_a_customer_who_did_not_refuse(
        lake_builder, duckdb_con):
    """Given a refused member's basket, the lake's latest line, two days after every other's, the
    refresh's default as_of is the others' last day (the statistics' day finds no line of theirs;
    decision 0145), as the scan of every line gives it."""
    from clientele.analytics import last_day
    from clientele.refresh import RefreshOptions, _latest_line_time, _Run

    lake = build_lake(lake_builder.basket(REFUSED, AS_OF + timedelta(days=2)).basket(3, AS_OF + timedelta(days=1)))
    assert _latest_line_time(lake).date() == AS_OF + timedelta(days=2)
    assert _Run(duckdb_con, lake, None, RefreshOptions()).as_of == AS_OF + timedelta(days=2)

    (lake / PROFILING_REFUSALS).mkdir()
    pq.write_table(pa.table({"customer_id": [REFUSED]}, schema=PROFILING_REFUSAL_SCHEMA),
                   lake / PROFILING_REFUSALS / "part-0.parquet")
    run = _Run(duckdb_con, lake, None, RefreshOptions())

    assert run.as_of == AS_OF + timedelta(days=1) == last_day(run.lines)
