"""The complaint analysis: counts by cause, store, product, category and month; service levels met;
repeat complainers and the large customers among them; spend before and after from a real lake."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from desk_builders import complaint_answers, member

from clientele.service import services

JAN = datetime(2025, 1, 10, 9, tzinfo=timezone.utc)


def record(number: int, at: datetime, **change):
    return services.record_complaint(services.ComplaintIn(**complaint_answers(member_number=number, **change)),
                                     "sam", received_at=at)


def test_the_report_counts_complaints_and_finds_the_large_repeat_complainers(store, soap):
    member(1, pyramid_level="VIP", value_tier="platinum")
    member(2, pyramid_level="small", value_tier="lead")
    member(3, pyramid_level="major", value_tier="gold")
    for at in (JAN, JAN + timedelta(days=40), JAN + timedelta(days=200)):
        record(1, at)
    record(2, JAN, cause="price", product_id=None)
    record(2, JAN + timedelta(days=3), cause="price", product_id=None)
    record(3, JAN + timedelta(days=400))  # next year: not in the period
    answered = record(3, JAN, severity="critical")
    services.change_status(answered.pk, "acknowledged", "sam", at=JAN + timedelta(hours=1))
    services.change_status(answered.pk, "resolved", "sam", at=JAN + timedelta(hours=30))  # 24 h allowed

    report = services.complaint_report(date(2025, 1, 1), date(2025, 12, 31))
    assert report["complaints"] == 6
    assert report["by"]["cause"] == [{"cause": "Product quality", "complaints": 4}, {"cause": "Price", "complaints": 2}]
    assert report["by"]["category"][0] == {"category": "SOAP", "complaints": 4}
    assert [row["month"] for row in report["by"]["month"]] == ["2025-01-01", "2025-02-01", "2025-07-01"]
    assert [(r["member_number"], r["complaints"]) for r in report["repeat_complainers"]] == [(1, 3), (2, 2)]
    assert [(r["member_number"], r["pyramid_level"]) for r in report["large_repeat_complainers"]] == [(1, "VIP")]
    critical = next(row for row in report["service_levels"] if row["severity"] == "critical")
    assert (critical["answered_on_time"], critical["resolved"], critical["resolved_on_time"]) == (1, 1, 0)
    assert critical["answer_hours"] == 1.0 and critical["resolution_hours"] == 30.0


def test_complainers_spend_before_and_after_against_similar_customers(store, soap, cj_slice_lake, slice_customers):
    import duckdb

    for number in slice_customers:
        member(number, pyramid_level="small")
    record(slice_customers[0], datetime(2017, 3, 1, tzinfo=timezone.utc))
    rows = services.spend_before_and_after(date(2017, 1, 1), date(2017, 12, 31), days=30, lake=cj_slice_lake)
    assert [(r["pyramid_level"], r["complained"], r["customers"]) for r in rows] == [
        ("small", False, len(slice_customers) - 1), ("small", True, 1)]
    expected = duckdb.sql(f"""
        select sum(sales_value) filter (where transaction_ts::date > date '2017-03-01') as after
        from read_parquet('{cj_slice_lake}/basket_lines/**/*.parquet', hive_partitioning=true)
        where customer_id = {slice_customers[0]}
          and transaction_ts::date between date '2017-03-01' - 29 and date '2017-03-01' + 30""").fetchall()[0][0]
    assert float(rows[1]["spend_after"]) == pytest.approx(float(expected), abs=0.01) and expected > 0
