"""The right to erasure: a request, a second person's approval, then the member's personal data
removed everywhere while the accounting stays (decision 0065, docs/privacy.md).

What stays, under the member number (now a pseudonym: nothing links it to a person any more): the
points ledger and account, the baskets and their lines, redemptions, campaign assignments, survey
scores, complaint records without their free text; the lake's basket lines (they never held a
name or a contact). Public API (the member portal calls these): `request_erasure`,
`approve_erasure`, `carry_out`, `erasure_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from django.db import transaction

from clientele.members.models import Card, Member
from clientele.privacy import audit
from clientele.privacy.errors import ErasureRefused, PrivacyError
from clientele.privacy.identity import find_member
from clientele.privacy.models import ErasureRequest

#: Keys of the JSON answers kept for replays (baskets, enrolments, redemptions) that hold a
#: member's name or contact details.
PERSONAL_KEYS = {"greeting_name", "name", "member_name", "first_name", "last_name", "email", "phone",
                 "birth_date", "address_line", "postal_code", "city"}
ERASED_TEXT = "[erased]"
#: A complaint in these states is answered; any other is still open (erasure waits for it).
_CLOSED = ("resolved", "closed")
#: The Member fields that hold personal data, and what they become.
MEMBER_FIELDS = {"first_name": "", "last_name": "", "email": "", "phone": "", "birth_date": None,
                 "address_line": "", "postal_code": "", "city": "", "country": ""}


@dataclass(frozen=True)
class ErasureAnswer:
    """What a member asking for erasure is told: the request, its state, and what was erased."""

    request_id: int
    customer_id: int
    status: str
    summary: dict


def _answer(request: ErasureRequest) -> ErasureAnswer:
    return ErasureAnswer(request.id, request.customer_id, request.status, dict(request.summary))


def request_erasure(customer_id: int, *, reason: str, requested_by: str) -> ErasureAnswer:
    """Ask for the erasure of member `customer_id` (the survivor's number after a merge). A
    member already erased, or with a request under way, gets that request back (the same answer
    however often asked). UnknownMember; PrivacyError without a reason or requester."""
    if not reason.strip():
        raise PrivacyError("an erasure needs a reason")
    if not requested_by.strip():
        raise PrivacyError("an erasure needs the name of who asks for it")
    member = find_member(customer_id)
    with transaction.atomic():
        existing = ErasureRequest.objects.select_for_update().filter(customer_id=member.customer_id).order_by("-id").first()
        if existing is not None and (existing.status != ErasureRequest.Status.DONE
                                     or member.status == Member.Status.ERASED):
            return _answer(existing)
        request = ErasureRequest.objects.create(customer_id=member.customer_id, reason=reason.strip(),
                                                requested_by=requested_by.strip())
    return _answer(request)


def approve_erasure(request_id: int, *, approved_by: str) -> ErasureAnswer:
    """The second person's approval. ErasureRefused when the approver is the requester (the
    database refuses it too) or the request is unknown; an approved or done request is answered as is."""
    with transaction.atomic():
        request = ErasureRequest.objects.select_for_update().filter(pk=request_id).first()
        if request is None:
            raise ErasureRefused(f"no erasure request {request_id}")
        if request.status != ErasureRequest.Status.PENDING:
            return _answer(request)
        if not approved_by.strip() or approved_by.strip() == request.requested_by:
            raise ErasureRefused(f"erasure request {request_id} was asked by {request.requested_by}: "
                                 "another person must approve it")
        request.approved_by, request.approved_at = approved_by.strip(), datetime.now(timezone.utc)
        request.status = ErasureRequest.Status.APPROVED
        request.save(update_fields=["approved_by", "approved_at", "status"])
    return _answer(request)


def erasure_status(customer_id: int) -> ErasureAnswer | None:
    """The latest erasure request about the member (by the number asked for), or None."""
    request = ErasureRequest.objects.filter(customer_id=customer_id).order_by("-id").first()
    return None if request is None else _answer(request)


def carry_out(request_id: int) -> ErasureAnswer:
    """Erase the member of an approved request: database in one transaction, then the files the
    system wrote and the lake's reference tables. Done already: the same answer again.
    ErasureRefused when not approved or while a complaint of the member is still open."""
    from clientele.service.models import Complaint

    request = ErasureRequest.objects.filter(pk=request_id).first()
    if request is None:
        raise ErasureRefused(f"no erasure request {request_id}")
    if request.status == ErasureRequest.Status.DONE:
        return _answer(request)
    if request.status != ErasureRequest.Status.APPROVED:
        raise ErasureRefused(f"erasure request {request_id} waits for a second person's approval")
    member = Member.objects.get(customer_id=request.customer_id)
    open_complaints = list(Complaint.objects.filter(member=member).exclude(status__in=_CLOSED)
                           .values_list("pk", flat=True))
    if open_complaints:
        raise ErasureRefused(
            f"member {member.customer_id} has open complaint(s) {', '.join(map(str, open_complaints))}: "
            "close them (answer the member) first, then carry the erasure out")
    with transaction.atomic():
        summary = _erase_database(member)
        summary["change log entries relabelled"] = audit.relabel_erased_member(member)
        audit.log_erasure(member, request.id)
        request.status, request.completed_at = ErasureRequest.Status.DONE, datetime.now(timezone.utc)
        request.summary = summary
        request.save(update_fields=["status", "completed_at", "summary"])
    summary.update(_erase_files(member.customer_id))
    ErasureRequest.objects.filter(pk=request.pk).update(summary=summary)
    request.summary = summary
    return _answer(request)


def _scrub(value, personal: list[str]):
    """`value` (an answer kept as JSON) without personal keys, and with every personal value
    (the member's name in a receipt's greeting, say) replaced in its texts."""
    if isinstance(value, dict):
        return {k: (None if k in PERSONAL_KEYS else _scrub(v, personal)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, personal) for v in value]
    if isinstance(value, str):
        for text in personal:
            value = value.replace(text, ERASED_TEXT)
    return value


def _erase_database(member: Member) -> dict:
    from clientele.campaigns.models import Contact
    from clientele.loyalty.models import Basket, Redemption, TillRequest
    from clientele.care.models import FollowUpCall
    from clientele.members.models import CustomerProfile, HouseholdDemographics, TillContext
    from clientele.portal.models import PortalSession, ReferralCode, Review, SignInCode, SignInFailure
    from clientele.privacy.consent import refresh_consent_cache
    from clientele.service.churn_models import ExitReason
    from clientele.service.models import Complaint, ComplaintEvent, Compensation

    now = datetime.now(timezone.utc)
    summary: dict[str, int] = {}
    # longest first: "Ada Lovelace" goes before "Ada"
    personal = sorted({str(getattr(member, name)) for name in MEMBER_FIELDS if getattr(member, name)} | {
        member.display_name} - {f"Member {member.customer_id}"}, key=len, reverse=True)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.ERASED, **MEMBER_FIELDS)
    member.refresh_from_db()
    refresh_consent_cache(member)  # an erased member consents to nothing
    summary["member"] = 1
    summary["demographics"] = HouseholdDemographics.objects.filter(member=member).delete()[0]
    summary["profile"] = CustomerProfile.objects.filter(member=member).delete()[0]
    summary["till context"] = TillContext.objects.filter(member=member).delete()[0]
    FollowUpCall.objects.filter(member=member).exclude(notes="").update(notes=ERASED_TEXT)
    summary["cards blocked"] = Card.objects.filter(member=member, status=Card.Status.ACTIVE).update(
        status=Card.Status.BLOCKED, blocked_at=now)
    scrubbed = 0
    for model, rows in ((Basket, Basket.objects.filter(member=member)),
                        (Redemption, Redemption.objects.filter(account__member=member)),
                        (TillRequest, TillRequest.objects.filter(result__member_number=member.customer_id))):
        for pk, result in rows.values_list("pk", "result").iterator():
            clean = _scrub(result, personal)
            if clean != result:
                model.objects.filter(pk=pk).update(result=clean)
                scrubbed += 1
    summary["till answers scrubbed"] = scrubbed
    complaints = Complaint.objects.filter(member=member)
    summary["complaints"] = complaints.update(
        what_happened=ERASED_TEXT, how_it_happened=ERASED_TEXT, why_unhappy=ERASED_TEXT,
        other_cause="", wanted_resolution=ERASED_TEXT)
    ComplaintEvent.objects.filter(complaint__in=complaints).exclude(note="").update(note=ERASED_TEXT)
    Compensation.objects.filter(complaint__in=complaints).exclude(note="").update(note=ERASED_TEXT)
    ExitReason.objects.filter(member=member).exclude(note="").update(note=ERASED_TEXT)
    Contact.objects.filter(assignment__customer_id=member.customer_id).exclude(last_error="").update(last_error="")
    # the member portal: reviews keep their rating without their text; no way in is left
    summary["reviews"] = Review.objects.filter(member=member).update(text=ERASED_TEXT)
    summary["portal sessions ended"] = PortalSession.objects.filter(member=member, signed_out_at=None).update(
        signed_out_at=now)
    SignInCode.objects.filter(member=member).delete()
    SignInFailure.objects.filter(member=member).delete()
    ReferralCode.objects.filter(member=member).delete()
    return summary


def _erase_files(customer_id: int) -> dict:
    from clientele.loyalty.lake_sync import export_profiling_refusals
    from clientele.lake.store import Lake
    from clientele.privacy.files import erase_from_files

    summary = erase_from_files(customer_id)
    lake = Lake()
    if lake.root.exists():
        summary["lake reference rows"] = _erase_lake_reference(lake, customer_id)
        export_profiling_refusals(lake)  # the next refresh leaves the member out
    return summary


#: The lake's per-customer reference tables (small, one file each): what the member told of their
#: household. Basket lines and results hold only the member number, a pseudonym after erasure.
LAKE_REFERENCE_TABLES = ("demographics",)


def _erase_lake_reference(lake, customer_id: int) -> int:
    import os
    import uuid

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    removed = 0
    for name in LAKE_REFERENCE_TABLES:
        for path in sorted(lake.table_dir(name).rglob("*.parquet")) if lake.table_dir(name).exists() else []:
            table = pq.read_table(path)
            mask = pc.fill_null(pc.equal(table["customer_id"], customer_id), False)
            hits = pc.sum(mask).as_py() or 0
            if hits:
                staged = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
                pq.write_table(table.filter(pc.invert(mask)), staged)
                os.replace(staged, path)  # readers see the old file or the new, never half
                removed += hits
    return removed


def erase_member(customer_id: int, *, reason: str, requested_by: str, approved_by: str) -> ErasureAnswer:
    """Request, approve and carry out in one go (the CLI, where both people are named)."""
    asked = request_erasure(customer_id, reason=reason, requested_by=requested_by)
    if asked.status == ErasureRequest.Status.PENDING:
        approve_erasure(asked.request_id, approved_by=approved_by)
    return carry_out(asked.request_id)
