"""A till's retry gets the first answer; another request under the same id is refused.

Every idempotent till call (a basket, a return, a redemption, an enrolment, a card replacement)
keeps the SHA-256 of its request with its first answer. A call that comes again with the same key
is a replay only when its fingerprint is the same: a redemption id reused for another member or
another amount is refused (`errors.RequestReused`), never answered as if the points were spent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction

from clientele.loyalty import errors
from clientele.loyalty.models import TillRequest


def fingerprint(request) -> str:
    """The SHA-256 of a request (a dataclass) as JSON, its keys sorted and every value that is not
    JSON (amounts, dates) as its text: equal for the same request sent again, whatever the order
    of its fields."""
    content = dataclasses.asdict(request)
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def replayed(first_result: dict, first_hash: str, request_hash: str, what: str, field: str) -> dict:
    """The first answer marked `replayed`, when the request is the first one again; else
    errors.RequestReused naming `what` (e.g. "redemption id R1") and `field`. A record kept before
    fingerprints were (an empty hash) is answered as a replay, as it was then."""
    if first_hash and first_hash != request_hash:
        raise errors.RequestReused(f"{what} was already used for another request", field=field)
    return first_result | {"replayed": True}


def once(call: str, key: str, request, field: str, answer: Callable[[], dict]) -> dict:
    """`answer()` run once per (call, key) in one transaction with the record of its answer; a
    second request with the same key gets the first answer (`replayed: true`) when it is the same
    request, errors.RequestReused when it is not. For calls that keep no record of their own."""
    request_hash = fingerprint(request)
    what = f"{field} {key}"
    first = TillRequest.objects.filter(call=call, key=key).first()
    if first is not None:
        return replayed(first.result, first.request_hash, request_hash, what, field)
    try:
        with transaction.atomic():
            result = answer()
            TillRequest.objects.create(call=call, key=key, request_hash=request_hash, result=result)
    except IntegrityError:
        # A concurrent call with the same key committed first (or the answer's own writes clashed).
        first = TillRequest.objects.filter(call=call, key=key).first()
        if first is None:
            raise
        return replayed(first.result, first.request_hash, request_hash, what, field)
    return result | {"replayed": False}
