"""Builders for the campaign scenarios: a real lake (baskets and the nightly profile in Parquet)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from clientele.lake.schema import BASKET_LINE_SCHEMA

CUSTOMERS = range(1, 201)
WINDOW_START = date(2026, 11, 2)
WINDOW_END = date(2026, 11, 29)


def stage(customer_id: int) -> str:
    """Lifecycle stage of the profile: every third customer is in decline, the rest stable."""
    return "decline" if customer_id % 3 == 0 else "stability"


def pyramid(customer_id: int) -> str:
    return "VIP" if customer_id <= 4 else "major" if customer_id <= 20 else "small"


def write_profiles(lake: Path, customers=CUSTOMERS) -> None:
    """The nightly profile of `customers` in <lake>/results/customer_profiles."""
    rows = [{"customer_id": c, "rfm_segment": "Loyal", "recency_days": 10, "frequency": 5, "monetary": 100.0,
             "pyramid_level": pyramid(c), "value_class": "B", "value_tier": "gold", "lifecycle_stage": stage(c),
             "deal_proneness": 0.1, "expected_purchases": 3.0, "probability_alive": 0.9,
             "churn_risk": 0.6 if c % 3 == 0 else 0.1, "at_risk": c % 3 == 0, "predicted_clv": 500.0,
             "clv_lower": 300.0, "clv_upper": 700.0, "expected_next_visit": date(2026, 11, 5),
             "refresh_date": date(2026, 11, 1)} for c in customers]
    folder = lake / "results" / "customer_profiles"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")


def write_baskets(lake: Path, baskets: list[tuple[int, date, float]]) -> None:
    """Basket lines (one line per basket: customer, day, spend) in <lake>/basket_lines."""
    rows = [dict(basket_id=f"B{n}", line_no=1, customer_id=customer_id, card_barcode=None, store_id=1,
                 transaction_ts=datetime.combine(day, datetime.min.time()) + timedelta(hours=10), product_id=1,
                 quantity=Decimal("1.000"), sales_value=Decimal(f"{spend:.2f}"), retail_disc=Decimal("0.00"),
                 coupon_disc=Decimal("0.00"), coupon_match_disc=Decimal("0.00"), channel="store",
                 source_file="test", import_id="test") for n, (customer_id, day, spend) in enumerate(baskets)]
    folder = lake / "basket_lines" / "month=2026-11"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=BASKET_LINE_SCHEMA), folder / "part-0.parquet")
