"""Signing in without a password: the member types their card number, e-mail or phone; a one-time
code goes to their e-mail (SMTP) or phone (the campaigns' SMS webhook); the code typed back opens a
session (docs/portal.md, decision 0080).

- Codes are 6 digits, kept as a keyed hash (HMAC-SHA256 with the secret key and the challenge),
  valid `portal_code_minutes`, used once (a conditional UPDATE: two phones typing it at once get
  one session), 3 wrong tries each.
- Limits, over the last `portal_lock_minutes`: `portal_codes_sent` codes per member;
  `portal_wrong_codes` wrong codes per member and per network address lock the sign-in.
- Whatever was typed, the answer to asking for a code is the same (a challenge), so the portal never
  tells whether a card, an e-mail or a phone is a member's; nobody matched: nothing is sent.
- Nothing typed by the member nor the network address is kept or logged in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import F

from clientele.barcodes import is_valid_ean13
from clientele.campaigns.channels import send_email, send_sms
from clientele.campaigns.errors import ChannelNotConfigured
from clientele.config import settings
from clientele.identity.standardise import Unusable, clean_email, clean_phone
from clientele.loyalty.ledger import now_utc
from clientele.members.models import Card, Member
from clientele.portal import errors
from clientele.portal.models import PortalSession, SignInCode, SignInFailure

log = logging.getLogger(__name__)
TRIES_PER_CODE = 3


def _keyed(text: str) -> str:
    return hmac.new(django_settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def client_key(network_address: str) -> str:
    """The keyed hash the limits count a network address by (never the address itself)."""
    return _keyed(f"client:{network_address}")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Challenge:
    """What asking for a code answers, whoever asked: the opaque challenge to send back with the
    code, the channel to tell the member where to look (`sent_to`: 'email' or 'sms', the same
    whether anybody matched or not), and when the code expires."""

    challenge: str
    sent_to: str
    expires_at: datetime


def _is_card_number(text: str) -> bool:
    digits = text.replace(" ", "")
    return digits.isdigit() and len(digits) == 13


def find_member(identifier: str) -> Member | None:
    """The active member a card number (EAN-13), an e-mail or a phone number names; None when no one
    or several members match (an e-mail or phone shared by two members: sign in with the card).
    UnusableIdentifier when the text is none of the three."""
    text = identifier.strip()
    if not text or len(text) > 254:
        raise errors.UnusableIdentifier("type your card number, e-mail address or phone number")
    if "@" in text:
        try:
            members = Member.objects.filter(email__iexact=clean_email(text))
        except Unusable:
            raise errors.UnusableIdentifier("this is not an e-mail address") from None
    elif _is_card_number(text):
        if not is_valid_ean13(text.replace(" ", "")):
            raise errors.UnusableIdentifier("this card number does not check: type the 13 digits under the barcode")
        card = Card.objects.select_related("member").filter(barcode=text.replace(" ", ""), status=Card.Status.ACTIVE).first()
        return card.member if card and card.member.status == Member.Status.ACTIVE else None
    else:
        try:
            members = Member.objects.filter(phone=clean_phone(text))
        except Unusable:
            raise errors.UnusableIdentifier("type your card number, e-mail address or phone number") from None
    found = list(members.filter(status=Member.Status.ACTIVE)[:2])
    return found[0] if len(found) == 1 else None


def _recent(model, since: datetime, **who) -> int:
    field = "created_at" if model is SignInCode else "at"
    return model.objects.filter(**who, **{f"{field}__gte": since}).count()


def _check_not_locked(member: Member | None, client: str, since: datetime) -> None:
    limit = settings().portal_wrong_codes
    if _recent(SignInFailure, since, client=client) >= limit or (
            member is not None and _recent(SignInFailure, since, member=member) >= limit):
        raise errors.SignInLocked(f"too many wrong codes: sign-in is locked for {settings().portal_lock_minutes} "
                                  "minutes")


def _channel(member: Member | None, identifier: str) -> str:
    """E-mail when the member typed an e-mail (or a card and has one); SMS for a phone (or a card
    and no e-mail). For nobody, the channel a member would have been told (the answer is the same)."""
    typed = identifier.strip()
    if "@" in typed:
        return SignInCode.Channel.EMAIL
    if not _is_card_number(typed):
        return SignInCode.Channel.SMS
    if member is None:
        return SignInCode.Channel.EMAIL
    return SignInCode.Channel.EMAIL if member.email else SignInCode.Channel.SMS if member.phone else ""


def _send(address: str, channel: str, subject: str, text: str, key: str) -> str | None:
    """Hand a code over to a mailbox or phone: None when accepted, else why not."""
    if channel == SignInCode.Channel.EMAIL:
        return send_email(address, subject, text, key)
    try:
        return send_sms(address, text, key)
    except ChannelNotConfigured as error:
        return str(error)


def check_codes_left(member: Member | None, client: str, purpose: str, field: str) -> None:
    """TooManyCodes (naming `field`) once the network address asked for 4 x `portal_codes_sent`
    codes of any purpose, or the member `portal_codes_sent` of this purpose, within the lock window;
    SignInLocked after too many wrong codes."""
    config = settings()
    since = now_utc() - timedelta(minutes=config.portal_lock_minutes)
    _check_not_locked(member, client, since)
    if _recent(SignInCode, since, client=client) >= 4 * config.portal_codes_sent:
        raise errors.TooManyCodes(f"too many codes asked from here: wait {config.portal_lock_minutes} minutes",
                                  field=field)
    if member is not None and _recent(SignInCode, since, member=member, purpose=purpose) >= config.portal_codes_sent:
        raise errors.TooManyCodes(f"too many codes asked: wait {config.portal_lock_minutes} minutes", field=field)


def issue_code(member: Member | None, channel: str, address: str, client: str, *, purpose: str, shown: str,
               new_value: str = "", field: str = "identifier") -> Challenge:
    """Store a new one-time code for `purpose` and send it to `address` by `channel` (nothing is
    sent without a channel: a decoy); the challenge to type it against, saying `shown` as where it
    went. CodeNotSent (naming `field`) when the mail server or the webhook refused it: the code is
    deleted then. Outside any transaction: no lock is held while the mail server answers."""
    config = settings()
    now = now_utc()
    challenge, code = secrets.token_urlsafe(24), f"{secrets.randbelow(10**6):06d}"
    expires_at = now + timedelta(minutes=config.portal_code_minutes)
    stored = SignInCode.objects.create(
        challenge_hash=_keyed(f"challenge:{challenge}"), code_hash=_keyed(f"code:{challenge}:{code}"),
        member=member, channel=channel, client=client, created_at=now, expires_at=expires_at, purpose=purpose,
        new_value=new_value)
    if channel:
        lasts = f"It works once, for {config.portal_code_minutes} minutes. If you did not ask for it, ignore this message."
        if purpose == SignInCode.Purpose.SIGN_IN:
            subject, text = "Your sign-in code", f"Your sign-in code is {code}. {lasts}"
        else:
            subject = "Confirm your new contact details"
            text = (f"Your confirmation code is {code}: it makes this {'e-mail address' if channel == 'email' else 'phone'}"
                    f" the one of your membership. {lasts}")
        problem = _send(address, channel, subject, text, f"{purpose.replace('_', '-')}-{stored.pk}")
        if problem is not None:
            log.warning("portal code %s not sent by %s: %s", stored.pk, channel, problem.split(":")[0])
            stored.delete()
            raise errors.CodeNotSent("the code could not be sent just now: try again in a minute", field=field)
    return Challenge(challenge, shown, expires_at)


def request_code(identifier: str, network_address: str) -> Challenge:
    """Send a one-time code to the member `identifier` names (see module) and answer the challenge
    to type it against. TooManyCodes past the member's limit, SignInLocked after too many wrong
    codes, CodeNotSent when the e-mail server or the SMS webhook refused it."""
    client = client_key(network_address)
    member = find_member(identifier)
    check_codes_left(member, client, SignInCode.Purpose.SIGN_IN, "identifier")
    shown = _channel(member, identifier)
    channel = shown if member is not None else ""
    address = "" if not channel else member.email if channel == SignInCode.Channel.EMAIL else member.phone
    return issue_code(member, channel, address, client, purpose=SignInCode.Purpose.SIGN_IN, shown=shown)


def find_code(challenge: str, **which) -> SignInCode | None:
    """The code a challenge names, among those `which` filters (a purpose, a member)."""
    return (SignInCode.objects.select_related("member")
            .filter(challenge_hash=_keyed(f"challenge:{challenge}"), **which).first())


def check_code(stored: SignInCode | None, challenge: str, code: str, network_address: str) -> None:
    """Whether `code` is the one sent for `stored` (found by its challenge): nothing when it is.
    WrongCode (counted against the member and the network address), CodeExpired for a code
    unknown, expired, used or tried too often, SignInLocked after too many wrong codes. The
    caller then marks it used (`use_code`) in the transaction that acts on it."""
    now = now_utc()
    since = now - timedelta(minutes=settings().portal_lock_minutes)
    client = client_key(network_address)
    _check_not_locked(stored.member if stored else None, client, since)
    if stored is None or stored.used_at is not None or stored.expires_at <= now or stored.wrong_tries >= TRIES_PER_CODE:
        raise errors.CodeExpired("this code expired or was used: ask for a new one")
    typed = "".join(code.split())
    if stored.member is None or not hmac.compare_digest(stored.code_hash, _keyed(f"code:{challenge}:{typed}")):
        with transaction.atomic():
            SignInCode.objects.filter(pk=stored.pk).update(wrong_tries=F("wrong_tries") + 1)
            SignInFailure.objects.create(member=stored.member, client=client, at=now)
        raise errors.WrongCode("this is not the code we sent: check it and try again")


def use_code(stored: SignInCode) -> None:
    """Mark the code used, in the caller's transaction: of two requests with the same code, the
    second gets CodeExpired (a conditional UPDATE)."""
    if not SignInCode.objects.filter(pk=stored.pk, used_at=None).update(used_at=now_utc()):
        raise errors.CodeExpired("this code expired or was used: ask for a new one")


def verify_code(challenge: str, code: str, network_address: str) -> str:
    """Open a session for the member whose sign-in code this is: returns the session's token (kept
    only hashed). Refused as `check_code` says."""
    stored = find_code(challenge, purpose=SignInCode.Purpose.SIGN_IN)
    check_code(stored, challenge, code, network_address)
    token = secrets.token_urlsafe(32)
    now = now_utc()
    with transaction.atomic():
        use_code(stored)
        PortalSession.objects.create(token_hash=_token_hash(token), member=stored.member, created_at=now,
                                     expires_at=now + timedelta(minutes=settings().portal_session_minutes))
    return token


def signed_in_member(token: str | None) -> Member:
    """The member of a live session token: NotSignedIn for none, an unknown, expired or ended one,
    or a member no longer active."""
    if not token:
        raise errors.NotSignedIn("sign in first")
    session = (PortalSession.objects.select_related("member")
               .filter(token_hash=_token_hash(token), signed_out_at=None, expires_at__gt=now_utc()).first())
    if session is None or session.member.status != Member.Status.ACTIVE:
        raise errors.NotSignedIn("your session ended: sign in again")
    return session.member


def sign_out(token: str | None) -> None:
    """End the session of `token` (nothing when there is none)."""
    if token:
        PortalSession.objects.filter(token_hash=_token_hash(token), signed_out_at=None).update(signed_out_at=now_utc())
