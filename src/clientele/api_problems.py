"""The refusals every API answers alike, as a problem `{code, message, field}`: a request that does
not match its schema (422, naming the field), a body that cannot be read (400), a call without valid
credentials (401), a browser's call without its session's CSRF token (403)."""

from __future__ import annotations

from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError


class Problem(Schema):
    """A refusal: a stable machine-readable code, a sentence, the field at fault."""

    code: str
    message: str
    field: str = ""


#: The refusals any call of a back-office session API may answer besides its own.
SESSION_PROBLEMS = {400: Problem, 401: Problem, 403: Problem, 422: Problem}


def invalid_request(errors: list[dict]) -> dict:
    """The body of a request that does not match the schema (422), naming the first field at fault."""
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "payload")]
    field = ".".join(location)
    return {"code": "invalid_request", "message": f"{field or 'request'}: {first.get('msg', 'invalid')}", "field": field}


#: A body that is not JSON (400), as django-ninja words it: malformed, or nested too deep to read.
UNREADABLE_BODY = {"code": "invalid_request", "message": "Cannot parse request body", "field": "body"}
#: A browser's write without the CSRF token of its session (403), as Django refuses it.
CSRF_MISSING = {"code": "csrf_failed", "field": "X-CSRFToken",
                "message": "send the session's CSRF token: the csrftoken cookie and the same value in X-CSRFToken"}


def http_refusal(error: HttpError) -> dict:
    """The body of django-ninja's own refusals: an unreadable body (400), a failed CSRF check (403)."""
    if error.status_code == 400:
        return UNREADABLE_BODY
    if error.status_code == 403:
        return CSRF_MISSING
    return {"code": "invalid_request", "message": error.message, "field": "body"}


def answer_refusals_as_problems(api: NinjaAPI, not_signed_in: str) -> None:
    """Have `api` answer its schema's, django-ninja's and its authentication's refusals as problems;
    `not_signed_in`: the sentence of a call without valid credentials (401)."""

    def schema_refused(request, error: ValidationError):
        return api.create_response(request, invalid_request(error.errors), status=422)

    def ninja_refused(request, error: HttpError):
        return api.create_response(request, http_refusal(error), status=error.status_code)

    def credentials_refused(request, error: AuthenticationError):
        return api.create_response(request, {"code": "not_signed_in", "message": not_signed_in, "field": ""},
                                   status=401)

    api.add_exception_handler(ValidationError, schema_refused)
    api.add_exception_handler(HttpError, ninja_refused)
    api.add_exception_handler(AuthenticationError, credentials_refused)
