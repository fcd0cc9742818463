"""Helpers of the APIs' Schemathesis tests: requests sent to the served WSGI application, on the
test's database connection, as a signed-in person's browser sends them."""

from __future__ import annotations

from contextlib import contextmanager

import schemathesis
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils.crypto import get_random_string

from clientele.site.wsgi import application


@contextmanager
def connection_kept_open():
    """Requests answered by the WSGI handler, which would close the test's connection (and its
    transaction) after each one, keeping it open as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class BrowserSession:
    """Schemathesis' credentials for the back office's session APIs (register it on a schema with
    `schema.auth(refresh_interval=None)(BrowserSession)`): the cookies and CSRF token of the browser
    `signed_in` holds. Given as auth, not as extra cookies, so Schemathesis knows which cookie
    authenticates and checks that a call without it is refused."""

    cookies: dict[str, str] = {}

    def get(self, case, context) -> dict[str, str] | None:
        return dict(BrowserSession.cookies) or None

    def set(self, case, cookies: dict[str, str], context) -> None:
        case.cookies = {**(case.cookies or {}), **cookies}
        case.headers = {**(case.headers or {}), "X-CSRFToken": cookies[settings.CSRF_COOKIE_NAME]}


@contextmanager
def signed_in(user):
    """Requests to the WSGI application sent by a browser signed in to the back office as `user`,
    on the test's connection."""
    browser = Client()
    browser.force_login(user)
    BrowserSession.cookies = {settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value,
                              settings.CSRF_COOKIE_NAME: get_random_string(32)}
    try:
        with connection_kept_open():
            yield
    finally:
        BrowserSession.cookies = {}


@contextmanager
def signed_in_holding(*permissions: str):
    """Requests sent by a browser signed in as a user holding `permissions` ("offers.change_offer")."""
    user = User.objects.create_user("fuzz", password="x-long-password")
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    with signed_in(user):
        yield user


def session_api_schema(path: str):
    """The OpenAPI schema at `path` of an API a back-office session calls, served by the WSGI
    application, its cases sent with the credentials of the browser `signed_in` holds."""
    schema = schemathesis.openapi.from_wsgi(path, application)
    # Parameters the schema does not declare are ignored, as HTTP APIs do (tests/api/test_openapi_fuzz.py).
    schema.config.generation.update(allow_extra_parameters=False)
    schema.auth(refresh_interval=None)(BrowserSession)
    return schema
