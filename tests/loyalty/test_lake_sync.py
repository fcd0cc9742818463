"""`clientele lake sync`: the till's baskets and returns reach the lake exactly once, resumably."""

from __future__ import annotations

from datetime import datetime

import duckdb
from till_payloads import basket, post

from clientele.lake.store import Lake
from clientele.loyalty import lake_sync
from clientele.loyalty.models import Basket


def lake_rows(lake: Lake) -> list[tuple]:
    return duckdb.sql(
        f"SELECT basket_id, line_no, quantity, sales_value, transaction_ts, customer_id FROM "
        f"read_parquet('{lake.parquet_glob('basket_lines')}', hive_partitioning=true) ORDER BY basket_id, line_no"
    ).fetchall()


def test_given_baskets_and_a_return_when_synced_twice_then_each_line_is_in_the_lake_once_in_store_time(
        home, till, programme_ready, card):
    lake = Lake(home / "lake")
    post(till, "/baskets", basket(card=card, at="2026-11-20T23:30:00+00:00"))
    post(till, "/returns", {"store_id": 1, "return_id": "R1", "original_store_id": 1, "original_till_id": "T1",
                            "original_receipt_number": "1001", "lines": [{"line_no": 2, "quantity": "1"}]})

    first = lake_sync.sync_lake(lake)
    second = lake_sync.sync_lake(lake)

    assert (first["lines"], second["lines"]) == (3, 0)
    rows = lake_rows(lake)
    assert rows[0][:4] == ("1/T1/1001", 1, 2, 5) and rows[1][:4] == ("1/T1/1001", 2, 1, 3)
    assert rows[0][4] == datetime(2026, 11, 20, 17, 30)  # 23:30 UTC is 17:30 in Chicago
    assert rows[2][0] == "return:1:R1" and rows[2][2:4] == (-1, -3)
    assert {row[5] for row in rows} == {42}
    assert not Basket.objects.filter(synced_at__isnull=True).exists()


def test_given_a_sync_that_died_before_publishing_when_run_again_then_the_claimed_baskets_arrive_once(
        home, till, programme_ready, card):
    lake = Lake(home / "lake")
    post(till, "/baskets", basket(card=card))
    lake_sync._claim(100)  # claimed and committed, then the process died

    assert lake_sync.sync_lake(lake) == {"imports": 1, "lines": 2}
    assert len(lake_rows(lake)) == 2


def test_given_a_sync_that_died_after_publishing_when_run_again_then_nothing_is_appended_twice(
        home, till, programme_ready, card):
    lake = Lake(home / "lake")
    post(till, "/baskets", basket(card=card))
    lake_sync._publish(lake, lake_sync._claim(100))  # published, then died before marking the baskets

    assert lake_sync.sync_lake(lake) == {"imports": 0, "lines": 0}
    assert len(lake_rows(lake)) == 2
    assert Basket.objects.get().synced_at is not None


def test_members_who_refused_profiling_or_were_erased_are_listed_for_the_refresh_to_leave_out(home, db):
    from datetime import date

    from clientele.engine import connect
    from clientele.lake.reader import read_table
    from clientele.lake.schema import PROFILING_REFUSALS
    from clientele.members.models import Member

    Member.objects.create(customer_id=1, join_date=date(2024, 1, 1))
    from datetime import datetime, timezone

    from clientele.privacy.consent import record_consent

    refusing = Member.objects.create(customer_id=2, join_date=date(2024, 1, 1))
    record_consent(refusing, "profiling", "", False, occurred_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
                   source="service desk", text_version="v1")
    Member.objects.create(customer_id=3, join_date=date(2024, 1, 1), status=Member.Status.ERASED)
    Member.objects.create(customer_id=4, join_date=date(2024, 1, 1), status=Member.Status.CLOSED)
    lake = Lake(home / "lake")

    lake_sync.export_profiling_refusals(lake)

    listed = read_table(connect("duckdb"), PROFILING_REFUSALS, lake.root)
    assert sorted(listed.customer_id.to_pyarrow().to_pylist()) == [2, 3]


def test_given_two_tills_whose_ids_differ_only_by_where_the_slash_falls_then_the_lake_keeps_two_baskets(
        home, till, programme_ready, card):
    lake = Lake(home / "lake")
    assert post(till, "/baskets", basket(card=card, till_id="A/B", receipt="C")).status_code == 200
    assert post(till, "/baskets", basket(card=card, till_id="A", receipt="B/C")).status_code == 200

    assert lake_sync.sync_lake(lake)["lines"] == 4
    assert sorted({row[0] for row in lake_rows(lake)}) == ["1/A%2FB/C", "1/A/B%2FC"]
