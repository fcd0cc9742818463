"""A win-back list becomes a campaign with a control group (through the campaigns app's services):
each listed member takes the group the campaign's random holdout drew, agents call only the treated,
and the win-back rate is measured treated against holdout."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from desk_builders import member

from clientele.analytics.holdout_draw import stratified_holdout
from clientele.campaigns.models import Assignment, Campaign
from clientele.loyalty import ledger
from clientele.loyalty.models import Basket
from clientele.service import errors, services
from clientele.service.models import WinBackEntry
from clientele.service.win_back_campaigns import WIN_BACK_AUDIENCE, win_back_by_group, win_back_campaign

LAPSED = range(1, 301)  # customers 1-300 lapsed or declining; 301-320 stable


def stage(customer_id: int) -> str:
    return "stability" if customer_id > 300 else "lapsed" if customer_id % 2 else "decline"


@pytest.fixture
def refreshed(home: Path, db) -> list[int]:
    """The last refresh's profiles of customers 1-320, in the lake and in the serving table."""
    customers = range(1, 321)
    rows = [{"customer_id": c, "rfm_segment": "Hibernating", "pyramid_level": "medium" if c % 5 else "major",
             "value_class": "B", "value_tier": "gold", "lifecycle_stage": stage(c), "probability_alive": 0.5,
             "at_risk": False, "predicted_clv": 100.0 + c, "refresh_date": date(2026, 12, 1)} for c in customers]
    folder = home / "lake" / "results" / "customer_profiles"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    for c in customers:
        member(c, lifecycle_stage=stage(c), pyramid_level="medium" if c % 5 else "major",
               predicted_clv=Decimal(100 + c), probability_alive=0.5, value_tier="gold")
    return list(customers)


def test_a_win_back_list_becomes_a_campaign_whose_random_holdout_is_never_called(refreshed):
    listed = services.build_win_back_list("December calls", "sam", size=250)
    campaign = win_back_campaign(listed.pk, "sam")
    assert (campaign.status, campaign.audience, campaign.goal_metric) == ("running", WIN_BACK_AUDIENCE,
                                                                          "reactivation_rate")
    assert campaign.assignments.count() == 300  # every lapsed or declining customer, none of the stable
    entries = list(WinBackEntry.objects.filter(win_back_list=listed).select_related("member"))
    drawn = dict(Assignment.objects.filter(campaign=campaign).values_list("customer_id", "group"))
    assert all(e.group == drawn[e.member.customer_id] for e in entries)
    holdout = [e for e in entries if e.group == "holdout"]
    assert 10 <= len(holdout) <= 45  # the usual 10% of 250, drawn at random per stratum
    assert win_back_campaign(listed.pk, "sam").pk == campaign.pk  # once per list
    assert Campaign.objects.count() == 1
    with pytest.raises(errors.InvalidWinBack, match="control group"):
        services.record_call(holdout[0].pk, "sam", True, "won_back")
    treated = next(e for e in entries if e.group == "treated")
    assert services.record_call(treated.pk, "sam", True, "won_back").outcome == "won_back"


def test_the_holdout_is_the_campaigns_own_random_draw(refreshed):
    listed = services.build_win_back_list("December calls", "sam", size=300)
    campaign = win_back_campaign(listed.pk, "sam")
    rows = sorted(Assignment.objects.filter(campaign=campaign).values_list("customer_id", "stratum", "group"))
    again = stratified_holdout(campaign.seed, np.array([r[0] for r in rows]), np.array([r[1] for r in rows],
                                                                                          dtype=object), 0.1)
    assert [r[2] == "holdout" for r in rows] == list(again)


def test_the_win_back_rate_is_measured_treated_against_holdout(refreshed, store):
    listed = services.build_win_back_list("December calls", "sam", size=300)
    campaign = win_back_campaign(listed.pk, "sam")
    entries = list(WinBackEntry.objects.filter(win_back_list=listed).select_related("member"))
    treated = [e for e in entries if e.group == "treated"]
    holdout = [e for e in entries if e.group == "holdout"]
    after = campaign.launched_at + timedelta(days=2)
    # half the treated come back with a till basket, a tenth of the holdout; one came back before
    back = treated[: len(treated) // 2] + holdout[: max(1, len(holdout) // 10)]
    for n, entry in enumerate(back):
        Basket.objects.create(member=entry.member, store=store, till_id="T1", receipt_number=str(n),
                              transacted_at=after, total=Decimal("20.00"), request_hash="x", result={}, actor="till")
    Basket.objects.create(member=holdout[-1].member, store=store, till_id="T1", receipt_number="before",
                          transacted_at=campaign.launched_at - timedelta(days=1), total=Decimal("5.00"),
                          request_hash="x", result={}, actor="till")
    result = win_back_by_group(listed.pk)
    assert (result["treated"]["members"], result["treated"]["came_back"]) == (len(treated), len(treated) // 2)
    assert (result["holdout"]["members"], result["holdout"]["came_back"]) == (len(holdout), max(1, len(holdout) // 10))
    difference = result["difference"]
    assert difference["low"] < difference["value"] < difference["high"]
    assert difference["value"] == pytest.approx(result["treated"]["win_back_rate"] - result["holdout"]["win_back_rate"],
                                                abs=1e-3)
    assert difference["low"] > 0  # 50% against ~10%: the calls brought customers back


def test_a_list_already_called_or_without_a_campaign_is_refused(refreshed):
    listed = services.build_win_back_list("December calls", "sam", size=10)
    with pytest.raises(errors.InvalidWinBack, match="no campaign"):
        win_back_by_group(listed.pk)
    services.record_call(listed.entries.first().pk, "sam", False, "unreachable")
    with pytest.raises(errors.InvalidWinBack, match="calls already"):
        win_back_campaign(listed.pk, "sam")
    with pytest.raises(errors.InvalidWinBack, match="no win-back list"):
        win_back_campaign(999, "sam")
    assert not Campaign.objects.exists()
