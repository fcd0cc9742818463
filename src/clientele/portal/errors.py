"""What the member portal refuses, each with a stable `code`, an HTTP status and the field at fault.

The portal's API maps them to problems in one place (`portal.api`); its pages show the message.
Sign-in refusals never say whether what was typed is a member's.
"""

from __future__ import annotations

from clientele.errors import RequestRefused


class PortalError(RequestRefused):
    """A request the portal refuses; `field` names the part of the request at fault."""

    code = "portal_error"


class UnusableIdentifier(PortalError):
    code, status, default_field = "unusable_identifier", 422, "identifier"


class WrongCode(PortalError):
    code, status, default_field = "wrong_code", 401, "code"


class CodeExpired(PortalError):
    code, status, default_field = "code_expired", 401, "code"


class SignInLocked(PortalError):
    code, status, default_field = "sign_in_locked", 429, "code"


class TooManyCodes(PortalError):
    code, status, default_field = "too_many_codes", 429, "identifier"


class CodeNotSent(PortalError):
    code, status, default_field = "code_not_sent", 503, "identifier"


class NotSignedIn(PortalError):
    code, status, default_field = "not_signed_in", 401, ""


class InvalidProfile(PortalError):
    code, status = "invalid_profile", 422


class InvalidFeedback(PortalError):
    code, status = "invalid_feedback", 422


class NotFound(PortalError):
    """Anything that is not the signed-in member's own: the same answer as for what does not exist."""

    code, status = "not_found", 404


class ReferralRefused(PortalError):
    code, status, default_field = "referral_refused", 409, "code"


class PointsShort(PortalError):
    """The member's available points do not cover the reward they chose: nothing was spent."""

    code, status, default_field = "insufficient_points", 409, "reward_code"
