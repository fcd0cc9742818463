"""`clientele refresh | segments | export | synth` end to end on small lakes."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from clientele.analytics.results import read_result
from clientele.analytics_cli import app
from clientele.cli import main
from clientele.engine import connect
from clientele.lake.reader import basket_lines
from clientele.lake.schema import BASKET_LINE_SCHEMA

runner = CliRunner()
AS_OF = date(2024, 12, 31)


@pytest.fixture
def refreshed_home(home, lake_builder_factory):
    builder = lake_builder_factory(home / "lake")
    for customer in range(1, 21):
        builder.weekly(customer, AS_OF - timedelta(days=7 * (customer + 5)), weeks=customer + 1, spend=5.0 * customer,
                       product_id=1 + customer % 2)
    builder.build()
    result = runner.invoke(app, ["refresh", "--no-sync", "--no-serve"])
    assert result.exit_code == 0, result.output
    return home


def test_refresh_then_segments_show_pyramid_rfm_grid_lifecycle_and_nine_cells(refreshed_home):
    shown = runner.invoke(app, ["segments", "--category", "COLD CEREAL"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    for title in ("Customer pyramid", "RFM grid", "Lifecycle stages", "COLD CEREAL: brand loyalty x usage"):
        assert title in shown.output


def test_segments_of_a_category_typed_in_any_case_show_its_nine_cells(refreshed_home):
    shown = runner.invoke(app, ["segments", "--category", "cold cereal"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "COLD CEREAL: brand loyalty x usage" in shown.output


def test_segments_of_an_unknown_category_is_an_error_listing_the_valid_ones(refreshed_home):
    shown = runner.invoke(app, ["segments", "--category", "cold ceral"])
    assert shown.exit_code != 0
    assert str(shown.exception) == "unknown category 'cold ceral'; valid: COLD CEREAL"  # the lake has one category


def test_export_of_a_combined_segment_writes_the_members_it_names(refreshed_home, tmp_path):
    out = tmp_path / "combined.csv"
    exported = runner.invoke(app, ["export", "pyramid=major OR (rfm=at risk AND NOT value_tier=IRON)", "--out", str(out),
                                   "--ids-only"])
    assert exported.exit_code == 0, exported.output
    profiles = read_result(connect("duckdb"), "customer_profiles").to_pyarrow().to_pylist()
    expected = [p["customer_id"] for p in profiles if p["pyramid_level"] == "major"
                or (p["rfm_segment"] == "At risk" and p["value_tier"] != "iron")]
    assert [int(row["customer_id"]) for row in csv.DictReader(out.open())] == sorted(expected)
    at_risk = [p for p in profiles if p["rfm_segment"] == "At risk"]
    assert 1 < len(expected) <= len(at_risk)  # the OR took the major customer in, the NOT left iron ones out


def test_export_of_a_segment_writes_its_member_ids(refreshed_home, tmp_path):
    out = tmp_path / "vip.csv"
    exported = runner.invoke(app, ["export", "pyramid=medium", "--out", str(out), "--ids-only"])
    assert exported.exit_code == 0, exported.output
    ids = [int(row["customer_id"]) for row in csv.DictReader(out.open())]
    assert len(ids) == 3  # 15% of 20 customers
    assert "Pyramid of the last refresh: " in exported.output and "each basket counted at most" in " ".join(exported.output.split())
    assert ids == sorted(ids)


@pytest.mark.django_db
def test_export_for_a_mailing_keeps_only_members_who_consented(refreshed_home, tmp_path):
    from clientele.members.models import Member

    from datetime import datetime, timezone

    from clientele.privacy.consent import record_consent

    for customer in range(1, 21):
        member = Member.objects.create(customer_id=customer, first_name=f"M{customer}",
                                       email=f"m{customer}@example.org", join_date=date(2024, 1, 1))
        record_consent(member, "marketing", "email", customer % 2 == 0,
                       occurred_at=datetime(2026, 12, 1, tzinfo=timezone.utc), source="import", text_version="v1")
    out = tmp_path / "mailing.csv"
    exported = runner.invoke(app, ["export", "pyramid=small", "--out", str(out), "--channel", "email"])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(out.open()))
    assert rows and all(int(row["customer_id"]) % 2 == 0 and row["email"] for row in rows)
    assert set(rows[0]) == {"customer_id", "first_name", "last_name", "email", "phone"}


def test_synth_writes_a_lake_of_the_basket_lines_schema_by_month(lake_builder, duckdb_con, tmp_path):
    source = lake_builder.basket(1, AS_OF).build()
    out = tmp_path / "synthetic"
    made = runner.invoke(app, ["synth", "--customers", "200", "--lines", "20000", "--months", "3", "--out", str(out),
                               "--products", str(source / "products" / "products.parquet")])
    assert made.exit_code == 0, made.output
    months = sorted(folder.name for folder in (out / "basket_lines").iterdir())
    assert months == ["month=2024-01", "month=2024-02", "month=2024-03"]
    lines = basket_lines(duckdb_con, out)
    assert lines.schema().names[: len(BASKET_LINE_SCHEMA)] == tuple(BASKET_LINE_SCHEMA.names)
    assert 15000 < lines.count().execute() < 25000
    assert lines.customer_id.nunique().execute() > 150


@pytest.mark.django_db
def test_export_by_loyalty_tier_reads_the_programme_s_tiers_not_the_value_tiers(refreshed_home, tmp_path):
    from clientele.loyalty.models import LoyaltyAccount, Tier
    from clientele.members.models import Member

    tiers = [Tier.objects.create(name="Bronze", rank=0), Tier.objects.create(name="Gold", rank=1)]
    for customer in (3, 18, 20):
        member = Member.objects.create(customer_id=customer, first_name=f"M{customer}", join_date=date(2024, 1, 1))
        LoyaltyAccount.objects.create(member=member, tier=tiers[customer != 3])
    out = tmp_path / "gold.csv"
    exported = runner.invoke(app, ["export", "loyalty_tier=gold", "--out", str(out), "--ids-only"])
    assert exported.exit_code == 0, exported.output
    assert [int(row["customer_id"]) for row in csv.DictReader(out.open())] == [18, 20]
    value_gold = runner.invoke(app, ["export", "value_tier=gold", "--out", str(out), "--ids-only"])
    assert value_gold.exit_code == 0, value_gold.output
    assert [int(row["customer_id"]) for row in csv.DictReader(out.open())] == [17, 18, 19]
    unknown = runner.invoke(app, ["export", "loyalty_tier=platinum", "--out", str(out), "--ids-only"])
    assert "valid: Bronze, Gold" in str(unknown.exception)


def test_an_export_to_a_folder_that_cannot_be_written_says_so_in_one_line(refreshed_home, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as ended:
        main(["export", "pyramid=small", "--ids-only", "--out", str(blocker / "out" / "small.csv")])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and len(err.strip().splitlines()) == 1
    assert f"cannot write {blocker / 'out' / 'small.csv'}" in err


def test_segments_before_the_first_refresh_say_to_run_the_refresh(home, lake_builder_factory, capsys):
    lake_builder_factory(home / "lake").basket(1, AS_OF).build()
    with pytest.raises(SystemExit) as ended:
        main(["segments"])
    err = capsys.readouterr().err
    assert ended.value.code == 2
    assert "run `clientele refresh` first" in err and "import data first" not in err
