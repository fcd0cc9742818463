"""What customer care refuses, each with a stable `code`, an HTTP status and the field at fault."""

from __future__ import annotations

from clientele.errors import RequestRefused


class CareError(RequestRefused):
    code, status = "care_error", 422


class UnknownEvent(CareError):
    code, status, default_field = "unknown_event", 404, "event"


class EventNotStarted(CareError):
    code, status, default_field = "event_not_started", 409, "event"


class InvalidEvent(CareError):
    code, status = "invalid_event", 422


class InvalidCall(CareError):
    code, status, default_field = "invalid_call", 422, "outcome"
