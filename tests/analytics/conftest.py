"""Builders of small lakes for the analytics tests, and the engines to run them on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clientele import refresh as nightly
from clientele.engine import connect, gathering_operators, recorded_spark_plans
from clientele.lake.schema import BASKET_LINE_SCHEMA

PRODUCTS = [
    # product_id, department, brand_type, category
    (1, "GROCERY", "National", "COLD CEREAL"),
    (2, "GROCERY", "Private", "COLD CEREAL"),
    (3, "PRODUCE", "National", "VEGETABLES"),
    (4, "GROCERY", "National", "DOG FOODS"),
    (5, "DRUG GM", "National", "DIAPERS & DISPOSABLES"),
    (6, "GROCERY", "National", "CAT FOOD"),
    (7, "MEAT", "National", "BEEF"),
]


class LakeBuilder:
    """Write basket lines one basket at a time, then publish them as a lake folder."""

    def __init__(self, root: Path):
        self.root = root
        self.rows: list[dict] = []

    def basket(
        self, customer_id: int, day: date, spend: float = 50.0, product_id: int = 1,
        lines: int = 1, retail_disc: float = 0.0, coupon_disc: float = 0.0,
    ) -> LakeBuilder:
        """One basket of `lines` equal lines of `product_id` worth `spend` in all."""
        basket_id = f"B{len(self.rows)}"
        for line in range(lines):
            self.rows.append(dict(
                basket_id=basket_id, line_no=line + 1, customer_id=customer_id, card_barcode=None, store_id=1,
                transaction_ts=datetime.combine(day, datetime.min.time()) + timedelta(hours=10),
                product_id=product_id, quantity=Decimal("1.000"),
                sales_value=Decimal(f"{spend / lines:.2f}"), retail_disc=Decimal(f"{retail_disc / lines:.2f}"),
                coupon_disc=Decimal(f"{coupon_disc / lines:.2f}"), coupon_match_disc=Decimal("0.00"),
                channel="store", source_file="test", import_id="test",
            ))
        return self

    def mixed_basket(self, customer_id: int | None, day: date, lines: list[tuple[int, float]],
                     hour: int = 10) -> LakeBuilder:
        """One basket of several products: (product_id, spend) per line."""
        basket_id = f"B{len(self.rows)}"
        for number, (product_id, spend) in enumerate(lines, start=1):
            self.rows.append(dict(
                basket_id=basket_id, line_no=number, customer_id=customer_id, card_barcode=None, store_id=1,
                transaction_ts=datetime.combine(day, datetime.min.time()) + timedelta(hours=hour),
                product_id=product_id, quantity=Decimal("1.000"), sales_value=Decimal(f"{spend:.2f}"),
                retail_disc=Decimal("0.00"), coupon_disc=Decimal("0.00"), coupon_match_disc=Decimal("0.00"),
                channel="store", source_file="test", import_id="test",
            ))
        return self

    def weekly(self, customer_id: int, first: date, weeks: int, spend: float = 50.0, **kwargs) -> LakeBuilder:
        """A basket every 7 days from `first`."""
        for week in range(weeks):
            self.basket(customer_id, first + timedelta(days=7 * week), spend, **kwargs)
        return self

    def build(self) -> Path:
        months = sorted({row["transaction_ts"].strftime("%Y-%m") for row in self.rows})
        for month in months:
            folder = self.root / "basket_lines" / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            in_month = [row for row in self.rows if row["transaction_ts"].strftime("%Y-%m") == month]
            pq.write_table(pa.Table.from_pylist(in_month, schema=BASKET_LINE_SCHEMA), folder / "part-0.parquet")
        products = pa.table({
            "product_id": pa.array([p[0] for p in PRODUCTS], pa.int64()),
            "manufacturer_id": pa.array([1] * len(PRODUCTS), pa.int64()),
            "department": [p[1] for p in PRODUCTS],
            "brand_type": [p[2] for p in PRODUCTS],
            "category": [p[3] for p in PRODUCTS],
            "subcategory": [p[3] for p in PRODUCTS],
            "package_size": [None] * len(PRODUCTS),
        })
        (self.root / "products").mkdir(parents=True, exist_ok=True)
        pq.write_table(products, self.root / "products" / "products.parquet")
        return self.root


@pytest.fixture
def lake_builder(tmp_path: Path) -> LakeBuilder:
    return LakeBuilder(tmp_path / "lake")


@pytest.fixture(scope="session")
def lake_builder_factory():
    """LakeBuilder itself, for a lake at a chosen folder (such as the test's Clientele home)."""
    return LakeBuilder


@pytest.fixture(scope="session")
def duckdb_con():
    return connect("duckdb")


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def con(request):
    """Each engine in turn: the same test body must give the same answer on both."""
    return connect(request.param)


@pytest.fixture
def gathering_per_step(monkeypatch) -> Callable[[object], AbstractContextManager[dict[str, list[str]]]]:
    """`with gathering_per_step(con) as gathered:` around refreshes on Spark fills `gathered`: per
    step (and work table), the operators that gather all rows in one partition in the plans of the
    queries run since the previous table was written (empty on DuckDB; decision 0075)."""

    @contextmanager
    def watch(con) -> Iterator[dict[str, list[str]]]:
        gathered: dict[str, list[str]] = {}
        if con.name != "pyspark":
            yield gathered
            return
        write, read = nightly._write, 0
        with recorded_spark_plans(con) as plans:

            def write_and_read_the_plans(con, table, folder, **options):
                nonlocal read
                write(con, table, folder, **options)
                found = [operator for plan in plans[read:] for operator in gathering_operators(plan)]
                gathered[folder.name] = gathered.get(folder.name, []) + found
                read = len(plans)

            monkeypatch.setattr(nightly, "_write", write_and_read_the_plans)
            yield gathered
            # the queries after the last table written (none is left unread)
            gathered["(after the last write)"] = [operator for plan in plans[read:] for operator in gathering_operators(plan)]
        monkeypatch.setattr(nightly, "_write", write)

    return watch
