"""Reads of members the back office and exports need."""

from __future__ import annotations

from clientele.members.models import Member

CONSENT_FIELD = {"email": "email_consent", "sms": "sms_consent", "post": "post_consent"}


def contacts_for_customers(customer_ids: list[int], channel: str = "email") -> list[dict]:
    """Contact fields of the given customers who consent to marketing on `channel`.

    Customers without that consent, closed or erased, are left out: a mailing never reaches them.
    """
    if channel not in CONSENT_FIELD:
        raise ValueError(f"unknown channel {channel!r}: choose one of {', '.join(CONSENT_FIELD)}")
    members = Member.objects.filter(
        customer_id__in=customer_ids, status=Member.Status.ACTIVE, **{CONSENT_FIELD[channel]: True}
    ).order_by("customer_id")
    return list(members.values("customer_id", "first_name", "last_name", "email", "phone"))
