"""Finding the member behind a card, a phone number or a member number, and the till's key."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef

from clientele.barcodes import is_valid_ean13
from clientele.catalog.models import Store
from clientele.loyalty import errors, ledger
from clientele.loyalty.models import ApiKey, LoyaltyAccount, Referral
from clientele.members.models import Card, Member


def resolve_member(card: str | None = None, phone: str | None = None, member_number: int | None = None,
                   balance_at: datetime | None = None) -> tuple[Member, Card | None]:
    """The active member (and the card scanned, if any) a till identified, by the first
    identifier given among card barcode, phone number and member number. With `balance_at`, the
    same single query also brings the member's account and tier (`member.loyalty_account`, when
    there is one) and their balance at that moment (`member.balance`), as the till's greeting needs."""
    if card:
        found = _with_balance(Card.objects.select_related("member").filter(barcode=card), "member__", balance_at)
        return _checked_card(found.first(), card, balance_at)
    if phone:
        members = _with_balance(Member.objects.filter(phone=phone, status=Member.Status.ACTIVE), "", balance_at)
        members = list(members[:2])
        if not members:
            raise errors.UnknownMember(f"no member with phone {phone!r}", field="phone")
        if len(members) > 1:
            raise errors.AmbiguousPhone(f"several members share phone {phone!r}: scan the card")
        return _with_balance_set(members[0], members[0], balance_at), None
    if member_number is not None:
        found = _with_balance(Member.objects.filter(customer_id=member_number), "", balance_at).first()
        return _with_balance_set(_checked_member(found, member_number), found, balance_at), None
    raise errors.MissingIdentifier("give a card barcode, a phone number or a member number")


def _with_balance(queryset, member_path: str, at: datetime | None):
    if at is None:
        return queryset
    account = f"{member_path}loyalty_account"
    return queryset.select_related(f"{account}__tier").annotate(**ledger.balance_sums(f"{account}__entries__", at))


def _with_balance_set(member: Member, row, at: datetime | None) -> Member:
    if at is not None:
        member.balance = ledger.Balance(row.available or 0, row.pending or 0)
    return member


def resolve_member_account(card: str | None = None,
                           member_number: int | None = None) -> tuple[Member, Card | None, LoyaltyAccount | None, bool]:
    """As `resolve_member` by card or member number, in one query that also locks the member's
    points account until the end of the transaction (with its tier) and tells whether the member
    was referred (the referral bonus). Returns (member, card, account, referred); the account is
    None (and referred True, meaning "not looked up") when the member has no account yet.
    Call it inside a transaction."""
    referred = Exists(Referral.objects.filter(referred_id=OuterRef("member_id" if card else "pk")))
    if card:
        found = Card.objects.select_related("member__loyalty_account__tier").filter(
            barcode=card, member__loyalty_account__isnull=False).select_for_update(of=("member__loyalty_account",))
        found = next(iter(found.annotate(referred=referred)[:1]), None)
        if found is None:  # unknown card (an error) or a member without an account yet
            member, scanned = resolve_member(card=card)
            return member, scanned, None, True
        member = _checked_card(found, card)[0]
        return member, found, member.loyalty_account, found.referred
    if member_number is not None:
        member = Member.objects.select_related("loyalty_account__tier").filter(
            customer_id=member_number, loyalty_account__isnull=False).select_for_update(of=("loyalty_account",))
        member = next(iter(member.annotate(referred=referred)[:1]), None)
        if member is None:
            return resolve_member(member_number=member_number)[0], None, None, True
        return _checked_member(member, member_number), None, member.loyalty_account, member.referred
    raise errors.MissingIdentifier("give a card barcode or a member number")


def _checked_card(found: Card | None, card: str, balance_at: datetime | None = None) -> tuple[Member, Card]:
    if found is None:
        raise errors.UnknownCard(f"no card {card!r}" if is_valid_ean13(card) else f"{card!r} is not a card barcode")
    if found.status != Card.Status.ACTIVE:
        raise errors.BlockedCard(f"card {card} is {found.get_status_display().lower()}: ask for the member's new card")
    return _with_balance_set(_active(found.member, "card"), found, balance_at), found


def _checked_member(member: Member | None, member_number: int) -> Member:
    if member is None:
        raise errors.UnknownMember(f"no member number {member_number}")
    return _active(member, "member_number")


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
    # Every till call starts here: plain SQL and a partly loaded key (other fields load on access)
    # spare the ORM's query building on the hot path.
    with connection.cursor() as cursor:
        cursor.execute("SELECT k.id, k.store_id, k.name, k.prefix, s.timezone FROM loyalty_apikey k "
                       "JOIN catalog_store s ON s.store_id = k.store_id "
                       "WHERE k.key_hash = %s AND k.revoked_at IS NULL", [hash_key(raw_key)])
        row = cursor.fetchone()
    if row is None:
        return None
    key = ApiKey.from_db(connection.alias, ["id", "store_id", "name", "prefix"], row[:4])
    key.store = Store.from_db(connection.alias, ["store_id", "timezone"], (row[1], row[4]))
    return key
