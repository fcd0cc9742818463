"""The till's two hot calls, identify and post a basket, answered in front of Django's request cycle.

Every customer at every till makes them; Django's request cycle (middleware, URL resolving,
request and response objects) and django-ninja's per-call machinery cost more CPU than the
checkout itself (docs/decisions/0008-till-hot-calls-beside-django.md). `HotCalls` wraps the Django
WSGI application (`site.wsgi`): it answers `GET /api/members/identify` and `POST /api/baskets`
and hands every other request to Django. The contract is the one `loyalty.api` documents in the
OpenAPI schema, kept by using its pieces: the same pydantic schemas validate the request and shape
the answer (a basket's fresh answer is made in the schema's form and encoded as it is, decision
0120), the same services answer, the same problem bodies refuse; Django's request signals still
open and close the database connection.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Callable, Iterable
from http import HTTPStatus
from urllib.parse import parse_qsl

from django.conf import settings
from django.core import signals
from django.core.cache import close_caches
from django.core.handlers.base import reset_urlconf
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, reset_queries
from django.dispatch import Signal, receiver
from django.http.request import split_domain_port, validate_host
from pydantic import ValidationError
from pydantic_core import to_json

from clientele.errors import RequestRefused
from clientele.loyalty import api, rate_limit, services

logger = logging.getLogger("django.request")

Answer = tuple[int, bytes]
#: The headers Django's middleware (security, clickjacking) puts on every answer.
HEADERS = [("Content-Type", "application/json; charset=utf-8"), ("X-Frame-Options", "DENY"),
           ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
           ("Cross-Origin-Opener-Policy", "same-origin")]
SERVER_ERROR = {"code": "server_error", "message": "the server failed: try again", "field": ""}


def _json(body: dict) -> bytes:
    return json.dumps(body).encode()


#: `BasketOut`'s four fields about offers, as an answer without offers leaves them (their defaults,
#: in its order: they come last in the schema and in the checkout's answer alike).
_NO_OFFERS = {"lines": [], "offers": [], "discount_total": "0", "list_number": None}


def basket_answer(answer: dict) -> bytes:
    """The checkout's answer as `BasketOut`'s JSON. A fresh answer is the checkout's own dict, made
    with exactly `BasketOut`'s fields and types (`checkout.decide`, the store's balance and message,
    `offers.till.answer_parts`), so it is encoded as it is: validating its 20 offers and 20 lines'
    offers again cost 5 times the encoding, on every basket with a list (issue 19's till cost). A
    replay's answer is read back from the basket's row, stored by whichever version of the code
    recorded it: the schema fills what an older one lacks. A test holds both equal to the
    schema's own encoding, with and without offers."""
    if answer.get("replayed", True):
        return api.BasketOut.model_validate(answer).model_dump_json().encode()
    return to_json(answer if "lines" in answer else answer | _NO_OFFERS)


def headers(status: int, body: bytes) -> list[tuple[str, str]]:
    """The headers of a hot call's answer: Django's middleware's, and `Retry-After` on a 503."""
    extra = [api.RETRY_AFTER] if status == 503 else []
    return [*HEADERS, *extra, ("Content-Length", str(len(body)))]


class HotCalls:
    """A WSGI application: the till's identify and basket calls answered here, the rest by `django_app`."""

    def __init__(self, django_app: Callable):
        self.django_app = django_app
        self.calls: dict[tuple[str, str], Callable[[dict, str | None], bytes]] = {
            ("GET", "/api/members/identify"): self.identify,
            ("POST", "/api/baskets"): self.post_basket,
        }

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        answered = self.answer(environ)
        if answered is None:
            return self.django_app(environ, start_response)
        status, body = answered
        start_response(f"{status} {HTTPStatus(status).phrase}", headers(status, body))
        return [body]

    def answer(self, environ: dict) -> Answer | None:
        """The status and JSON body of a hot call, or None for a request Django answers (another
        path or method, a host Django would refuse; every call when the setting
        CLIENTELE_HOT_CALLS is off)."""
        if not settings.CLIENTELE_HOT_CALLS:
            return None
        call = self.calls.get((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        if call is None or not _host_allowed(environ):
            return None
        if _too_large(environ):
            return 413, _json(api.too_large())
        if _body_size(environ) and not api.is_json(environ.get("CONTENT_TYPE")):
            return 415, _json(api.NOT_JSON)
        # As Django's handler does: the signals close a connection that is too old or broken.
        _request_started(self.__class__, environ)
        try:
            return self._answer(call, environ)
        finally:
            _request_finished(self.__class__)

    def _answer(self, call: Callable[[dict, str | None], bytes], environ: dict) -> Answer:
        raw_key = environ.get("HTTP_X_API_KEY")
        try:
            rate_limit.check(raw_key)
            return 200, call(environ, raw_key)
        except RequestRefused as error:  # a refused key too (KeyRefused: 401 invalid_api_key), an offer's (a list)
            return error.status, _json(api.problem(error))
        except api.UNAVAILABLE_ERRORS:  # the database restarting, a connection lost: the till sends it again
            return 503, _json(api.UNAVAILABLE)
        except (ValidationError, _UnreadableBody) as error:
            # The key is checked before the request, as django-ninja does: a refused key is a 401
            # whatever came with it.
            if services.authenticate(raw_key) is None:
                return 401, _json(api.INVALID_API_KEY)
            if isinstance(error, _UnreadableBody):
                return 400, _json(api.UNREADABLE_BODY)
            return 422, _json(api.invalid_request(error.errors(include_url=False)))
        except Exception:
            # Django's handler does the same: tell the listeners (the test client) and log it.
            signals.got_request_exception.send(sender=self.__class__, request=None)
            logger.exception("Internal Server Error: %s", environ.get("PATH_INFO"))
            return 500, _json(SERVER_ERROR)

    # Both calls have the services check the key in their first query: one round trip fewer than
    # checking it here.

    def identify(self, environ: dict, raw_key: str | None) -> bytes:
        query = api.IdentifyQuery.model_validate(_query(environ))
        member = services.identify(card=query.card, phone=query.phone, member_number=query.member_number,
                                   key=services.PresentedKey(raw_key))
        return api.IdentifyOut.model_validate(member).model_dump_json().encode()

    def post_basket(self, environ: dict, raw_key: str | None) -> bytes:
        payload = api.BasketIn.model_validate(_body(environ))
        answer = services.post_basket(api.basket_to_post(payload), services.PresentedKey(raw_key))
        return basket_answer(answer)


#: What Django itself connects to the request signals.
_DJANGOS_RECEIVERS = {signals.request_started: [reset_queries, close_old_connections],
                      signals.request_finished: [close_old_connections, close_caches, reset_urlconf]}


def _only_djangos(signal: Signal) -> bool:
    """Whether only Django's own receivers listen to `signal`, and there is one database."""
    connected = [receiver() if isinstance(receiver, weakref.ReferenceType) else receiver
                 for _, receiver, *_ in signal.receivers]
    return connected == _DJANGOS_RECEIVERS[signal] and len(connections.settings) == 1


def _request_started(sender: type, environ: dict) -> None:
    """`request_started`, sent; or, when only Django's receivers listen, what they do done
    directly: a signal's dispatch (its receivers and their thread-local look-ups of every
    connection) costs a hot call more than its own query's Python."""
    if not _only_djangos(signals.request_started):
        signals.request_started.send(sender=sender, environ=environ)
        return
    db = connections[DEFAULT_DB_ALIAS]
    db.queries_log.clear()
    db.close_if_unusable_or_obsolete()


def _request_finished(sender: type) -> None:
    """`request_finished`, as `_request_started`. Of its receivers only the connection's applies:
    a hot call sets no URLconf and uses no cache."""
    if not _only_djangos(signals.request_finished):
        signals.request_finished.send(sender=sender)
        return
    connections[DEFAULT_DB_ALIAS].close_if_unusable_or_obsolete()


class _UnreadableBody(Exception):
    """The body is not JSON."""


#: `_host_allowed`'s answers by the Host header: a till sends the same one on every call, and
#: checking it (a regular expression, the settings read through their lazy object) costs more than
#: a look-up. Emptied when the settings change (tests), and when clients send many hosts.
_hosts_checked: dict[str, bool] = {}


@receiver(signals.setting_changed)
def _forget_hosts_checked(**kwargs) -> None:
    _hosts_checked.clear()


def _host_allowed(environ: dict) -> bool:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    allowed = _hosts_checked.get(host)
    if allowed is None:
        if len(_hosts_checked) >= 100:
            _hosts_checked.clear()
        allowed = _hosts_checked[host] = _check_host(host)
    return allowed


def _check_host(host: str) -> bool:
    """Whether Django would accept a request for `host` (its `HttpRequest.get_host`)."""
    domain, _ = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:  # Django's own default in debug mode
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _body_size(environ: dict) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large(environ: dict) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # None: no limit
    return limit is not None and _body_size(environ) > limit


def _body(environ: dict):
    """The JSON body, read as Django reads it (CONTENT_LENGTH bytes); an empty body is a missing
    payload, as django-ninja sees it."""
    size = _body_size(environ)
    raw = environ["wsgi.input"].read(size) if size > 0 else b""
    if not raw:
        raise ValidationError.from_exception_data("BasketIn", [{"type": "missing", "loc": (), "input": None}])
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:  # malformed, or nested deeper than Python reads
        raise _UnreadableBody from error


def _query(environ: dict) -> dict[str, str]:
    """The query string's parameters, decoded as Django's QueryDict does (the last of repeated ones)."""
    raw = environ.get("QUERY_STRING", "").encode("iso-8859-1")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        text = raw.decode("iso-8859-1")
    return dict(parse_qsl(text, keep_blank_values=True))
