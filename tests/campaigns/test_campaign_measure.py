"""Measuring a launched campaign over the lake: lift against the holdout, costs, ROI, interim label."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from campaign_builders import CUSTOMERS, WINDOW_END, WINDOW_START, write_baskets
from django.utils import timezone

from clientele.campaigns import errors, services
from clientele.campaigns.measurement import measure_campaign


def launch(**changes):
    base = dict(name="Win back", owner="ana", goal_metric="spend", goal_target=Decimal("0.05"),
                window_start=WINDOW_START, window_end=WINDOW_END, audience="lifecycle=decline OR pyramid=major",
                strata="rfm_segment",  # one stratum: the plain Welch difference of the two groups' means
                channels=("till",), message="We miss you", holdout_share=Decimal("0.4"), fixed_cost=Decimal("20"),
                margin_rate=Decimal("0.3"))
    campaign = services.create_campaign(services.CampaignIn(**{**base, **changes}))
    services.launch(campaign.id)
    return campaign


def test_the_lift_of_spend_is_treated_minus_holdout_over_the_window(lake, members):
    campaign = launch()
    groups = dict(campaign.assignments.values_list("customer_id", "group"))
    window_spend = {c: 30.0 + (10 if groups.get(c) == "treated" else 0) + c % 5 for c in CUSTOMERS}
    pre = [(c, WINDOW_START - timedelta(days=10), 20.0 + c % 7) for c in CUSTOMERS]
    after = [(c, WINDOW_END + timedelta(days=1), 999.0) for c in CUSTOMERS]  # outside the window: not counted
    write_baskets(lake, pre + [(c, WINDOW_START + timedelta(days=3), s) for c, s in window_spend.items()] + after)
    for customer_id in list(groups)[:3]:
        services.till_messages(customer_id)  # contacts cost money only when sent
    result = measure_campaign(campaign.id)
    treated = [window_spend[c] for c, g in groups.items() if g == "treated"]
    held = [window_spend[c] for c, g in groups.items() if g == "holdout"]
    spend = result["lifts"]["spend"]
    assert spend["difference"] == pytest.approx(np.mean(treated) - np.mean(held))
    assert spend["treated_n"] == len(treated) and spend["holdout_n"] == len(held)
    assert result["lifts"]["repurchase_rate"]["treated"] == 1.0
    assert result["adjusted"]["spend"]["difference_high"] - result["adjusted"]["spend"]["difference_low"] > 0
    assert not result["interim"] and "Intent-to-treat" in result["analysis"]
    assert result["costs"]["total"] == Decimal("20")
    assert result["roi"]["incremental_margin"] == pytest.approx(result["adjusted"]["spend"]["difference"] * len(treated) * 0.3)
    assert result["sentences"][0].startswith("spend per member rose")
    assert set(result["per_stratum"]) <= {a for a in campaign.assignments.values_list("stratum", flat=True)}


def test_before_the_window_closes_the_result_is_labelled_interim(lake, members):
    today = timezone.now().date()
    campaign = launch(window_start=today - timedelta(days=5), window_end=today + timedelta(days=20))
    write_baskets(lake, [(c, today - timedelta(days=d), 10.0 + d) for c in CUSTOMERS for d in (2, 30)])
    result = measure_campaign(campaign.id)
    assert result["interim"] and result["label"].startswith("INTERIM")
    assert result["measured_to"] == today


def test_a_draft_or_a_window_not_yet_open_is_refused(lake, members):
    draft = services.create_campaign(services.CampaignIn(
        name="x", owner="ana", goal_metric="spend", goal_target=Decimal("0.05"), window_start=date(2030, 1, 1),
        window_end=date(2030, 1, 31), audience="pyramid=VIP"))
    with pytest.raises(errors.WrongStatus, match="draft"):
        measure_campaign(draft.id)
    services.launch(draft.id)
    with pytest.raises(errors.WrongStatus, match="opens on 2030-01-01"):
        measure_campaign(draft.id)


def test_the_measurement_is_the_same_on_spark_and_duckdb(lake, members, spark_engine):
    campaign = launch(strata="pyramid_level,lifecycle_stage")
    groups = dict(campaign.assignments.values_list("customer_id", "group"))
    write_baskets(lake, [(c, WINDOW_START - timedelta(days=d), 20.0 + c % 7) for c in CUSTOMERS for d in (10, 40)]
                  + [(c, WINDOW_START + timedelta(days=c % 20), 30.0 + (5 if groups.get(c) == "treated" else 0) + c % 11)
                     for c in CUSTOMERS if c % 4])
    on_duckdb = measure_campaign(campaign.id, "duckdb")
    on_spark = measure_campaign(campaign.id, "spark")
    for part in ("lifts", "adjusted", "per_stratum"):
        assert on_spark[part].keys() == on_duckdb[part].keys()
        for metric, lift in on_duckdb[part].items():
            for name, value in lift.items():
                if isinstance(value, float):
                    assert on_spark[part][metric][name] == pytest.approx(value, rel=1e-9, abs=1e-12), (part, metric, name)
                else:
                    assert on_spark[part][metric][name] == value, (part, metric, name)
    assert on_spark["roi"] == pytest.approx(on_duckdb["roi"]) and on_spark["sentences"] == on_duckdb["sentences"]
