"""Every write of the back office: the personal-data audit log and the users' API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from clientele.backoffice.models import PersonalDataView, StaffStore, UserToken
from clientele.backoffice.roles import ROLES
from clientele.errors import ClienteleError

TOKEN_PREFIX = "cbo_"


class UnknownRole(ClienteleError):
    """The role named is not one of the back office's roles."""


def record_personal_data_view(user, customer_id: int, channel: str) -> PersonalDataView:
    """Write who saw which member's personal data, and where; returns the audit log entry."""
    return PersonalDataView.objects.create(user=user, username=user.get_username(), customer_id=customer_id,
                                           channel=channel)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user, name: str) -> tuple[UserToken, str]:
    """A new API token for the user; returns the stored token and the raw token (shown once)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = UserToken.objects.create(user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 8],
                                     token_hash=hash_token(raw))
    return token, raw


def user_for_token(raw: str):
    """The active user holding this token, or None for an unknown, revoked or inactive one."""
    token = (UserToken.objects.select_related("user")
             .filter(token_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True).first())
    return token.user if token else None


def role_names() -> list[str]:
    """Every role a user can be given: the back office's own (roles.ROLES) and those other apps'
    migrations add (e.g. the service desk's "service supervisor"), as groups in the database."""
    return sorted(set(ROLES) | set(Group.objects.values_list("name", flat=True)))


def add_user(username: str, password: str, role: str | None, store_id: int | None = None,
             superuser: bool = False):
    """Create a back-office user with one role (a group), able to log in; a store manager belongs
    to `store_id`. Returns the user."""
    if role is not None and not Group.objects.filter(name=role).exists():
        raise UnknownRole(f"unknown role {role!r}: choose one of {', '.join(role_names())}")
    if role == "store manager" and store_id is None:
        raise UnknownRole("a store manager belongs to a store: give --store")
    users = get_user_model()
    with transaction.atomic():
        if superuser:
            user = users.objects.create_superuser(username=username, password=password)
        else:
            user = users.objects.create_user(username=username, password=password, is_staff=True)
        if role is not None:
            user.groups.add(Group.objects.get(name=role))
        if store_id is not None:
            StaffStore.objects.create(user=user, store_id=store_id)
    return user

