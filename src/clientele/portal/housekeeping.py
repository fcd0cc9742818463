"""The portal's nightly housekeeping (decision 0109): sign-in records past their use are deleted.

Sign-in and confirmation codes, wrong codes and sessions are the audit of sign-in attempts; they
are kept `portal_records_days` (30) after they ended (a code expired, a session expired or signed
out), longer than any limit counts them (`portal_lock_minutes` is at most a day), then deleted. A
new e-mail or phone a code was for is blanked as soon as the code expired or was used: it is
personal data nobody confirmed. Deleted in batches, each its own short transaction, so the purge
never holds a long lock nor a large transaction on the tables sign-in writes to; run again, it finds
nothing more to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from clientele.config import settings
from clientele.loyalty.ledger import now_utc
from clientele.portal.models import PortalSession, SignInCode, SignInFailure

#: Rows deleted per statement (and per transaction).
BATCH = 5000


def _delete_in_batches(rows, batch: int) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(rows.order_by("pk").values_list("pk", flat=True)[:batch])
            if ids:
                rows.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


def purge_sign_in_records(now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Delete the portal's sign-in records ended more than `portal_records_days` before `now`, and
    blank the new addresses of confirmation codes expired or used. Returns how many rows each
    did: codes, wrong codes, sessions deleted and addresses blanked (0 everywhere when run again)."""
    if batch < 1:
        raise ValueError("a batch deletes at least one row")
    now = now or now_utc()
    cutoff = now - timedelta(days=settings().portal_records_days)
    with transaction.atomic():
        blanked = (SignInCode.objects.exclude(new_value="").filter(Q(expires_at__lte=now) | Q(used_at__isnull=False))
                   .update(new_value=""))
    return {
        "codes": _delete_in_batches(SignInCode.objects.filter(expires_at__lt=cutoff), batch),
        "wrong codes": _delete_in_batches(SignInFailure.objects.filter(at__lt=cutoff), batch),
        "sessions": _delete_in_batches(PortalSession.objects.filter(
            Q(expires_at__lt=cutoff) | Q(signed_out_at__lt=cutoff)), batch),
        "addresses blanked": blanked,
    }
