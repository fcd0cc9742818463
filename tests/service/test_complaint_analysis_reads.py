"""The complaint analysis reads each operational table once into DuckDB and counts there: on a small
desk with every awkward case (no product, no store, no profile, an empty level, unanswered and
unresolved complaints, fractions of a second, the period's first and last microsecond, a name
holding a comma and quotes), its report and its spend figures equal the previous computation
(the rows joined by the ORM, counted with pandas), kept here as the reference."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
from desk_builders import member

from clientele.catalog.models import Product, Store
from clientele.members.models import CustomerProfile
from clientele.service import services
from clientele.service.models import Complaint, ComplaintCause

KEYS = {"cause": "cause", "store": "store_id", "product": "product_id", "category": "category"}
START, END = date(2025, 1, 1), date(2025, 6, 30)
FIRST = datetime(2025, 1, 1, tzinfo=timezone.utc)
LAST = datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=timezone.utc)


def previous_report(start: date, end: date) -> dict:
    """The complaint report as computed before (ORM rows joined by the database, pandas counts)."""
    from django.db.models import F

    columns = {"customer_id": F("member__customer_id"), "received_at": F("received_at"),
               "first_answered_at": F("first_answered_at"), "resolved_at": F("resolved_at"),
               "first_answer_due": F("first_answer_due"), "resolution_due": F("resolution_due"),
               "severity": F("severity"), "cause": F("cause__name"), "store_id": F("store_id"),
               "product_id": F("product_id"), "category": F("product__category"),
               "pyramid_level": F("member__profile__pyramid_level"),
               "value_tier": F("member__profile__value_tier")}
    chosen = services_period(start, end).annotate(**{f"c_{n}": e for n, e in columns.items()}).values_list(
        *[f"c_{n}" for n in columns])
    table = pd.DataFrame(list(chosen), columns=list(columns))
    for name in ("received_at", "first_answered_at", "resolved_at", "first_answer_due", "resolution_due"):
        table[name] = pd.to_datetime(table[name], utc=True, format="ISO8601")
    table = table.assign(month=table["received_at"].dt.strftime("%Y-%m-01"))
    counts = {}
    for column in ("cause", "store_id", "product_id", "category", "month"):
        counted = table[column].value_counts(dropna=False).rename("complaints").rename_axis(column).reset_index()
        counted = counted.sort_values(column if column == "month" else "complaints", ascending=column == "month",
                                      kind="stable")
        counts[column] = [{column: _plain(value), "complaints": int(n)} for value, n in counted.itertuples(index=False)]
    levels = []
    for severity in ("low", "medium", "high", "critical"):
        part = table[table["severity"] == severity]
        if part.empty:
            continue
        answer = (part["first_answered_at"] - part["received_at"]).dt.total_seconds() / 3600
        resolution = (part["resolved_at"] - part["received_at"]).dt.total_seconds() / 3600
        levels.append({
            "severity": severity, "complaints": len(part),
            "answered": int(part["first_answered_at"].notna().sum()), "resolved": int(part["resolved_at"].notna().sum()),
            "answer_hours": None if answer.isna().all() else round(float(answer.mean()), 2),
            "resolution_hours": None if resolution.isna().all() else round(float(resolution.mean()), 2),
            "answered_on_time": int((part["first_answered_at"] <= part["first_answer_due"]).sum()),
            "resolved_on_time": int((part["resolved_at"] <= part["resolution_due"]).sum())})

    def repeat(frame: pd.DataFrame) -> list[dict]:
        counted = frame.groupby("customer_id").agg(complaints=("customer_id", "size"),
                                                   pyramid_level=("pyramid_level", "first"),
                                                   value_tier=("value_tier", "first")).reset_index()
        counted = counted[counted["complaints"] >= 2].sort_values(["complaints", "customer_id"], ascending=[False, True])
        # `level or ""` as it was kept pandas' NaN (truthy) for a member without a profile: "" meant
        return [{"member_number": int(c), "complaints": int(n), "pyramid_level": _text(level), "value_tier": _text(tier)}
                for c, n, level, tier in counted.itertuples(index=False)]

    large = table[table["pyramid_level"].isin(("VIP", "major")) | table["value_tier"].isin(("platinum", "gold"))]
    return {"period": {"start": start.isoformat(), "end": end.isoformat()}, "complaints": len(table),
            "by": {"cause": counts["cause"], "store": counts["store_id"], "product": counts["product_id"],
                   "category": counts["category"], "month": counts["month"]},
            "service_levels": levels, "repeat_complainers": repeat(table)[:50], "large_repeat_complainers": repeat(large)}


def services_period(start: date, end: date):
    return Complaint.objects.filter(received_at__gte=datetime.combine(start, datetime.min.time(), tzinfo=timezone.utc),
                                    received_at__lte=datetime.combine(end, datetime.max.time(), tzinfo=timezone.utc))


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _plain(value):
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, float) else value  # a column with None was float: 7.0 is store 7


def _figures(row: dict) -> dict:
    """A spend row with its means to 1e-9 (sums taken in another order differ in the last bits)."""
    return {name: round(value, 9) if isinstance(value, float) else value for name, value in row.items()}


@pytest.fixture
def desk(store):
    """Sixty complaints of twelve members drawn at random (seeded) over the period and around it."""
    Store.objects.create(store_id=2, name="Station")
    Product.objects.create(product_id=1, department="DRUG GM", category='SOAP, "LUX"')
    Product.objects.create(product_id=2, department="GROCERY", category="")
    Product.objects.create(product_id=3, department="GROCERY", category="BAKERY")
    ComplaintCause.objects.create(code="odd", name='Odd, "quoted" cause')
    causes = list(ComplaintCause.objects.all())
    profiles = [("VIP", "platinum"), ("major", ""), ("small", "gold"), ("", ""), ("medium", "silver"), None]
    members = []
    for number in range(1, 13):
        profile = profiles[number % len(profiles)]
        members.append(member(100 + number, **({} if profile is None else
                                               {"pyramid_level": profile[0], "value_tier": profile[1]})))
    rng = random.Random(7)
    moments = [FIRST, LAST, FIRST - timedelta(microseconds=1), LAST + timedelta(microseconds=1)]
    for n in range(60):
        at = moments[n] if n < len(moments) else FIRST + timedelta(seconds=rng.randint(-86_400 * 20, 86_400 * 200),
                                                                   microseconds=rng.randint(0, 999_999))
        severity = rng.choice(["low", "medium", "high", "critical"])
        answered = None if rng.random() < 0.2 else at + timedelta(hours=rng.uniform(0, 60))
        resolved = None if answered is None or rng.random() < 0.3 else answered + timedelta(hours=rng.uniform(0, 90))
        Complaint.objects.create(
            member=rng.choice(members[:5]) if rng.random() < 0.6 else rng.choice(members),
            channel="store", store_id=rng.choice([1, 2, None]), product_id=rng.choice([1, 2, 3, None]),
            cause=rng.choice(causes), severity=severity, what_happened="x", how_it_happened="x", why_unhappy="x",
            served_by="x", claim_reasonable=True, wanted_resolution="x", returning_customer=True,
            status="resolved" if resolved else "new", received_at=at, first_answer_due=at + timedelta(hours=24),
            resolution_due=at + timedelta(hours=72), first_answered_at=answered, resolved_at=resolved,
            recorded_by="sam")


def _ranked(rows: list[dict]) -> tuple[list[int], list[tuple]]:
    """A breakdown's counts in order, and its rows as a set: values of equal counts may come in any
    order in the previous computation (pandas' sort of equal counts is not stable)."""
    return [row["complaints"] for row in rows], sorted(map(repr, rows))


@pytest.mark.parametrize("start, end, share", [
    (START, END, (0.6, 0.95)),  # most complaints: SQLite scans the table
    (date(2025, 1, 1), date(2025, 1, 31), (0.05, 0.2)),  # a few: SQLite searches the received_at index
])
def test_the_report_equals_the_previous_computation(desk, start, end, share):
    report = services.complaint_report(start, end)
    previous = previous_report(start, end)
    assert report["complaints"] == previous["complaints"] == services_period(start, end).count()
    low, high = share
    assert low * Complaint.objects.count() < report["complaints"] < high * Complaint.objects.count()
    for breakdown in ("cause", "store", "product", "category"):
        assert _ranked(report["by"][breakdown]) == _ranked(previous["by"][breakdown]), breakdown
        ties_by_value = sorted(report["by"][breakdown], key=lambda row: (
            -row["complaints"], row[KEYS[breakdown]] is None, "" if row[KEYS[breakdown]] is None else row[KEYS[breakdown]]))
        assert report["by"][breakdown] == ties_by_value, breakdown
    assert report["by"]["month"] == previous["by"]["month"]
    assert report["service_levels"] == previous["service_levels"]
    assert report["repeat_complainers"] == previous["repeat_complainers"]
    assert report["large_repeat_complainers"] == previous["large_repeat_complainers"]
    if start == START:  # the whole period holds every awkward case
        assert {"", 'SOAP, "LUX"', None} <= {row["category"] for row in report["by"]["category"]}
        assert any(row["cause"] == 'Odd, "quoted" cause' for row in report["by"]["cause"])
        assert report["large_repeat_complainers"] != []


def test_a_period_without_complaints_reports_none(desk):
    report = services.complaint_report(date(2030, 1, 1), date(2030, 1, 31))
    assert report["complaints"] == 0 and report["by"]["cause"] == [] and report["service_levels"] == []
    assert report == previous_report(date(2030, 1, 1), date(2030, 1, 31))


def test_the_spend_figures_equal_the_previous_reads(store, soap, cj_slice_lake, slice_customers):
    """The spend step reads the complaints and levels in bulk too: same rows as the ORM's reads."""
    import ibis

    from clientele.analytics import complaints as analytics
    from clientele.analytics.baskets import member_lines
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines

    for n, number in enumerate(slice_customers):
        member(number, pyramid_level=["small", "major", ""][n % 3])
    for n, number in enumerate(slice_customers[:4]):
        services.record_complaint(services.ComplaintIn(**{
            "member_number": number, "channel": "store", "cause": "price", "severity": "low",
            "what_happened": "x", "how_it_happened": "x", "why_unhappy": "x", "served_by": "x",
            "claim_reasonable": True, "wanted_resolution": "x"}), "sam",
            received_at=datetime(2017, 3 + n, 1, 23, 59, 59, 999999, tzinfo=timezone.utc))
    rows = services.spend_before_and_after(date(2017, 1, 1), date(2017, 12, 31), days=30, lake=cj_slice_lake)

    complained = pd.DataFrame(list(services_period(date(2017, 1, 1), date(2017, 12, 31)).values_list(
        "member__customer_id", "received_at")), columns=["customer_id", "received_at"])
    levels = pd.DataFrame(list(CustomerProfile.objects.exclude(pyramid_level="").values_list(
        "member__customer_id", "pyramid_level")), columns=["customer_id", "pyramid_level"])
    con = connect()
    lines = member_lines(basket_lines(con, cj_slice_lake))
    spend_lines = lines.select("customer_id", basket_date=lines.transaction_ts.date(), spend=lines.sales_value)
    complaints = ibis.memtable(pd.DataFrame({"customer_id": complained["customer_id"],
                                             "complained_on": pd.to_datetime(complained["received_at"], utc=True).dt.date}))
    previous = con.execute(analytics.spend_around_complaints(spend_lines, complaints, ibis.memtable(levels), 30))
    assert list(map(_figures, rows)) == list(map(_figures, previous.to_dict("records")))
    assert {(row["pyramid_level"], row["complained"]) for row in rows} == {
        ("small", True), ("small", False), ("major", True), ("major", False)}
