"""Finding the member behind a card, a phone number or a member number, and the till's key."""

from __future__ import annotations

import hashlib
import secrets

from clientele.barcodes import is_valid_ean13
from clientele.loyalty import errors
from clientele.loyalty.models import ApiKey
from clientele.members.models import Card, Member


def resolve_member(card: str | None = None, phone: str | None = None,
                   member_number: int | None = None) -> tuple[Member, Card | None]:
    """The active member (and the card scanned, if any) a till identified, by the first
    identifier given among card barcode, phone number and member number."""
    if card:
        found = Card.objects.select_related("member").filter(barcode=card).first()
        if found is None:
            raise errors.UnknownCard(f"no card {card!r}" if is_valid_ean13(card) else f"{card!r} is not a card barcode")
        if found.status != Card.Status.ACTIVE:
            raise errors.BlockedCard(f"card {card} is {found.get_status_display().lower()}: ask for the member's new card")
        return _active(found.member, "card"), found
    if phone:
        members = list(Member.objects.filter(phone=phone, status=Member.Status.ACTIVE)[:2])
        if not members:
            raise errors.UnknownMember(f"no member with phone {phone!r}", field="phone")
        if len(members) > 1:
            raise errors.AmbiguousPhone(f"several members share phone {phone!r}: scan the card")
        return members[0], None
    if member_number is not None:
        member = Member.objects.filter(customer_id=member_number).first()
        if member is None:
            raise errors.UnknownMember(f"no member number {member_number}")
        return _active(member, "member_number"), None
    raise errors.MissingIdentifier("give a card barcode, a phone number or a member number")


def _active(member: Member, field: str) -> Member:
    if member.status != Member.Status.ACTIVE:
        raise errors.UnknownMember(f"member {member.customer_id} is {member.get_status_display().lower()}", field=field)
    return member


def hash_key(raw_key: str) -> str:
    # A key is 32 random bytes: a fast hash is as safe as a slow one and keeps each till call fast.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def issue_api_key(store, name: str) -> tuple[ApiKey, str]:
    """A new key for a till of `store`: the stored record and the key itself (shown once)."""
    prefix = secrets.token_hex(4)
    raw_key = f"clt_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(store=store, name=name, prefix=prefix, key_hash=hash_key(raw_key))
    return key, raw_key


def authenticate(raw_key: str | None) -> ApiKey | None:
    """The live (not revoked) key matching what the till sent, or None."""
    if not raw_key:
        return None
    return ApiKey.objects.select_related("store").filter(key_hash=hash_key(raw_key), revoked_at__isnull=True).first()
