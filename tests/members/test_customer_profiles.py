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
    assert "Portal sign-in records purged: 0 codes, 0 wrong codes, 0 sessions" in " ".join(result.output.split())


def test_forecasts_are_served_in_cents_and_a_forecast_not_made_stays_empty():
    from clientele.members.models import Member

    Member.objects.create(customer_id=1, join_date=date(2017, 1, 1))
    Member.objects.create(customer_id=2, join_date=date(2017, 1, 1))
    forecast = dict(churn_risk=0.62, at_risk=True, probability_alive=0.4, expected_purchases=1.5,
                    predicted_clv=1234.567, clv_lower=800.001, clv_upper=1700.5, expected_next_visit=date(2018, 1, 9))
    not_made = dict(churn_risk=float("nan"), at_risk=None, predicted_clv=float("nan"), expected_next_visit=None)

    write_customer_profiles([{"customer_id": 1, **forecast}, {"customer_id": 2, **not_made}], refreshed_on=date(2018, 1, 2))

    served = CustomerProfile.objects.get(member__customer_id=1)
    assert str(served.predicted_clv) == "1234.57" and str(served.clv_lower) == "800.00"
    assert served.at_risk is True and served.churn_risk == 0.62
    assert served.expected_next_visit == date(2018, 1, 9)
    empty = CustomerProfile.objects.get(member__customer_id=2)
    assert empty.churn_risk is None and empty.predicted_clv is None and empty.at_risk is None
