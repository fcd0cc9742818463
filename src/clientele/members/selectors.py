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


def loyalty_tiers() -> tuple[list[str], list[dict]]:
    """The loyalty programme's tier names (entry tier first) and each member's tier: rows of
    customer_id and loyalty_tier, for members with a tier."""
    from clientele.loyalty.models import LoyaltyAccount, Tier

    names = list(Tier.objects.order_by("rank").values_list("name", flat=True))
    accounts = LoyaltyAccount.objects.filter(tier__isnull=False)
    rows = accounts.values_list("member__customer_id", "tier__name").order_by("member__customer_id")
    return names, [{"customer_id": customer_id, "loyalty_tier": tier} for customer_id, tier in rows]


def segment_customer_ids(con, text: str) -> list[int]:
    """The customer ids of the segment expression `text` over the last refresh, ascending, the
    members' loyalty tiers read from this database when the expression names one (SegmentError on
    an expression that cannot be read or names an unknown value). Shared by `clientele export` and
    the back office's segments page."""
    import ibis

    from clientele.analytics import results

    parsed = results.parse_segment(con, text)
    supplied = {}
    if "loyalty_tier" in parsed.fields():
        names, members = loyalty_tiers()
        parsed = results.parse_segment(con, text, loyalty_tiers=names)
        supplied["loyalty_tiers"] = ibis.memtable(members, schema={"customer_id": "int64", "loyalty_tier": "string"})
    return results.segment_customer_ids(con, parsed, supplied=supplied)
