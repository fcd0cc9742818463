"""A manufacturer's statement and anonymised report through the `clientele offers` commands, on a
real slice of the Complete Journey."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
from offer_builders import make_offer
from typer.testing import CliRunner

from clientele.catalog.models import Product, Store
from clientele.cli import app
from clientele.engine import connect
from clientele.loyalty.models import Basket
from clientele.offers import services
from clientele.offers.evaluate import Line, apply_offers
from clientele.offers.models import ManufacturerAccount

AT = datetime(2017, 12, 20, 15, 0, tzinfo=timezone.utc)


def biggest_manufacturer(lake) -> int:
    con = connect("duckdb")
    lines = con.read_parquet(str(lake / "basket_lines" / "**" / "*.parquet"), hive_partitioning=True)
    products = con.read_parquet(str(lake / "products" / "*.parquet"))
    sold = lines.join(products, "product_id").group_by("manufacturer_id").aggregate(sales=lines.sales_value.sum())
    return int(sold.order_by(sold.sales.desc()).limit(1).to_pyarrow().to_pylist()[0]["manufacturer_id"])


def test_the_manufacturers_report_shows_no_customer_and_no_cell_under_k(served, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTELE_LAKE", str(served))
    from clientele.config import settings

    settings.cache_clear()
    number = biggest_manufacturer(served)
    ManufacturerAccount.objects.create(name="Big Foods", manufacturer_id=number)
    for fmt in ("csv", "parquet"):
        out = tmp_path / f"report.{fmt}"
        result = CliRunner().invoke(app, ["offers", "report", "--manufacturer", "Big Foods", "--from", "2017-01-01",
                                          "--to", "2017-12-17", "--out", str(out), "--format", fmt])
        assert result.exit_code == 0, result.output
        table = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
        assert "customer_id" not in table.columns
        shown = table[~table.suppressed.astype(bool)]
        assert (shown.households >= 10).all() and table.suppressed.astype(bool).any()
        total = table[table.section == "total"].iloc[0]
        assert 10 <= total.households <= 40 and 0 < total.penetration <= 1 and total.sales > 0
    settings.cache_clear()


def test_the_statement_adds_up_to_what_the_baskets_were_given_to_the_cent(catalogue, ada, kellogg):
    make_offer("cereal", valid_from=AT - timedelta(days=1), valid_until=AT + timedelta(days=5), funder=kellogg)
    make_offer("soap", target="category", category="SOAP", manufacturer_id=None, benefit="percent_off", amount=None,
               percent=Decimal("12.5"), funder=kellogg, stackable=True, precedence=1,
               valid_from=AT - timedelta(days=1), valid_until=AT + timedelta(days=5))
    product = {p.product_id: p for p in Product.objects.all()}
    given = Decimal("0")
    for receipt, (quantity, price) in enumerate([(1, "3.99"), (3, "2.49"), (2, "7.77")]):
        lines = [Line(n, pid, Decimal(quantity), Decimal(price) * quantity, product[pid].department,
                      product[pid].category, product[pid].manufacturer_id, product[pid].brand_type)
                 for n, pid in enumerate(product, start=1)]
        result = apply_offers(lines, services.offer_terms(AT), services.member_view(ada, on=AT.date()), AT)
        basket = Basket.objects.create(store=Store.objects.get(), till_id="T1", receipt_number=str(receipt),
                                       transacted_at=AT, member=ada, total=Decimal("1"), request_hash="x",
                                       result={}, actor="test")
        services.record_redemptions(basket, result, ada)
        given += result.total_discount
    shown = CliRunner().invoke(app, ["offers", "statement", "--manufacturer", "69", "--from", "2017-12-20",
                                     "--to", "2017-12-20", "--json"])
    assert shown.exit_code == 0, shown.output
    statement = json.loads(shown.output)
    assert Decimal(statement["discount"]) == given > 0
    assert sum(Decimal(line["discount"]) for line in statement["lines"]) == given
    assert statement["redemptions"] == 6
    wrong = CliRunner().invoke(app, ["offers", "statement", "--manufacturer", "nobody", "--from", "2017-12-20",
                                     "--to", "2017-12-20"])
    assert wrong.exception is not None and "no manufacturer account 'nobody'" in str(wrong.exception)

