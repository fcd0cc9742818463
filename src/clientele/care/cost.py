"""Customer cost against customer value (PRODUCT.md §3: "total customer value versus total customer
cost"), per customer and per value tier.

Cost, over the customer's whole history in the operational database, in money:
- points: the points credited to them (baskets, bonuses, member events; reversals deducted) at the
  programme's point value, their liability rate; goodwill points are counted under service;
- offers: the discounts of the offers they redeemed that the chain funds (a manufacturer-funded
  discount is the manufacturer's cost, shown apart); complaint vouchers are counted under service;
- service: complaint compensation: goodwill points at the point value, the vouchers' redeemed
  discounts and refund notes.
Value: their estimated gross margin over their whole history in the lake (`analytics.margin`): the
lake has no cost price, so the margin is net sales x the setting CLIENTELE_MARGIN_RATE.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from django.db.models import Sum

from clientele.loyalty.models import PointsEntry, Programme
from clientele.members.models import CustomerProfile, Member
from clientele.offers.redemption_models import OfferRedemption
from clientele.service.models import Compensation

#: Value tiers, large customers first; members without a nightly profile come last.
VALUE_TIERS = ("platinum", "gold", "iron", "lead")
NOT_RANKED = "not ranked"
#: Ledger kinds that are points the programme gave the customer (reversals of earned points deducted).
GIVEN_KINDS = (PointsEntry.Kind.POINTS_EARNED, PointsEntry.Kind.BONUS_AWARDED, PointsEntry.Kind.EVENT_BONUS,
               PointsEntry.Kind.POINTS_REVERSED)
CENT = Decimal("0.01")
COST_PARTS = ("points_cost", "offers_cost", "service_cost")


def _zero() -> dict:
    return {"points_given": 0, "points_cost": Decimal(0), "offers_cost": Decimal(0),
            "manufacturer_funded": Decimal(0), "goodwill_points": 0, "service_cost": Decimal(0)}


def customer_costs(member_ids: list[int] | None = None) -> dict[int, dict]:
    """Per member id (only members with a cost): points_given, points_cost, offers_cost,
    manufacturer_funded (not a cost of the chain), goodwill_points, service_cost and total_cost
    (money, Decimal, to the cent). `member_ids`: only these members (all without)."""
    point_value = Programme.current().point_value
    goodwill = Compensation.objects.filter(kind=Compensation.Kind.POINTS)
    entries = PointsEntry.objects.filter(kind__in=GIVEN_KINDS).exclude(
        idempotency_key__in=goodwill.exclude(ledger_key="").values("ledger_key"))
    redemptions = OfferRedemption.objects.filter(member__isnull=False)
    refunds = Compensation.objects.filter(kind=Compensation.Kind.REFUND_NOTE, amount__isnull=False)
    if member_ids is not None:
        entries = entries.filter(account__member_id__in=member_ids)
        goodwill = goodwill.filter(complaint__member_id__in=member_ids)
        redemptions = redemptions.filter(member_id__in=member_ids)
        refunds = refunds.filter(complaint__member_id__in=member_ids)
    costs: dict[int, dict] = defaultdict(_zero)
    for member_id, points in entries.values_list("account__member_id").annotate(points=Sum("amount")):
        costs[member_id]["points_given"] = int(points)
    for member_id, points in goodwill.values_list("complaint__member_id").annotate(points=Sum("points")):
        costs[member_id]["goodwill_points"] = int(points)
    chain_offers = redemptions.filter(funder__isnull=True, offer__complaint_compensation__isnull=True)
    for member_id, money in chain_offers.values_list("member_id").annotate(money=Sum("discount")):
        costs[member_id]["offers_cost"] = money
    for member_id, money in redemptions.filter(funder__isnull=False).values_list("member_id").annotate(
            money=Sum("discount")):
        costs[member_id]["manufacturer_funded"] = money
    vouchers = redemptions.filter(offer__complaint_compensation__isnull=False)
    for member_id, money in vouchers.values_list("member_id").annotate(money=Sum("discount")):
        costs[member_id]["service_cost"] += money
    for member_id, money in refunds.values_list("complaint__member_id").annotate(money=Sum("amount")):
        costs[member_id]["service_cost"] += money
    for cost in costs.values():
        cost["points_cost"] = (cost["points_given"] * point_value).quantize(CENT)
        cost["service_cost"] = (cost["service_cost"] + cost["goodwill_points"] * point_value).quantize(CENT)
        cost["offers_cost"] = Decimal(cost["offers_cost"]).quantize(CENT)
        cost["manufacturer_funded"] = Decimal(cost["manufacturer_funded"]).quantize(CENT)
        cost["total_cost"] = sum((cost[part] for part in COST_PARTS), Decimal(0))
    return dict(costs)


def customer_margins(lake: Path | None = None) -> dict[int, dict]:
    """Per customer id, the last refresh's `customer_margin` row: baskets, net_sales,
    estimated_margin (currency units) and margin_rate. Empty before a refresh wrote it."""
    from clientele.analytics.results import read_result
    from clientele.engine import connect
    from clientele.lake.reader import LakeTableMissing

    try:
        table = read_result(connect("duckdb"), "customer_margin", lake)
    except LakeTableMissing:
        return {}
    rows = table.select("customer_id", "baskets", "net_sales", "estimated_margin", "margin_rate").to_pyarrow()
    return {row.pop("customer_id"): row for row in rows.to_pylist()}


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def cost_against_value(member: Member, margin: dict | None) -> dict:
    """One member's costs (`customer_costs`) against `margin`, their row of the refresh's
    `customer_margin` (None before a refresh described them): estimated_margin, net_sales,
    margin_rate, and net_value = margin - total cost (None without a margin)."""
    cost = customer_costs([member.pk]).get(member.pk, _zero() | {"total_cost": Decimal(0)})
    estimated = _money(margin["estimated_margin"]) if margin else None
    return cost | {"net_sales": _money(margin["net_sales"]) if margin else None, "estimated_margin": estimated,
                   "margin_rate": margin["margin_rate"] if margin else None,
                   "net_value": None if estimated is None else estimated - cost["total_cost"]}


def cost_by_tier(lake: Path | None = None) -> list[dict]:
    """Per value tier of the nightly profiles (large customers first, then members with a cost but
    no profile): customers, estimated margin, each cost, total cost, net value (margin - cost) and
    cost as a share of margin (None without margin)."""
    tier_of = {member_id: (customer_id, tier or NOT_RANKED) for member_id, customer_id, tier in
               CustomerProfile.objects.values_list("member_id", "member__customer_id", "value_tier")}
    costs = customer_costs()
    missing = [m for m in costs if m not in tier_of]
    for member_id, customer_id in Member.objects.filter(pk__in=missing).values_list("pk", "customer_id"):
        tier_of[member_id] = (customer_id, NOT_RANKED)
    margins = customer_margins(lake)
    sums = {tier: {"customers": 0, "estimated_margin": Decimal(0), "total_cost": Decimal(0),
                   **{part: Decimal(0) for part in COST_PARTS}} for tier in (*VALUE_TIERS, NOT_RANKED)}
    for member_id, (customer_id, tier) in tier_of.items():
        row = sums.setdefault(tier, {"customers": 0, "estimated_margin": Decimal(0), "total_cost": Decimal(0),
                                     **{part: Decimal(0) for part in COST_PARTS}})
        row["customers"] += 1
        row["estimated_margin"] += _money((margins.get(customer_id) or {}).get("estimated_margin"))
        cost = costs.get(member_id)
        if cost:
            for part in (*COST_PARTS, "total_cost"):
                row[part] += cost[part]
    report = []
    for tier, row in sums.items():
        if tier == NOT_RANKED and not row["customers"]:
            continue
        share = round(float(row["total_cost"] / row["estimated_margin"]), 4) if row["estimated_margin"] else None
        money = {name: value.quantize(CENT) for name, value in row.items() if isinstance(value, Decimal)}
        report.append({"value_tier": tier, **row, **money,
                       "net_value": (row["estimated_margin"] - row["total_cost"]).quantize(CENT),
                       "cost_share_of_margin": share})
    return report
