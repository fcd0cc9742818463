"""Consent: every change is an event; the current state is derived from the events, never typed.

The member's consent fields (`Member.email_consent`, `sms_consent`, `post_consent`,
`profiling_consent`, `consent_updated_at`) are a cache of the derived state, written only by
`refresh_consent_cache`, so that every place that reads consent today (the lake sync's list of
profiling refusals, shopping lists, campaign sends, segment exports) keeps reading one column.

Public API (the member portal calls these): `record_consent`, `current_consents`, `consent_history`;
for the identity resolution's merges: `restrict_for_merge` and `undo_merge_restrictions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from clientele.members.models import Member
from clientele.privacy.errors import BadConsent
from clientele.privacy.models import Channel, ConsentEvent, Purpose, Source

#: (purpose, channel) -> the member's cache field.
CACHE_FIELD = {
    (Purpose.PROFILING.value, ""): "profiling_consent",
    (Purpose.MARKETING.value, Channel.EMAIL.value): "email_consent",
    (Purpose.MARKETING.value, Channel.SMS.value): "sms_consent",
    (Purpose.MARKETING.value, Channel.POST.value): "post_consent",
}
#: What a member who never said anything is taken to have agreed to (decision 0064): the
#: programme's terms include profiling for personal offers (withdrawable at any time); marketing
#: on any channel needs the member's own yes.
DEFAULT = {("profiling", ""): True, ("marketing", "email"): False, ("marketing", "sms"): False,
           ("marketing", "post"): False}


@dataclass(frozen=True)
class ConsentState:
    """A member's current consent for one purpose on one channel, and the event behind it (None:
    the member never said; the programme's default applies)."""

    purpose: str
    channel: str
    granted: bool
    occurred_at: datetime | None
    source: str | None
    text_version: str | None


def _check(purpose: str, channel: str, source: str, occurred_at: datetime, text_version: str) -> None:
    if (purpose, channel) not in CACHE_FIELD:
        allowed = ", ".join(f"{p}/{c}" if c else p for p, c in CACHE_FIELD)
        raise BadConsent(f"purpose/channel {purpose}/{channel or '-'} is not asked: choose one of {allowed}")
    if source not in Source.values:
        raise BadConsent(f"source {source!r} is not one of {', '.join(Source.values)}")
    if occurred_at is None or occurred_at.tzinfo is None:
        raise BadConsent("occurred_at must be a time with its time zone")
    if not text_version or len(text_version) > 40:
        raise BadConsent("text_version must name the consent text shown to the member (1-40 characters)")


def record_consent(member: Member, purpose: str, channel: str, granted: bool, *, occurred_at: datetime,
                   source: str, text_version: str, recorded_by: str = "") -> ConsentEvent:
    """Record that the member gave (granted) or withdrew consent for `purpose` on `channel` at
    `occurred_at`, then re-derive the member's cached consent. An event older than the member's
    latest for that purpose and channel is kept in the history but changes nothing. One
    transaction. Returns the event. BadConsent on an unknown purpose, channel or source."""
    channel = channel or ""
    _check(purpose, channel, source, occurred_at, text_version)
    if member.status == Member.Status.ERASED:
        raise BadConsent(f"member {member.customer_id} was erased: no consent can be recorded")
    with transaction.atomic():
        event = ConsentEvent.objects.create(
            member=member, purpose=purpose, channel=channel, granted=granted, occurred_at=occurred_at,
            source=source, text_version=text_version, recorded_by=recorded_by)
        refresh_consent_cache(member)
    return event


def current_consents(member: Member) -> list[ConsentState]:
    """The member's consent now for each purpose and channel, derived from the events: the latest
    by the time it was given (not by when it reached us), the programme's default where none."""
    latest: dict[tuple[str, str], ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(member=member).order_by("occurred_at", "id"):
        latest[(event.purpose, event.channel)] = event
    states = []
    for key in CACHE_FIELD:
        event = latest.get(key)
        states.append(ConsentState(key[0], key[1], DEFAULT[key] if event is None else event.granted,
                                   event and event.occurred_at, event and event.source, event and event.text_version))
    return states


def consent_history(member: Member) -> list[dict]:
    """Every consent event of the member, oldest first (by when it was given)."""
    return [
        {"purpose": e.purpose, "channel": e.channel, "granted": e.granted, "occurred_at": e.occurred_at.isoformat(),
         "recorded_at": e.recorded_at.isoformat(), "source": e.source, "text_version": e.text_version,
         "recorded_by": e.recorded_by}
        for e in ConsentEvent.objects.filter(member=member).order_by("occurred_at", "id")
    ]


def refresh_consent_cache(member: Member) -> None:
    """Write the member's consent fields from the events (the only writer of those fields); an
    erased member's are all false."""
    states = current_consents(member)
    erased = member.status == Member.Status.ERASED  # nobody left to profile or to write to
    values = {CACHE_FIELD[(s.purpose, s.channel)]: s.granted and not erased for s in states}
    moments = [s.occurred_at for s in states if s.occurred_at is not None]
    values["consent_updated_at"] = max(moments) if moments else None
    Member.objects.filter(pk=member.pk).update(**values)
    for name, value in values.items():
        setattr(member, name, value)


def restrict_for_merge(survivor: Member, absorbed: Member, *, occurred_at: datetime, label: str,
                       recorded_by: str = "") -> list[int]:
    """The merged customer's consent: for each purpose and channel, a refusal on either record wins
    (the most restrictive). Each consent the survivor has and the absorbed member refused is
    withdrawn on the survivor by an event of source "merge" (`label` names the merge), so a later
    choice of the member overrides it, as any later event does. Call inside the merge's transaction.
    Returns the ids of the events recorded (the unmerge takes them back)."""
    refused = {(s.purpose, s.channel) for s in current_consents(absorbed) if not s.granted}
    withdrawn = [
        ConsentEvent.objects.create(member=survivor, purpose=state.purpose, channel=state.channel, granted=False,
                                    occurred_at=occurred_at, source=Source.MERGE, text_version=label[:40],
                                    recorded_by=recorded_by).pk
        for state in current_consents(survivor) if state.granted and (state.purpose, state.channel) in refused
    ]
    if withdrawn:
        refresh_consent_cache(survivor)
    return withdrawn


def undo_merge_restrictions(survivor: Member, event_ids: list[int]) -> None:
    """An unmerge: the consent events the merge recorded on the survivor are taken back (the
    merge's own record keeps what they were), and the survivor's consent derived again."""
    ConsentEvent.objects.filter(member=survivor, pk__in=event_ids, source=Source.MERGE).delete()
    refresh_consent_cache(survivor)
