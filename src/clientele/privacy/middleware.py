"""The change log's actor: the logged-in user of a back-office request."""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings


class ChangeLogActor(AuditlogMiddleware):
    """django-auditlog's middleware for requests that carry a session: reading the user of a
    request without one (a till's call, keyed by its API key) would add `Vary: Cookie` to the
    till's answers and gains nothing (no user to name; the ledger names the key)."""

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        return super().__call__(request)
