"""Enrolling a member and replacing a lost card at the till."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from clientele.barcodes import card_barcode, is_valid_ean13
from clientele.loyalty import errors
from clientele.members.models import Card, Member


def enrol_member(*, first_name: str = "", last_name: str = "", email: str = "", phone: str = "",
                 birth_date: date | None = None, home_store_id: int | None = None, card: str | None = None,
                 email_consent: bool = False, sms_consent: bool = False, joined_on: date) -> tuple[Member, Card]:
    """A new member and their first card: the pre-printed card the till scanned, or a card number
    made from the new member number. Run inside the caller's transaction."""
    if card is not None:
        _check_new_barcode(card)
    customer_id = next_member_number()
    try:
        with transaction.atomic():
            member = Member.objects.create(
                customer_id=customer_id, first_name=first_name, last_name=last_name, email=email, phone=phone,
                birth_date=birth_date, home_store_id=home_store_id, join_date=joined_on,
            )
            issued = Card.objects.create(barcode=card or card_barcode(customer_id), member=member)
            _record_enrolment_consents(member, email_consent=email_consent, sms_consent=sms_consent)
    except IntegrityError:  # the card (the number is the sequence's alone): scanned at two tills at once
        raise errors.CardInUse(f"card {card} already belongs to a member") from None
    return member, issued


def _record_enrolment_consents(member: Member, *, email_consent: bool, sms_consent: bool) -> None:
    """The member's answers at the till to the marketing questions, as consent events (the member's
    consent fields are derived from them, `privacy.consent`)."""
    from datetime import datetime, timezone

    from clientele.config import settings
    from clientele.privacy.consent import record_consent

    moment = datetime.now(timezone.utc)
    for channel, granted in (("email", email_consent), ("sms", sms_consent)):
        record_consent(member, "marketing", channel, granted, occurred_at=moment, source="till",
                       text_version=settings().consent_text_version, recorded_by="till enrolment")


#: The member numbers' sequence on PostgreSQL (migration members 0003): numbers handed out to
#: concurrent enrolments without waiting and without collisions.
MEMBER_NUMBERS = "members_member_number"


def next_member_number() -> int:
    """A member number no member has: on PostgreSQL the sequence's next (moved past the highest
    number when an import took it first); on SQLite, whose writing transactions are serialised
    (IMMEDIATE), the highest number plus one, in the caller's transaction."""
    if connection.vendor != "postgresql":
        return (Member.objects.aggregate(top=Max("customer_id"))["top"] or 0) + 1
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT nextval(%s)", [MEMBER_NUMBERS])
            (number,) = cursor.fetchone()
            if not Member.objects.filter(customer_id=number).exists():
                return number
            # Imported members took numbers ahead of the sequence: skip past them all.
            cursor.execute("SELECT setval(%s, GREATEST(MAX(customer_id), nextval(%s))) FROM members_member",
                           [MEMBER_NUMBERS, MEMBER_NUMBERS])


def replace_card(old_barcode: str, new_barcode: str | None = None) -> tuple[Card, Card]:
    """Block a lost card and issue its successor to the same member (balance and history stay with
    the member). Returns the old card and the new one. Run inside the caller's transaction."""
    old = Card.objects.select_for_update().select_related("member").filter(barcode=old_barcode).first()
    if old is None:
        raise errors.UnknownCard(f"no card {old_barcode!r}")
    if old.status != Card.Status.ACTIVE:
        raise errors.BlockedCard(f"card {old_barcode} is already {old.get_status_display().lower()}")
    if new_barcode is None:
        taken = set(Card.objects.filter(member=old.member).values_list("barcode", flat=True))
        new_barcode = next((code for code in (card_barcode(old.member.customer_id, seq) for seq in range(10))
                            if code not in taken), None)
        if new_barcode is None:
            raise errors.CardInUse("the member has used all ten generated card numbers: scan a pre-printed card")
    else:
        _check_new_barcode(new_barcode)
    new = Card.objects.create(barcode=new_barcode, member=old.member)
    old.status, old.blocked_at, old.replaced_by = Card.Status.BLOCKED, new.issued_at, new
    old.save(update_fields=["status", "blocked_at", "replaced_by"])
    return old, new


def _check_new_barcode(barcode: str) -> None:
    if not is_valid_ean13(barcode):
        raise errors.InvalidCard(f"{barcode!r} is not a valid EAN-13 card barcode")
    if Card.objects.filter(barcode=barcode).exists():
        raise errors.CardInUse(f"card {barcode} already belongs to a member")
