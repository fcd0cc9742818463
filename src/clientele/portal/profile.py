"""The member's own profile, contact data, consent and privacy requests, from the portal.

A new e-mail or phone replaces the old one only once confirmed with a one-time code sent to the new
address (the sign-in's codes: hashed, used once, expiring, limited; decision 0108); until then the
old one stays in force. Every change is one transaction; completing the profile earns the
programme's profile bonus once (the ledger's idempotency key `bonus:profile_completed:<member>` and
its unique constraint make it once, however often the form is sent). Consent goes through the
privacy app's public API as events of source 'web'; an erasure request through
`privacy.erasure.request_erasure` (a second person approves it in the back office), an access
export through `privacy.access.export_member`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.db import transaction

from clientele.config import settings
from clientele.identity.standardise import Unusable, clean_email, clean_phone
from clientele.loyalty.bonuses import Action, award_bonus
from clientele.loyalty.ledger import now_utc
from clientele.members.models import Member
from clientele.portal import errors, signin
from clientele.portal.models import SignInCode
from clientele.privacy import access, consent, erasure
from clientele.privacy.models import Source

#: The fields a complete profile has (the profile bonus's condition).
PROFILE_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "address_line", "postal_code", "city")
TEXT_LIMITS = {"first_name": 100, "last_name": 100, "address_line": 200, "postal_code": 20, "city": 100}


def actor(member: Member) -> str:
    """Who the ledger, the consent events and the privacy requests name as having acted."""
    return f"portal:member {member.customer_id}"


def missing_fields(member: Member) -> list[str]:
    """The profile's fields still empty (none: the profile is complete)."""
    return [name for name in PROFILE_FIELDS if not getattr(member, name)]


def _cleaned(changes: dict) -> dict:
    problems, values = {}, {}
    for name, value in changes.items():
        if name not in PROFILE_FIELDS:
            problems[name] = "not a field of your profile"
        elif name == "birth_date":
            if value is not None and not isinstance(value, date):
                problems[name] = "a date, e.g. 1990-04-30"
            elif value is not None and not date(1900, 1, 1) <= value <= now_utc().date():
                problems[name] = "a date of birth between 1900 and today"
            else:
                values[name] = value
        else:
            text = " ".join(str(value or "").split())
            try:
                values[name] = (clean_email(text) if name == "email" else clean_phone(text) if name == "phone"
                                else text)
            except Unusable as error:
                problems[name] = f"{error}: check it"
                continue
            if len(values[name]) > TEXT_LIMITS.get(name, 254):
                problems[name] = f"at most {TEXT_LIMITS.get(name, 254)} characters"
    if problems:
        field = next(iter(problems))
        raise errors.InvalidProfile(f"{field}: {problems[field]}", field=field)
    return values


#: The contact fields a new value of which is confirmed by a code sent to it, and by which channel.
CONFIRMED_BY = {"email": SignInCode.Channel.EMAIL, "phone": SignInCode.Channel.SMS}


@dataclass(frozen=True)
class Confirmation:
    """A code sent to a new e-mail or phone: the field it will change, the challenge to type the
    code against, where it went ('email' or 'sms') and until when it works."""

    field: str
    challenge: str
    sent_to: str
    expires_at: datetime


@dataclass(frozen=True)
class ProfileSaved:
    """What saving the profile did: the fields changed, what is still missing, the bonus granted
    now, and the new e-mail or phone waiting for the code sent to it (`to_confirm`)."""

    changed: list[str]
    missing: list[str]
    bonus_points: int
    to_confirm: list[Confirmation] = field(default_factory=list)


def _save(member: Member, values: dict) -> ProfileSaved:
    """Write the values that differ and, when the profile is complete afterwards, credit the
    programme's profile bonus (once per member), in one transaction."""
    changed = [name for name, value in values.items() if getattr(member, name) != value]
    bonus = None
    with transaction.atomic():
        if changed:
            for name in changed:
                setattr(member, name, values[name])
            member.save(update_fields=[*changed, "updated_at"])  # through save: the change log records it
        if not missing_fields(member):
            bonus = award_bonus(member, Action.PROFILE_COMPLETED, "", actor(member))
    return ProfileSaved(changed, missing_fields(member), bonus["points"] if bonus else 0)


