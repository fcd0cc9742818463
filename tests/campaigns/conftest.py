"""Fixtures of the campaign scenarios: a real lake and the members with their consents."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from campaign_builders import CUSTOMERS, WINDOW_START, write_baskets, write_profiles

from clientele.members.models import Member


@pytest.fixture
def lake(home: Path) -> Path:
    """A lake whose last refresh profiled customers 1-200, with one basket each before the window."""
    root = home / "lake"
    write_profiles(root)
    write_baskets(root, [(c, WINDOW_START - timedelta(days=10), 20.0 + c % 7) for c in CUSTOMERS])
    return root


@pytest.fixture
def members(db) -> dict[int, Member]:
    """Members 1-200: e-mail consent for the even numbers, SMS for multiples of 5, post for multiples
    of 4; every one has an e-mail address, phone and postal address."""
    rows = [Member(customer_id=c, first_name=f"M{c}", email=f"m{c}@example.org", phone=f"+1312555{c:04d}",
                   address_line=f"{c} Main St", city="Chicago", join_date=date(2025, 1, 1),
                   email_consent=c % 2 == 0, sms_consent=c % 5 == 0, post_consent=c % 4 == 0) for c in CUSTOMERS]
    Member.objects.bulk_create(rows)
    return {m.customer_id: m for m in Member.objects.all()}
