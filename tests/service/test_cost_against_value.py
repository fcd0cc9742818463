"""Customer cost against customer value (PRODUCT.md §3): what the programme gave a customer (points,
offers the chain funds, complaint compensation) against the margin they brought, per customer and
per value tier. Here because a complaint's compensation is part of the cost."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from desk_builders import SOAP, complaint_answers, member

from clientele.barcodes import card_barcode
from clientele.care import reports
from clientele.care import services as care
from clientele.config import settings
from clientele.loyalty.checkout import BasketIn, LineIn, post_basket
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import EarningRule
from clientele.members.models import Card, CustomerProfile
from clientele.offers import services as offers
from clientele.offers.models import ManufacturerAccount, Offer
from clientele.service import services
from clientele.service.models import Complaint
from clientele.service.vouchers import voucher_code

NOW = datetime.now(timezone.utc)


def _buy(key, receipt: str, total: str) -> dict:
    return post_basket(BasketIn(store_id=1, till_id="1", receipt_number=receipt, transacted_at=datetime.now(timezone.utc),
                                card=card_barcode(42), lines=[LineIn(1, SOAP, Decimal("1"), Decimal(total))]), key)


@pytest.fixture
def served_customer(home, ada, store, soap, agent):
    """Ada (gold) bought soap twice: the chain's 2.00 off soap (once per member) on the first
    basket, the manufacturer's 1.00 off on both; she complained, got 50 goodwill points and a
    5.00 voucher she used on the second basket. Returns the two till answers."""
    Card.objects.create(barcode=card_barcode(42), member=ada)
    CustomerProfile.objects.create(member=ada, refreshed_on=date(2026, 12, 5), value_tier="gold")
    member(43, value_tier="lead")
    EarningRule.objects.create(name="1 point per dollar", kind="base", points_per_unit=Decimal("1"))
    window = {"valid_from": NOW - timedelta(days=1), "valid_until": NOW + timedelta(days=10)}
    offers.save_offer(Offer(code="soap-2-off", name="2.00 off soap", target="products", benefit="amount_off",
                            amount=Decimal("2.00"), per_member_limit=1, stackable=True, **window), product_ids=[SOAP])
    maker = ManufacturerAccount.objects.create(name="Soap Co", manufacturer_id=7)
    offers.save_offer(Offer(code="soap-maker", name="1.00 off soap, paid by Soap Co", target="products",
                            benefit="amount_off", amount=Decimal("1.00"), funder=maker, stackable=True, **window),
                      product_ids=[SOAP])
    key, _ = issue_api_key(store, "till 1")
    first = _buy(key, "1", "40.00")
    complaint = services.record_complaint(services.ComplaintIn(**complaint_answers()), "sam").pk
    services.give_goodwill(complaint, 50, agent)
    services.give_voucher(complaint, agent, amount=Decimal("5.00"))
    second = _buy(key, "2", "30.00")
    return first, second


def _margins(rows: dict[int, float]) -> None:
    """The refresh's customer_margin result in the lake (net sales x 0.25)."""
    folder = settings().lake_path / "results" / "customer_margin"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"customer_id": pa.array(list(rows), pa.int64()),
                             "baskets": pa.array([3] * len(rows), pa.int64()),
                             "net_sales": [value * 4 for value in rows.values()],
                             "estimated_margin": list(rows.values()), "margin_rate": [0.25] * len(rows)}),
                   folder / "part-0.parquet")


def test_a_customers_cost_is_their_points_offers_and_compensation(served_customer, ada):
    first, second = served_customer
    applied = {offer["code"]: Decimal(offer["discount"]) for answer in served_customer for offer in answer["offers"]}
    voucher = voucher_code(Complaint.objects.get(member=ada).pk)
    assert set(applied) == {"soap-2-off", "soap-maker", voucher}  # what the till gave

    cost = care.customer_costs()[ada.pk]

    earned = first["points_earned"] + second["points_earned"]
    assert cost["points_given"] == earned  # the goodwill points are not counted twice
    assert cost["points_cost"] == Decimal(earned) / 100  # at the point value of 0.01
    assert cost["offers_cost"] == Decimal("2.00")  # the chain's offer, once
    assert cost["manufacturer_funded"] == Decimal("2.00")  # Soap Co's, on both baskets: not the chain's cost
    assert cost["goodwill_points"] == 50
    assert cost["service_cost"] == Decimal("0.50") + Decimal("5.00")  # goodwill at 0.01, the voucher redeemed
    assert cost["total_cost"] == cost["points_cost"] + Decimal("2.00") + Decimal("5.50")


def test_cost_against_value_of_one_customer_and_per_tier(served_customer, ada):
    _margins({42: 100.0, 43: 12.5})
    cost = care.customer_costs()[ada.pk]

    one = care.cost_against_value(ada, care.customer_margins()[42])
    tiers = {row["value_tier"]: row for row in care.cost_by_tier()}

    assert one["estimated_margin"] == Decimal("100.00") and one["net_sales"] == Decimal("400.00")
    assert one["net_value"] == Decimal("100.00") - cost["total_cost"]
    assert list(tiers) == ["platinum", "gold", "iron", "lead"]
    assert (tiers["gold"]["customers"], tiers["gold"]["estimated_margin"], tiers["gold"]["total_cost"]) == (
        1, Decimal("100.00"), cost["total_cost"])
    assert tiers["gold"]["cost_share_of_margin"] == round(float(cost["total_cost"] / 100), 4)
    assert (tiers["lead"]["customers"], tiers["lead"]["total_cost"], tiers["lead"]["net_value"]) == (
        1, 0, Decimal("12.50"))
    assert tiers["platinum"]["customers"] == 0 and tiers["platinum"]["cost_share_of_margin"] is None
    csv_lines = reports.cost_csv(care.cost_by_tier()).splitlines()
    assert csv_lines[0] == ",".join(reports.COLUMNS)
    assert csv_lines[2].startswith(f"gold,1,100.00,{cost['points_cost']},2.00,5.50,{cost['total_cost']},")


def test_before_any_refresh_the_costs_stand_without_a_margin(served_customer, ada):
    one = care.cost_against_value(ada, None)

    assert one["estimated_margin"] is None and one["net_value"] is None and one["total_cost"] > 0
    assert care.customer_margins() == {}
    assert {row["value_tier"]: row["estimated_margin"] for row in care.cost_by_tier()}["gold"] == 0
