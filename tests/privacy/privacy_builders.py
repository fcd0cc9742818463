"""Builders of the privacy scenarios: a member with distinctive personal data, put through everything the system does: baskets at the
till and in the lake, the refresh, shopping lists, a segment export, a campaign's mailing file, a
complaint, an access export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path


#: The planted member: a real household of the slice, with personal data no other row holds.
PLANTED = 1023
PERSONAL = {"first_name": "Zebulon", "last_name": "Quillfeather", "email": "zebulon.quillfeather@example.test",
            "phone": "+13125557391", "address_line": "77 Marigold Terrace", "postal_code": "ZQ97XY",
            "city": "Quillville"}
PRODUCT = 26738  # a product the slice bought
CHECKOUT_AT = datetime.now(timezone.utc) - timedelta(days=1)


@dataclass
class World:
    home: Path
    lake: Path
    member_id: int
    key: object


def sales_and_liability(lake: Path) -> tuple[Decimal, Decimal, int]:
    """Till sales, lake sales (to the cent) and the points liability (sum of the ledger)."""
    import duckdb
    from django.db.models import Sum

    from clientele.loyalty.models import Basket, PointsEntry

    till = Basket.objects.aggregate(total=Sum("total"))["total"] or Decimal("0")
    lake_sales = duckdb.connect().execute(
        f"SELECT sum(sales_value) FROM read_parquet('{lake}/basket_lines/**/*.parquet')").fetchone()[0]
    points = PointsEntry.objects.aggregate(total=Sum("amount"))["total"] or 0
    return till, Decimal(lake_sales), points


def run_everything(world: World, tmp_exports: Path) -> None:
    """The nightly refresh and its serving steps, a segment export, a campaign mailed by post, a
    complaint answered and closed, an access export: every place the member's data can reach."""
    from typer.testing import CliRunner

    from clientele.analytics.shopping_lists import read_list_inputs
    from clientele.analytics_cli import app as analytics
    from clientele.campaigns import services as campaigns
    from clientele.catalog.models import Product
    from clientele.engine import connect
    from clientele.loyalty.lake_sync import sync_lake
    from clientele.members.models import CustomerProfile
    from clientele.analytics.results import till_contexts
    from clientele.care.follow_ups import FollowUpRules, list_follow_ups, record_follow_up
    from clientele.care.models import FollowUpCall
    from clientele.members.services import write_customer_profiles, write_till_context
    from clientele.offers.lists import generate_lists
    from clientele.privacy.access import export_member
    from clientele.refresh import customer_profiles, refresh
    from clientele.service import complaints

    sync_lake()
    refresh(as_of=date(2017, 12, 31), refresh_date=date(2018, 1, 2))
    write_customer_profiles(customer_profiles(), refreshed_on=date(2018, 1, 2))
    write_till_context(till_contexts(connect("duckdb")), refreshed_on=date(2018, 1, 2))
    listed = list_follow_ups(rules=FollowUpRules(("platinum", "gold", "iron", "lead"), Decimal("0.01"), 100000))
    assert listed >= 1
    call = FollowUpCall.objects.filter(member__customer_id=PLANTED).first()
    record_follow_up(call.pk, "agent", "issue", f"{PERSONAL['first_name']} asks to be called on {PERSONAL['phone']}")
    inputs = read_list_inputs(connect("duckdb"))
    wanted = {row["product_id"] for row in inputs.candidates.to_pylist()} - {PRODUCT}
    Product.objects.bulk_create([Product(product_id=p, manufacturer_id=1) for p in wanted])
    generate_lists(inputs, datetime(2018, 1, 2, 3, 0, tzinfo=timezone.utc))
    segment = f"rfm={CustomerProfile.objects.get(member__customer_id=PLANTED).rfm_segment}"
    exported = CliRunner().invoke(analytics, ["export", segment, "--out", str(world.home / "exports" / "mailing.csv")])
    assert exported.exit_code == 0, exported.output
    campaign = campaigns.create_campaign(campaigns.CampaignIn(
        name="Thanks", owner="ana", goal_metric="spend", goal_target=Decimal("0.05"), window_start=date(2027, 1, 4),
        window_end=date(2027, 1, 31), audience=segment, channels=("post",), message="Thank you",
        holdout_share=Decimal("0")))
    campaigns.launch(campaign.id)
    campaigns.send(campaign.id, "post", out=world.home / "campaigns" / "post.csv")
    complaint = complaints.record_complaint(complaints.ComplaintIn(
        member_number=PLANTED, channel="store", cause="product_quality", severity="low",
        what_happened=f"{PERSONAL['first_name']} {PERSONAL['last_name']} found the ice cream melted",
        how_it_happened="at home", why_unhappy=f"call me on {PERSONAL['phone']}", served_by="cashier Lee",
        wanted_resolution=f"write to {PERSONAL['address_line']}", claim_reasonable=True), actor="agent")
    complaints.change_status(complaint.id, "in_progress", "agent")
    complaints.change_status(complaint.id, "resolved", "agent", note=f"refunded {PERSONAL['first_name']}")
    export_member(PLANTED)
