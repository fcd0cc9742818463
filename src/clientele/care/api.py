"""The till API's call recording a member's attendance at a member event (loaded by `site.urls`):
the member named by card or member number, the store-scoped key checked as for a basket, the
event's bonus credited once per member and event. Errors are the till API's problems."""

from __future__ import annotations

from ninja import Field, Schema

from clientele.api_inputs import Code
from clientele.care import services
from clientele.api_inputs import Number as Stored
from clientele.loyalty.api import PROBLEMS, BalanceOut, Barcode, Number, Problem, api
from clientele.loyalty.errors import StoreNotAllowed


class AttendanceIn(Schema):
    store_id: Stored
    card: Barcode | None = None
    member_number: Number | None = None


class AttendanceOut(Schema):
    member_number: int
    event: str
    points_awarded: int
    balance: BalanceOut
    replayed: bool


@api.post("/events/{code}/attendance", response={200: AttendanceOut, PROBLEMS: Problem},
          summary="Record a member's attendance at a member event")
def attend(request, code: Code, payload: AttendanceIn):
    """Credit the event's bonus to the member, once per member and event: a second call answers
    the first credit with `replayed: true`. A store's key records its own store's events (and
    chain-wide ones)."""
    if payload.store_id != request.auth.store_id:
        raise StoreNotAllowed(f"this key belongs to store {request.auth.store_id}, not store {payload.store_id}")
    return services.record_attendance(code, request.auth.actor, member_number=payload.member_number,
                                      card=payload.card, store_id=payload.store_id)
