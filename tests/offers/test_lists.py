"""Personal shopping lists from a real slice of the Complete Journey: who gets one, what is on it,
the offers sized by value, the barcode, the printable page and the JSON."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import IntegrityError
from barcode_check import decode_ean13_svg
from offer_builders import AS_OF, make_offer

from clientele.analytics.results import read_result
from clientele.analytics.shopping_lists import ListRules, read_list_inputs
from clientele.barcodes import is_valid_ean13, list_barcode
from clientele.catalog.models import Product
from clientele.engine import connect
from clientele.members.models import CustomerProfile, Member
from clientele.offers import generation, lists
from clientele.offers.errors import ExpiredList, ListOfAnotherMember, UnknownList, UnknownMember
from clientele.offers.models import ShoppingList, ShoppingListItem
from clientele.privacy.consent import record_consent

GENERATED = datetime(2017, 12, 18, 3, 0, tzinfo=timezone.utc)


def weekly_spend(lake) -> dict[int, float]:
    con = connect("duckdb")
    baskets = con.read_parquet(str(lake / "results" / "baskets" / "*.parquet"))
    recent = baskets.filter(baskets.basket_date > AS_OF - timedelta(weeks=8))
    spend = recent.group_by("customer_id").aggregate(total=recent.spend.sum()).to_pyarrow().to_pylist()
    return {row["customer_id"]: row["total"] / 8 for row in spend}


def test_members_spending_over_25_a_week_get_a_list_of_their_due_products(served):
    refused = Member.objects.get(customer_id=1023)
    # withdrawn by the member (a consent event; the member's field is derived from it)
    record_consent(refused, "profiling", "", False, occurred_at=GENERATED - timedelta(days=1), source="web",
                   text_version="v1")
    inputs = read_list_inputs(connect("duckdb"), served)
    result = lists.generate_lists(inputs, GENERATED)

    qualifying = {c for c, spend in weekly_spend(served).items() if spend > 25}
    with_due_products = {row["customer_id"] for row in inputs.candidates.to_pylist()}
    listed = set(ShoppingList.objects.values_list("member__customer_id", flat=True))
    assert with_due_products <= qualifying and len(with_due_products) >= len(qualifying) * 0.6
    assert listed == with_due_products - {1023} and 1023 in with_due_products
    assert result.without_consent == 1 and result.lists == len(listed)
    forecasts = read_result(connect("duckdb"), "next_purchases", served).to_pandas()
    expected_in_window = forecasts[forecasts.expected_date.dt.date <= date(2017, 12, 31)].groupby("customer_id").size()
    ranked = {}
    for row in inputs.candidates.to_pylist():
        ranked.setdefault(row["customer_id"], []).append(row["product_id"])
    # as many products as the member has due in the window (decision 0113), at most 20
    assert all(len(products) == min(20, expected_in_window[customer]) for customer, products in ranked.items())
    catalogue = set(Product.objects.values_list("product_id", flat=True))
    for shopping_list in ShoppingList.objects.select_related("member"):
        due = shopping_list.items.filter(reason="due")
        assert 0 < due.count() <= 20
        assert (shopping_list.valid_from, shopping_list.valid_until) == (date(2017, 12, 18), date(2017, 12, 31))
        # in the engine's order, less the products the catalogue does not have
        assert [item.product_id for item in due.order_by("position")] == [
            p for p in ranked[shopping_list.member.customer_id] if p in catalogue]


def test_generating_again_supersedes_the_previous_list(served):
    inputs = read_list_inputs(connect("duckdb"), served)
    lists.generate_lists(inputs, GENERATED)
    first = set(ShoppingList.objects.values_list("number", flat=True))
    lists.generate_lists(inputs, GENERATED + timedelta(days=14))
    current = ShoppingList.objects.filter(status="current")
    assert current.count() == len(first) and not set(current.values_list("number", flat=True)) & first
    assert not lists.lists_due(date(2018, 1, 2), ListRules()) and lists.lists_due(date(2018, 1, 15), ListRules())


def test_offers_are_sized_by_the_members_value_and_capped(served):
    inputs = read_list_inputs(connect("duckdb"), served)
    listed = {row["product_id"] for row in inputs.candidates.to_pylist()}
    department = Product.objects.filter(product_id__in=listed).values_list("department", flat=True).first()
    make_offer("dept-40c", target="department", department=department, manufacturer_id=None, brand_type="",
               amount=Decimal("0.40"), valid_from=GENERATED - timedelta(days=30),
               valid_until=GENERATED + timedelta(days=60))
    lists.generate_lists(inputs, GENERATED)
    values = {}
    for shopping_list in ShoppingList.objects.select_related("member__profile"):
        offered = shopping_list.items.exclude(offer=None)
        assert shopping_list.offers_value == sum((i.offer_value for i in offered), Decimal("0"))
        sizing = {"VIP": Decimal("40"), "major": Decimal("30"), "medium": Decimal("15"), "small": Decimal("8")}
        assert shopping_list.offers_value <= sizing[shopping_list.pyramid_level]
        for item in offered:
            values.setdefault(shopping_list.pyramid_level, set()).add(item.offer_value)
            assert item.offer_description.endswith("until 2017-12-31")
    assert values, "no list carried the offer"
    factors = {"VIP": 3, "major": 2, "medium": Decimal("1.5"), "small": 1}
    for level, seen in values.items():
        assert max(seen) <= Decimal("0.40") * factors[level]


def test_heavy_national_brand_buyers_get_the_store_brand_move(served):
    inputs = read_list_inputs(connect("duckdb"), served)
    due = {(row["customer_id"], row["product_id"]) for row in inputs.candidates.to_pylist()}
    heavy = next(cell for cell in inputs.cells.to_pylist() if cell["category"] in inputs.leaders
                 and (cell["customer_id"], inputs.leaders[cell["category"]][0]) not in due)
    make_offer("move", target="category", category=heavy["category"], manufacturer_id=None, brand_type="Private",
               amount=Decimal("1.00"), eligibility="personal", valid_from=GENERATED - timedelta(days=1),
               valid_until=GENERATED + timedelta(days=30))
    lists.generate_lists(inputs, GENERATED)
    moved = ShoppingListItem.objects.filter(reason="cross_sell", shopping_list__member__customer_id=heavy["customer_id"])
    assert [(item.category, item.offer.code, item.product.brand_type) for item in moved] == [
        (heavy["category"], "move", "Private")]


def test_a_list_prints_with_its_barcode_and_reads_as_json(served, tmp_path):
    from typer.testing import CliRunner

    from clientele.cli import app

    lists.generate_lists(read_list_inputs(connect("duckdb"), served), GENERATED)
    shopping_list = ShoppingList.objects.select_related("member").first()
    assert is_valid_ean13(shopping_list.number) and shopping_list.number.startswith("28")
    assert all(number == list_barcode(pk) for pk, number in ShoppingList.objects.values_list("pk", "number"))
    page = lists.printable_html(shopping_list)
    assert decode_ean13_svg(page[page.index("<svg"):page.index("</svg>") + 6]) == shopping_list.number
    assert shopping_list.member.display_name in page
    departments = re.findall(r"<h2>(.*?)</h2>", page)
    assert departments == sorted(departments) and departments

    customer = shopping_list.member.customer_id
    shown = CliRunner().invoke(app, ["lists", "show", str(customer), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["number"] == shopping_list.number
    assert sum(len(d["items"]) for d in document["departments"]) == shopping_list.items.count()
    missing = CliRunner().invoke(app, ["lists", "show", "999999"])
    assert isinstance(missing.exception, UnknownMember)  # `clientele` prints it in one line, exit code 2


def test_a_list_barcode_unknown_expired_or_of_another_member_is_refused(served):
    lists.generate_lists(read_list_inputs(connect("duckdb"), served), GENERATED)
    shopping_list = ShoppingList.objects.select_related("member").first()
    assert lists.find_list(shopping_list.number, shopping_list.member.customer_id, date(2017, 12, 20)) == shopping_list
    with pytest.raises(UnknownList):
        lists.find_list(list_barcode(999_999))
    with pytest.raises(ExpiredList):
        lists.find_list(shopping_list.number, on=date(2018, 1, 1))
    with pytest.raises(ListOfAnotherMember):
        lists.find_list(shopping_list.number, customer_id=shopping_list.member.customer_id + 1)


def test_no_profile_no_list_for_a_member_who_refused_profiling(served):
    CustomerProfile.objects.all().delete()
    Member.objects.update(profiling_consent=False)
    result = lists.generate_lists(read_list_inputs(connect("duckdb"), served), GENERATED)
    assert result.lists == 0 and not ShoppingList.objects.exists()


def test_the_nightly_step_generates_lists_once_per_cycle(served, monkeypatch, capsys):
    from clientele.analytics_cli import _serve_lists
    from clientele.config import settings

    monkeypatch.setenv("CLIENTELE_LAKE", str(served))
    settings.cache_clear()
    try:
        _serve_lists(None, date(2026, 12, 6))
        lists_made = ShoppingList.objects.count()
        _serve_lists(None, date(2026, 12, 7))  # the next night: the lists are a day old
    finally:
        settings.cache_clear()
    assert lists_made > 0 and ShoppingList.objects.count() == lists_made
    assert "not due (every 14 days)" in capsys.readouterr().out


@pytest.mark.parametrize("column", ["product_id", "offer_id"])
def test_a_generation_naming_an_unknown_product_or_offer_is_refused_by_the_database_whole(
        served, transactional_db, monkeypatch, column):
    """The items' foreign keys hold for a generation's bulk write (on PostgreSQL, its own partition's
    keys validated at once): an item naming a product or an offer the database does not have fails
    the generation, and the previous lists stay current with their items, nothing half-written."""
    inputs = read_list_inputs(connect("duckdb"), served)
    lists.generate_lists(inputs, GENERATED)
    before = sorted(ShoppingListItem.objects.filter(shopping_list__status="current")
                    .values_list("shopping_list__number", "position", "product_id", "offer_id"))
    computed = generation._lists_and_items

    def with_an_unknown_reference(con, first, sizing):
        computed(con, first, sizing)
        con.execute(f"UPDATE items SET {column} = 999999999 WHERE shopping_list_id = {first} AND position = 1")

    monkeypatch.setattr(generation, "_lists_and_items", with_an_unknown_reference)
    with pytest.raises(IntegrityError):
        lists.generate_lists(inputs, GENERATED + timedelta(days=14))
    after = sorted(ShoppingListItem.objects.filter(shopping_list__status="current")
                   .values_list("shopping_list__number", "position", "product_id", "offer_id"))
    assert after == before and len(before) > 0
    assert not ShoppingList.objects.filter(generated_at=GENERATED + timedelta(days=14)).exists()


def test_lists_are_generated_again_after_every_list_was_deleted(served):
    """A member's erasure deletes their lists: the next generation still writes its items (on
    PostgreSQL, after the ranges of the earlier generations' partitions)."""
    inputs = read_list_inputs(connect("duckdb"), served)
    first = lists.generate_lists(inputs, GENERATED)
    ShoppingList.objects.all().delete()
    again = lists.generate_lists(inputs, GENERATED + timedelta(days=14))
    assert (again.lists, again.items) == (first.lists, first.items)
    assert ShoppingListItem.objects.count() == again.items
    assert all(item.shopping_list.status == "current" for item in ShoppingListItem.objects.select_related(
        "shopping_list"))


