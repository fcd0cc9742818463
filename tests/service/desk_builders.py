"""Builders shared by the service desk tests: members with nightly profiles, people in roles, a
complete complaint."""

from __future__ import annotations

from datetime import date, datetime, timezone

from django.contrib.auth.models import Group, Permission, User

from clientele.members.models import CustomerProfile, Member

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SOAP = 1001


def member(number: int, **profile) -> Member:
    """A member; with `profile` fields, their nightly profile too."""
    found = Member.objects.create(customer_id=number, first_name=f"M{number}", join_date=date(2024, 1, 5))
    if profile:
        CustomerProfile.objects.create(member=found, refreshed_on=date(2026, 12, 5), **profile)
    return found


def person(username: str, role: str | None, *permissions: str) -> User:
    """A back-office user (staff: the admin login page lets them in) in `role` (a group) holding the service app's `permissions` (codenames)."""
    user = User.objects.create_user(username, password="x-long-password", is_staff=True)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="service", codename=codename))
    return user


def complaint_answers(**change) -> dict:
    """A complete complaint about soap bought at the main street store."""
    return {"member_number": 42, "channel": "store", "cause": "product_quality", "severity": "high",
            "what_happened": "The soap bar was cracked", "how_it_happened": "Opened the box at home",
            "why_unhappy": "Paid full price for a broken bar", "served_by": "cashier Lee",
            "claim_reasonable": True, "wanted_resolution": "A new bar", "store_id": 1, "product_id": SOAP} | change
