"""A merge gives the survivor the household demographics and the nightly profile it lacks, and
the unmerge puts each back exactly (decision 0106)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.template.loader import render_to_string

from clientele.identity.backoffice_panels import _data_quality
from clientele.identity.merging import merge_members, unmerge
from clientele.members.models import CustomerProfile, HouseholdDemographics, Member, TillContext
from clientele.privacy.consent import record_consent

DESCRIBED = (HouseholdDemographics, CustomerProfile, TillContext)


def dump() -> dict:
    return {model.__name__: sorted((model_to_dict(row) for row in model.objects.all()), key=repr)
            for model in DESCRIBED}


def demographics(member: Member, **fields) -> HouseholdDemographics:
    return HouseholdDemographics.objects.create(member=member, **fields)


def described(member: Member, refreshed_on: date, segment: str) -> None:
    CustomerProfile.objects.create(member=member, refreshed_on=refreshed_on, rfm_segment=segment, frequency=7,
                                   monetary=Decimal("412.50"), pyramid_level="medium")
    TillContext.objects.create(member=member, refreshed_on=refreshed_on, top_categories="BREAD|MILK")


def panel(member: Member) -> dict:
    return _data_quality(type("Page", (), {"member": Member.objects.get(pk=member.pk)})())


def test_given_only_the_absorbed_member_described_when_merged_then_the_survivor_is_and_the_unmerge_undoes_it(twins):
    survivor, absorbed = twins
    demographics(absorbed, age_band="35-44", income_band="50-74K", household_size=3, kids_count=1)
    described(absorbed, date.today() - timedelta(days=1), "champions")
    before = dump()

    merge = merge_members(42, 43, actor="steward:ann")

    assert HouseholdDemographics.objects.get().member == survivor
    assert CustomerProfile.objects.get().member == survivor and TillContext.objects.get().member == survivor
    assert panel(survivor)["profile_notes"] == [
        f"the nightly profile is member 43's, moved by merge {merge.pk} (this member had none)"]
    shown = render_to_string("identity/panel_data_quality.html", panel(survivor))
    assert f"The nightly profile is member 43&#x27;s, moved by merge {merge.pk}" in shown

    unmerge(merge.pk, actor="steward:bob")

    assert dump() == before


def test_given_both_described_when_merged_then_the_survivors_blanks_are_filled_and_its_profile_is_marked(twins):
    survivor, absorbed = twins
    demographics(survivor, age_band="35-44", household_size=None, marital_status="")
    demographics(absorbed, age_band="45-54", household_size=3, marital_status="A", kids_count=1)
    yesterday = date.today() - timedelta(days=1)
    described(survivor, yesterday, "loyal")
    described(absorbed, yesterday, "champions")
    before = dump()

    merge = merge_members(42, 43, actor="steward:ann")

    ours = HouseholdDemographics.objects.get(member=survivor)
    # what the survivor said stays; what it did not say comes from the absorbed member
    assert (ours.age_band, ours.household_size, ours.marital_status, ours.kids_count) == ("35-44", 3, "A", 1)
    assert HouseholdDemographics.objects.filter(member=absorbed).exists()  # kept on the closed number
    assert CustomerProfile.objects.get(member=survivor).rfm_segment == "loyal"
    assert panel(survivor)["profile_notes"] == [
        f"the nightly profile was computed before merge {merge.pk} of member 43: "
        "the next refresh describes the combined customer"]

    unmerge(merge.pk, actor="steward:bob")

    assert dump() == before
    assert panel(survivor)["profile_notes"] == []


def test_given_a_blank_filled_by_the_merge_and_changed_since_then_the_unmerge_keeps_the_change(twins):
    survivor, absorbed = twins
    demographics(survivor, age_band="35-44")
    demographics(absorbed, income_band="50-74K", kids_count=1)
    merge = merge_members(42, 43, actor="steward:ann")
    assert HouseholdDemographics.objects.filter(member=survivor, income_band="50-74K", kids_count=1).exists()
    HouseholdDemographics.objects.filter(member=survivor).update(income_band="75-99K")  # the member said so since

    unmerge(merge.pk, actor="steward:bob")

    ours = HouseholdDemographics.objects.get(member=survivor)
    assert (ours.income_band, ours.kids_count) == ("75-99K", None)


@pytest.mark.parametrize("refuser", [42, 43])
def test_given_a_member_who_refused_profiling_then_no_profile_moves(twins, refuser):
    survivor, absorbed = twins
    described(absorbed, date.today(), "champions")
    record_consent(Member.objects.get(customer_id=refuser), "profiling", "", False, source="web",
                   text_version="v1", occurred_at=datetime.now(timezone.utc))

    merge_members(42, 43, actor="steward:ann")

    assert not CustomerProfile.objects.filter(member=survivor).exists()
    assert not TillContext.objects.filter(member=survivor).exists()
