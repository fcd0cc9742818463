"""Member events (PRODUCT.md §2: points for taking part in community events): an event is data, a
member's attendance is recorded once and credits the event's bonus through one ledger entry."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction

from clientele.care import errors
from clientele.care.models import EventAttendance, MemberEvent
from clientele.loyalty import ledger
from clientele.loyalty.bonuses import credit_event_bonus
from clientele.loyalty.identity import resolve_member


def create_event(code: str, name: str, held_on: date, bonus_points: int, store_id: int | None = None) -> MemberEvent:
    """A new member event: its code (letters, digits, '-', '_'), name, day and the points taking
    part earns. Refuses a code in use, an empty name and fewer than 1 point (InvalidEvent)."""
    if not code or not all(c.isalnum() or c in "-_" for c in code) or len(code) > 40:
        raise errors.InvalidEvent(f"{code!r} is not an event code: up to 40 letters, digits, '-' or '_'",
                                  field="code")
    if not name.strip():
        raise errors.InvalidEvent("an event has a name", field="name")
    if bonus_points < 1:
        raise errors.InvalidEvent(f"taking part earns at least 1 point, not {bonus_points}", field="bonus_points")
    try:
        with transaction.atomic():
            return MemberEvent.objects.create(code=code, name=name.strip(), held_on=held_on,
                                              bonus_points=bonus_points, store_id=store_id)
    except IntegrityError:
        raise errors.InvalidEvent(f"event code {code!r} is already in use", field="code") from None


def event_by_code(code: str) -> MemberEvent:
    """The event of this code (UnknownEvent when none)."""
    event = MemberEvent.objects.filter(code=code).first()
    if event is None:
        raise errors.UnknownEvent(f"no member event {code!r}")
    return event


def record_attendance(event_code: str, actor: str, *, member_number: int | None = None, card: str | None = None,
                      store_id: int | None = None) -> dict:
    """Record that the member (by card or member number) took part in the event and credit its
    bonus, once per member and event, in one transaction: recording it again answers the first
    with `replayed: true`. `store_id`: the store of the till key recording it (a store's key
    records only its own store's events). Refuses an unknown event or member, and the event's
    attendance before its day (EventNotStarted). Returns the member number, the event, the points
    credited, the member's balance and `replayed`."""
    event = event_by_code(event_code)
    if store_id is not None and event.store_id is not None and event.store_id != store_id:
        raise errors.InvalidEvent(f"event {event.code} is held by store {event.store_id}, not store {store_id}",
                                  field="event")
    now = ledger.now_utc()
    if now.date() < event.held_on:
        raise errors.EventNotStarted(f"event {event.code} is on {event.held_on}: attendance is recorded from that day")
    member, _ = resolve_member(card=card, member_number=member_number)
    with transaction.atomic():
        entry, replayed = credit_event_bonus(member, event.code, event.bonus_points, actor)
        if not replayed:
            EventAttendance.objects.create(event=event, member=member, points_entry=entry, recorded_at=now,
                                           recorded_by=actor)
    return {"member_number": member.customer_id, "event": event.code, "points_awarded": entry.amount,
            "balance": ledger.balance(entry.account_id).as_dict(), "replayed": replayed}


def events_with_attendance() -> list[dict]:
    """Every event, newest first, with how many members took part and the points it gave."""
    from django.db.models import Count, Sum

    rows = MemberEvent.objects.annotate(attended=Count("attendances"),
                                        points=Sum("attendances__points_entry__amount"))
    return [{"event": event, "attended": event.attended, "points": event.points or 0} for event in rows]