def _ask_confirmation(member: Member, name: str, value: str, network_address: str) -> Confirmation:
    """Send a code to the new address; an earlier code for the same field no longer works."""
    channel = CONFIRMED_BY[name]
    client = signin.client_key(network_address)
    signin.check_codes_left(member, client, name, name)
    SignInCode.objects.filter(member=member, purpose=name, used_at=None).update(used_at=now_utc(), new_value="")
    sent = signin.issue_code(member, channel, value, client, purpose=name, shown=channel, new_value=value, field=name)
    return Confirmation(name, sent.challenge, sent.sent_to, sent.expires_at)


def update_profile(member: Member, changes: dict, network_address: str = "") -> ProfileSaved:
    """Change the member's profile and contact data (`changes`: field -> value; e-mail and phone
    checked and written as the identity resolution reads them, E.164 for a phone). A new e-mail or
    phone is not written: a code goes to it (`to_confirm`) and `confirm_contact` writes it. When
    the profile is complete afterwards, the programme's profile bonus is credited, once per member,
    in the same transaction. InvalidProfile names the first field at fault, TooManyCodes,
    SignInLocked or CodeNotSent the contact field whose code could not go; nothing is written then."""
    values = _cleaned(changes)
    to_confirm = [name for name in CONFIRMED_BY if values.get(name) and values[name] != getattr(member, name)]
    sent = [_ask_confirmation(member, name, values.pop(name), network_address) for name in to_confirm]
    saved = _save(member, values)
    return ProfileSaved(saved.changed, saved.missing, saved.bonus_points, sent)


def confirm_contact(member: Member, challenge: str, code: str, network_address: str = "") -> ProfileSaved:
    """Write the new e-mail or phone the code typed confirms (the profile bonus too, when that
    completes the profile). Refused as a sign-in code is (WrongCode, CodeExpired, SignInLocked);
    a code of another member or for signing in is unknown here."""
    stored = signin.find_code(challenge, member=member, purpose__in=list(CONFIRMED_BY))
    signin.check_code(stored, challenge, code, network_address)
    with transaction.atomic():
        signin.use_code(stored)
        return _save(member, {stored.purpose: stored.new_value})


def awaiting_confirmation(member: Member) -> list[dict]:
    """The new e-mail or phone whose code still works: [{field, value, expires_at}]."""
    waiting = SignInCode.objects.filter(member=member, purpose__in=list(CONFIRMED_BY), used_at=None,
                                        expires_at__gt=now_utc(), wrong_tries__lt=signin.TRIES_PER_CODE)
    return [{"field": code.purpose, "value": code.new_value, "expires_at": code.expires_at}
            for code in waiting.order_by("purpose")]


def consents(member: Member) -> list[dict]:
    """The member's consent now for each purpose and channel (the programme's default where they
    never said), as the privacy app derives it."""
    return [{"purpose": s.purpose, "channel": s.channel, "granted": s.granted, "since": s.occurred_at,
             "source": s.source} for s in consent.current_consents(member)]


def change_consent(member: Member, purpose: str, channel: str, granted: bool) -> dict:
    """Record the member's choice for one purpose and channel (a consent event of source 'web',
    with the consent text's version shown). BadConsent for an unknown purpose or channel."""
    event = consent.record_consent(member, purpose, channel, granted, occurred_at=now_utc(), source=Source.WEB,
                                   text_version=settings().consent_text_version, recorded_by=actor(member))
    return {"purpose": event.purpose, "channel": event.channel, "granted": event.granted, "since": event.occurred_at}


def consent_history(member: Member) -> list[dict]:
    """Every consent event of the member, oldest first."""
    return consent.consent_history(member)


def ask_erasure(member: Member, reason: str) -> erasure.ErasureAnswer:
    """The member's request to be erased, handed to the privacy workflow (a data protection officer
    approves it, another carries it out); asking again answers the request under way."""
    return erasure.request_erasure(member.customer_id, reason=reason.strip() or "asked by the member in the portal",
                                   requested_by=actor(member))


def erasure_state(member: Member) -> erasure.ErasureAnswer | None:
    """The member's latest erasure request, if any."""
    return erasure.erasure_status(member.customer_id)


def export_own_data(member: Member) -> Path:
    """Write the member's access archive (everything held about them, privacy.access) and return
    its path; registered so that an erasure removes it."""
    return access.export_member(member.customer_id).path
