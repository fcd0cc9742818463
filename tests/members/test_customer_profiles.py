"""The nightly refresh's results reach the serving table the till and the back office read."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from clientele.members.models import CustomerProfile
from clientele.members.services import import_completejourney_reference, write_customer_profiles
from clientele.refresh import customer_profiles, refresh

pytestmark = pytest.mark.django_db


def test_every_refreshed_customer_known_to_the_database_gets_one_profile(cj_slice_lake, tmp_path, slice_customers):
    lake = tmp_path / "lake"
    shutil.copytree(cj_slice_lake, lake)
    refresh(lake=lake, refresh_date=date(2018, 1, 2))
    import_completejourney_reference()

    written = write_customer_profiles(customer_profiles(lake=lake), refreshed_on=date(2018, 1, 2))
    again = write_customer_profiles(customer_profiles(lake=lake), refreshed_on=date(2018, 1, 2))

    assert written == again == len(slice_customers) == CustomerProfile.objects.count()
    best = CustomerProfile.objects.get(member__customer_id=1023)  # the chain's biggest spender
    assert best.pyramid_level in {"VIP", "major"} and best.monetary > 10_000
    assert best.rfm_segment and best.lifecycle_stage and 0 <= best.deal_proneness <= 1
    assert set(CustomerProfile.objects.values_list("refreshed_on", flat=True)) == {date(2018, 1, 2)}


def test_the_refresh_command_serves_the_profiles_it_computed(cj_slice_lake, home, slice_customers):
    from typer.testing import CliRunner

    from clientele.cli import app

    shutil.copytree(cj_slice_lake, home / "lake")
    import_completejourney_reference()

    result = CliRunner().invoke(app, ["refresh"])

    assert result.exit_code == 0, result.output
    assert f"Customer profiles served to the till and back office: {len(slice_customers)}" in " ".join(result.output.split())
    assert CustomerProfile.objects.count() == len(slice_customers)