def test_an_item_added_one_by_one_is_kept_beside_a_generation(served):
    """Items written through the ORM (a list made by hand, the tests' builders) land beside the
    generated ones, and a generation after them still attaches its own."""
    product = Product.objects.order_by("product_id").first()
    member = Member.objects.order_by("id").first()
    made = ShoppingList.objects.create(number="2800000000005", member=member, generated_at=GENERATED,
                                       as_of=date(2017, 12, 17), valid_from=date(2017, 12, 18),
                                       valid_until=date(2017, 12, 31), status="superseded")
    ShoppingListItem.objects.create(shopping_list=made, position=1, product=product)
    result = lists.generate_lists(read_list_inputs(connect("duckdb"), served), GENERATED)
    assert result.items > 0 and ShoppingListItem.objects.count() == result.items + 1
    assert made.items.get().product_id == product.product_id


def test_a_lists_offers_are_kept_in_order_within_the_members_maximum():
    """The cap's rule, computed set-based: a list whose offers are worth the maximum or less keeps
    them all; over it, an offer that does not fit is left off and a later smaller one still fits."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.register("members", pa.table({"member_id": [1, 2], "customer_id": [10, 20], "consent": [True, True],
                                      "level": ["small", "small"]}))
    con.register("sizing", pa.table({"level": ["small"], "factor": pa.array([Decimal("1")], pa.decimal128(4, 2)),
                                     "max_value": pa.array([Decimal("5")], pa.decimal128(12, 2))}))
    con.register("candidates_in", pa.table({"customer_id": [10, 20]}))
    values = {10: ["2.00", None, "3.00"], 20: ["3.00", "4.00", None, "1.50", "0.60"]}
    rows = [(customer, position, position, n) for customer, offered in values.items()
            for position, n in enumerate(offered, start=1)]
    con.register("chosen", pa.table({
        "customer_id": [r[0] for r in rows], "position": [r[1] for r in rows], "product_id": [r[2] for r in rows],
        "reason": ["due"] * len(rows), "probability": [0.5] * len(rows),
        "expected_date": pa.array([date(2017, 12, 20)] * len(rows)),
        "offer_id": [None if r[3] is None else 7 for r in rows],
        "value": pa.array([None if r[3] is None else Decimal(r[3]) for r in rows], pa.decimal128(12, 2))}))
    con.register("catalogue", pa.table({"product_id": [1, 2, 3, 4, 5], "department": ["GROCERY"] * 5,
                                        "category": ["MILK"] * 5}))
    con.register("offer_texts", pa.table({"offer_id": [7], "level": ["small"], "description": ["off"]}))
    generation._lists_and_items(con, 100, {})
    kept = con.execute("SELECT l.customer_id, i.position FROM items i JOIN lists l ON l.id = i.shopping_list_id "
                       "WHERE i.offer_id IS NOT NULL ORDER BY 1, 2").fetchall()
    assert kept == [(10, 1), (10, 3), (20, 1), (20, 4)]  # 2 + 3 = 5 fits; 3, not 4, then 1.50, not 0.60
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 8  # the due items stay, with or without


def test_retention_deletes_the_items_of_lists_ended_long_ago_and_keeps_the_lists(served):
    """Items of lists that ended over CLIENTELE_RETENTION_LIST_DAYS (90) ago go, with the partition
    of their generation on PostgreSQL; the lists stay (redemptions name them), and the current
    generation's items and an item kept by hand on a recent list are untouched."""
    from dataclasses import replace

    from clientele.privacy.retention import run_retention

    inputs = read_list_inputs(connect("duckdb"), served)
    old = lists.generate_lists(replace(inputs, as_of=inputs.as_of - timedelta(days=120)),
                               GENERATED - timedelta(days=120))
    ended_on = ShoppingList.objects.get(number=ShoppingList.objects.order_by("id").first().number).valid_until
    current = lists.generate_lists(inputs, GENERATED)
    member, product = Member.objects.order_by("id").first(), Product.objects.order_by("product_id").first()
    by_hand = ShoppingList.objects.create(number="2800000000005", member=member, generated_at=GENERATED,
                                          as_of=inputs.as_of, valid_from=inputs.as_of + timedelta(days=1),
                                          valid_until=inputs.as_of + timedelta(days=14), status="superseded")
    ShoppingListItem.objects.create(shopping_list=by_hand, position=1, product=product)
    now = datetime.combine(ended_on + timedelta(days=91), datetime.min.time(), tzinfo=timezone.utc)
    partitions = _item_partitions()

    report = run_retention(apply=False, now=now)
    assert report["rules"][2]["rows"] == old.items > 0
    assert ShoppingListItem.objects.count() == old.items + current.items + 1

    run_retention(apply=True, now=now)
    assert ShoppingList.objects.count() == old.lists + current.lists + 1
    kept = ShoppingListItem.objects.values_list("shopping_list__valid_until", flat=True).distinct()
    assert set(kept) == {inputs.as_of + timedelta(days=14)}
    assert ShoppingListItem.objects.count() == current.items + 1 and by_hand.items.count() == 1
    assert run_retention(apply=False, now=now)["rules"][2]["rows"] == 0
    if partitions is not None:  # PostgreSQL: the old generation's partition is gone, not emptied
        assert len(_item_partitions()) == len(partitions) - 1


def _item_partitions() -> list[str] | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = 'offers_shoppinglistitem'::regclass")
        return sorted(name for (name,) in cursor.fetchall())
