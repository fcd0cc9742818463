"""What the service desk refuses, each with a stable `code`, an HTTP status and the field at fault.

The service API maps them to problems in one place (`service.api`); the CLI prints their message.
"""

from __future__ import annotations

from clientele.errors import RequestRefused


class ServiceError(RequestRefused):
    """A request the service desk refuses; `field` names the part of the request at fault."""

    code = "service_error"

    def __init__(self, message: str, field: str | None = None, fields: dict[str, str] | None = None):
        super().__init__(message, field)
        #: field -> what is wrong with it, when several fields are at fault (a complaint form)
        self.fields = fields or ({self.field: message} if self.field else {})


class InvalidComplaint(ServiceError):
    code, status = "invalid_complaint", 422


class UnknownComplaint(ServiceError):
    code, status, default_field = "unknown_complaint", 404, "complaint"


class UnknownMember(ServiceError):
    code, status, default_field = "unknown_member", 404, "member_number"


class TransitionRefused(ServiceError):
    code, status, default_field = "transition_refused", 409, "status"


class GoodwillAboveLimit(ServiceError):
    code, status, default_field = "goodwill_above_limit", 403, "points"


class GoodwillAlreadyGiven(ServiceError):
    code, status, default_field = "goodwill_already_given", 409, "points"


class CompensationAlreadyGiven(ServiceError):
    code, status = "compensation_already_given", 409


class InvalidSurvey(ServiceError):
    code, status = "invalid_survey", 422


class UnknownSurvey(ServiceError):
    code, status, default_field = "unknown_survey", 404, "survey"


class UnknownInvitation(ServiceError):
    code, status, default_field = "unknown_invitation", 404, "token"


class InvitationExpired(ServiceError):
    code, status, default_field = "invitation_expired", 410, "token"


class SurveyClosed(ServiceError):
    code, status, default_field = "survey_closed", 410, "survey"


class AlreadyAnswered(ServiceError):
    code, status, default_field = "already_answered", 409, "token"


class InvalidScore(ServiceError):
    code, status = "invalid_score", 422


class InvalidWinBack(ServiceError):
    code, status = "invalid_win_back", 422
