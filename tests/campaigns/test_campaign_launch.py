"""Launching a campaign: the audience from the nightly profile, a stratified random holdout drawn
once from a stored seed, and the bad input a marketer gets a clear answer to."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from campaign_builders import WINDOW_END, WINDOW_START, stage
from django.db import DatabaseError, transaction

from clientele.analytics.holdout_draw import stratified_holdout
from clientele.campaigns import errors, services
from clientele.campaigns.models import Assignment, Campaign


def campaign_in(**changes) -> services.CampaignIn:
    base = dict(name="Win back", owner="ana", goal_metric="spend", goal_target=Decimal("0.05"),
                window_start=WINDOW_START, window_end=WINDOW_END, audience="lifecycle=decline",
                channels=("email", "till"), message="We miss you", holdout_share=Decimal("0.2"))
    return services.CampaignIn(**{**base, **changes})


def groups(campaign: Campaign) -> dict[int, str]:
    return dict(campaign.assignments.values_list("customer_id", "group"))


def test_launch_draws_the_audience_and_holds_out_each_stratum_in_proportion(lake, db):
    campaign = services.create_campaign(campaign_in(audience="lifecycle=decline OR pyramid=VIP"))
    counts = services.launch(campaign.id)
    expected = {c for c in range(1, 201) if stage(c) == "decline" or c <= 4}
    drawn = groups(campaign)
    assert set(drawn) == expected
    assert counts == {"treated": sum(g == "treated" for g in drawn.values()),
                      "holdout": sum(g == "holdout" for g in drawn.values())}
    per_stratum = Counter((a.stratum, a.group) for a in campaign.assignments.all())
    for stratum in {s for s, _ in per_stratum}:
        size = per_stratum[(stratum, "treated")] + per_stratum[(stratum, "holdout")]
        assert per_stratum[(stratum, "holdout")] == int(size * 0.2 + 0.5)
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.launched_at is not None


def test_the_holdout_is_reproducible_from_the_stored_seed(lake, db):
    campaign = services.create_campaign(campaign_in())
    services.launch(campaign.id)
    rows = list(campaign.assignments.order_by("customer_id").values_list("customer_id", "stratum", "group"))
    ids = [r[0] for r in rows]
    drawn_again = stratified_holdout(campaign.seed, ids, [r[1] for r in rows], float(campaign.holdout_share))
    assert [g == "holdout" for *_, g in rows] == list(drawn_again)
    other = services.create_campaign(campaign_in())
    services.launch(other.id)
    assert groups(other) != groups(campaign)  # another seed, another draw


def test_the_database_refuses_to_change_an_assignment(lake, db):
    campaign = services.create_campaign(campaign_in())
    services.launch(campaign.id)
    held = campaign.assignments.filter(group="holdout").first()
    with pytest.raises(DatabaseError), transaction.atomic():
        Assignment.objects.filter(pk=held.pk).update(group="treated")
    assert Assignment.objects.get(pk=held.pk).group == "holdout"


def test_the_database_keeps_an_assignment_to_an_existing_campaign(lake, db):
    # the key is checked once per statement (decision 0050), still by the database
    campaign = services.create_campaign(campaign_in())
    services.launch(campaign.id)
    with pytest.raises(DatabaseError), transaction.atomic():
        Assignment.objects.bulk_create([Assignment(campaign_id=campaign.id + 1000, customer_id=1, group="treated",
                                                   assigned_at=campaign.launched_at)])
    with pytest.raises(DatabaseError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.id)._raw_delete(Campaign.objects.db)  # past the ORM's PROTECT
    assert Campaign.objects.filter(pk=campaign.id).exists()


def test_launching_twice_is_refused_and_draws_nothing_more(lake, db):
    campaign = services.create_campaign(campaign_in())
    services.launch(campaign.id)
    before = campaign.assignments.count()
    with pytest.raises(errors.WrongStatus):
        services.launch(campaign.id)
    assert campaign.assignments.count() == before


@pytest.mark.parametrize("changes, field, says", [
    ({"audience": "lifecycle=declin"}, "audience", "unknown lifecycle 'declin'"),
    ({"audience": "lifecycle=decline AND"}, "audience", "expected a condition"),
    ({"audience": "colour=red"}, "audience", "unknown field 'colour'"),
    ({"holdout_share": Decimal("0.6")}, "holdout_share", "outside 0% to 50%"),
    ({"holdout_share": Decimal("-0.1")}, "holdout_share", "outside 0% to 50%"),
    ({"window_end": None}, "window_end", "time-bound"),
    ({"goal_metric": "happiness"}, "goal_metric", "valid: spend"),
    ({"channels": ("fax",)}, "channels", "unknown channel 'fax'"),
    ({"strata": "shoe_size"}, "strata", "cannot stratify"),
])
def test_bad_input_is_refused_saying_which_field_and_why(lake, db, changes, field, says):
    with pytest.raises(errors.CampaignError) as refused:
        services.create_campaign(campaign_in(**changes))
    assert refused.value.field == field
    assert says.lower() in refused.value.message.lower()
    assert not Campaign.objects.exists()


def test_an_unknown_audience_value_lists_the_values_that_exist(lake, db):
    with pytest.raises(errors.BadAudience) as refused:
        services.create_campaign(campaign_in(audience="lifecycle=declin"))
    assert "decline" in refused.value.message and "exploration" in refused.value.message


def test_after_launch_a_change_of_groups_is_refused_but_the_message_may_change(lake, db):
    campaign = services.create_campaign(campaign_in())
    services.launch(campaign.id)
    for change in ({"audience": "pyramid=VIP"}, {"holdout_share": Decimal("0.3")}, {"strata": "rfm_segment"}):
        with pytest.raises(errors.CampaignLocked) as refused:
            services.update_campaign(campaign.id, **change)
        assert "new campaign" in refused.value.message
    services.update_campaign(campaign.id, message="We really miss you", holdout_share=Decimal("0.2"))
    campaign.refresh_from_db()
    assert campaign.message == "We really miss you" and campaign.audience == "lifecycle=decline"


def test_a_playbook_is_one_call_from_a_draft_campaign(lake, db):
    campaign = services.create_from_playbook("win-back-at-risk", owner="ana", start=WINDOW_START)
    assert campaign.status == "draft" and campaign.playbook == "win-back-at-risk"
    assert campaign.audience == "at_risk" and campaign.holdout_share == Decimal("0.1")
    services.launch(campaign.id)
    assert set(groups(campaign)) == {c for c in range(1, 201) if c % 3 == 0}
    with pytest.raises(errors.UnknownPlaybook):
        services.create_from_playbook("world-peace", owner="ana")


def test_members_entering_the_trigger_join_the_running_campaign_with_the_same_holdout_rule(lake, db):
    from campaign_builders import write_profiles

    campaign = services.create_from_playbook("win-back-decline", owner="ana", start=WINDOW_START,
                                             holdout_share=Decimal("0.5"))
    services.launch(campaign.id)
    first = groups(campaign)
    write_profiles(lake, customers=range(1, 401))  # the next night: 200 more customers, a third in decline
    added = services.add_triggered_members(campaign.id)
    now = groups(campaign)
    assert {c: g for c, g in now.items() if c in first} == first
    joined = {c for c in now if c not in first}
    assert joined == {c for c in range(201, 401) if c % 3 == 0}
    assert added == {"treated": sum(now[c] == "treated" for c in joined), "holdout": sum(now[c] == "holdout" for c in joined)}
    assert 0 < added["holdout"] < len(joined)
    assert services.add_triggered_members(campaign.id) == {"treated": 0, "holdout": 0}
