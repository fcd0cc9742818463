"""Complaints: recorded with the eight answers of seed 002, moved through the workflow with every
change kept, answered against the service levels, compensated with goodwill points through the
ledger or a refund note (a voucher: `vouchers`). One database transaction per business event."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, F, When

from clientele.catalog.models import Product, Store
from clientele.loyalty import ledger
from clientele.loyalty.models import Basket, PointsEntry, Programme
from clientele.loyalty.rules import explain
from clientele.members.models import CustomerProfile, Member
from clientele.offers.models import MemberOfferUse
from clientele.service import errors
from clientele.service.models import (
    Complaint, ComplaintCause, ComplaintEvent, Compensation, DeskSettings, GoodwillLimit, ServiceLevel, Severity)

Status = Complaint.Status
#: status -> the statuses a complaint may move to from it
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.ACKNOWLEDGED, Status.IN_PROGRESS},
    Status.ACKNOWLEDGED: {Status.IN_PROGRESS, Status.RESOLVED},
    Status.IN_PROGRESS: {Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED, Status.REOPENED},
    Status.CLOSED: {Status.REOPENED},
    Status.REOPENED: {Status.IN_PROGRESS, Status.RESOLVED},
}
OPEN_STATUSES = [Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.REOPENED]
REQUIRED_ANSWERS = ("what_happened", "how_it_happened", "why_unhappy", "served_by", "wanted_resolution")


@dataclass(frozen=True)
class ComplaintIn:
    """A complaint as an agent, the web shop or the call centre records it. `returning_customer`
    is not asked: it is derived from the member's history."""

    member_number: int
    channel: str
    cause: str
    severity: str
    what_happened: str
    how_it_happened: str
    why_unhappy: str
    served_by: str
    wanted_resolution: str
    claim_reasonable: bool | None
    other_cause: str = ""
    store_id: int | None = None
    product_id: int | None = None
    queue: str = "service desk"


def now_utc() -> datetime:
    return ledger.now_utc()


def _form_errors(request: ComplaintIn) -> dict[str, str]:
    problems = {name: "this answer is required" for name in REQUIRED_ANSWERS if not getattr(request, name).strip()}
    if request.claim_reasonable is None:
        problems["claim_reasonable"] = "say whether the customer's claim is reasonable"
    if request.channel not in Complaint.Channel.values:
        problems["channel"] = f"unknown channel {request.channel!r}: one of {', '.join(Complaint.Channel.values)}"
    if request.severity not in Severity.values:
        problems["severity"] = f"unknown severity {request.severity!r}: one of {', '.join(Severity.values)}"
    return problems


def record_complaint(request: ComplaintIn, actor: str, received_at: datetime | None = None) -> Complaint:
    """Record a complaint (status new) with its deadlines from the service levels of its severity.
    Refuses, naming every field at fault, a complaint missing a required answer or naming an unknown
    member, store, product, cause, channel or severity. Returns the stored complaint."""
    problems = _form_errors(request)
    member = Member.objects.filter(customer_id=request.member_number).first()
    if member is None:
        problems["member_number"] = f"no member number {request.member_number}"
    cause = ComplaintCause.objects.filter(code=request.cause, active=True).first()
    if cause is None:
        known = ", ".join(ComplaintCause.objects.filter(active=True).values_list("code", flat=True))
        problems["cause"] = f"unknown cause {request.cause!r}: one of {known}"
    if request.store_id is not None and not Store.objects.filter(pk=request.store_id).exists():
        problems["store_id"] = f"no store {request.store_id}"
    if request.product_id is not None and not Product.objects.filter(pk=request.product_id).exists():
        problems["product_id"] = f"no product {request.product_id} in the catalogue"
    if problems:
        field = next(iter(problems))
        raise errors.InvalidComplaint(f"{field}: {problems[field]}", field=field, fields=problems)
    received_at = received_at or now_utc()
    level = ServiceLevel.objects.filter(severity=request.severity).first()
    if level is None:
        raise errors.InvalidComplaint(f"no service level for severity {request.severity}: set one in the admin",
                                      field="severity")
    answers = {f.name: getattr(request, f.name) for f in fields(ComplaintIn)
               if f.name not in ("member_number", "cause", "store_id", "product_id")}
    with transaction.atomic():
        complaint = Complaint.objects.create(
            member=member, cause=cause, store_id=request.store_id, product_id=request.product_id, **answers,
            returning_customer=is_returning_customer(member, received_at), received_at=received_at,
            first_answer_due=received_at + timedelta(hours=level.first_answer_hours),
            resolution_due=received_at + timedelta(hours=level.resolution_hours), recorded_by=actor)
        ComplaintEvent.objects.create(complaint=complaint, at=received_at, actor=actor, to_status=Status.NEW,
                                      note=f"recorded ({request.channel})")
    return complaint


def is_returning_customer(member: Member, before: datetime) -> bool:
    """Whether the member had bought before `before`: a till basket, a purchase in the nightly
    profile's history, or an earlier complaint."""
    return (Basket.objects.filter(member=member, transacted_at__lt=before).exists()
            or CustomerProfile.objects.filter(member=member, frequency__gt=0).exists()
            or Complaint.objects.filter(member=member, received_at__lt=before).exists())


def _locked(complaint_id: int) -> Complaint:
    complaint = Complaint.objects.select_for_update().filter(pk=complaint_id).first()
    if complaint is None:
        raise errors.UnknownComplaint(f"no complaint {complaint_id}")
    return complaint


def change_status(complaint_id: int, to_status: str, actor: str, note: str = "",
                  at: datetime | None = None) -> Complaint:
    """Move a complaint to `to_status` if the workflow allows it (TRANSITIONS), keeping the change.
    The first move out of 'new' is the first answer; 'resolved' sets the follow-up call's date.
    Returns the complaint as it now is."""
    at = at or now_utc()
    with transaction.atomic():
        complaint = _locked(complaint_id)
        allowed = TRANSITIONS.get(complaint.status, set())
        if to_status not in allowed:
            raise errors.TransitionRefused(
                f"a complaint {complaint.status} cannot become {to_status}: it may become "
                f"{', '.join(sorted(allowed)) or 'nothing'}")
        if complaint.first_answered_at is None:
            complaint.first_answered_at = at
        if to_status == Status.RESOLVED:
            complaint.resolved_at = at
            complaint.follow_up_on = (at + timedelta(days=DeskSettings.current().follow_up_days)).date()
        elif to_status == Status.REOPENED:
            complaint.resolved_at = None
            complaint.follow_up_on = None
        ComplaintEvent.objects.create(complaint=complaint, at=at, actor=actor, from_status=complaint.status,
                                      to_status=to_status, note=note)
        complaint.status = to_status
        complaint.save()
    return complaint


def assign(complaint_id: int, actor: str, agent=None, queue: str | None = None) -> Complaint:
    """Give a complaint to an agent (a user) or a queue; kept among its changes. Returns it."""
    with transaction.atomic():
        complaint = _locked(complaint_id)
        complaint.assigned_to = agent
        complaint.queue = queue if queue is not None else complaint.queue
        ComplaintEvent.objects.create(complaint=complaint, at=now_utc(), actor=actor, from_status=complaint.status,
                                      to_status=complaint.status,
                                      note=f"assigned to {agent.get_username() if agent else complaint.queue}")
        complaint.save()
    return complaint


def record_resolution_satisfaction(complaint_id: int, score: int, actor: str) -> Complaint:
    """The customer's satisfaction (1-5) with how a resolved complaint was resolved. Returns it."""
    if not 1 <= score <= 5:
        raise errors.InvalidScore(f"a satisfaction score is 1 to 5, not {score}", field="score")
    with transaction.atomic():
        complaint = _locked(complaint_id)
        if complaint.status not in (Status.RESOLVED, Status.CLOSED):
            raise errors.TransitionRefused(f"complaint {complaint_id} is {complaint.status}, not resolved yet")
        complaint.resolution_satisfaction = score
        complaint.save(update_fields=["resolution_satisfaction"])
        ComplaintEvent.objects.create(complaint=complaint, at=now_utc(), actor=actor, from_status=complaint.status,
                                      to_status=complaint.status, note=f"customer's satisfaction {score}/5")
    return complaint


def queue(now: datetime | None = None, agent=None, queue_name: str | None = None) -> list[Complaint]:
    """The open complaints, late ones first (first answer or resolution past due), then by the
    next deadline; optionally one agent's or one queue's."""
    now = now or now_utc()
    open_ = Complaint.objects.filter(status__in=OPEN_STATUSES).select_related("member", "cause", "assigned_to")
    if agent is not None:
        open_ = open_.filter(assigned_to=agent)
    if queue_name is not None:
        open_ = open_.filter(queue=queue_name)
    next_due = Case(When(first_answered_at__isnull=True, then=F("first_answer_due")), default=F("resolution_due"))
    return list(open_.annotate(next_due=next_due).annotate(
        late=Case(When(next_due__lt=now, then=True), default=False)).order_by("-late", "next_due", "pk"))


def follow_ups(today) -> list[Complaint]:
    """Resolved complaints whose follow-up call is due on or before `today`."""
    return list(Complaint.objects.filter(status=Status.RESOLVED, follow_up_on__lte=today)
                .select_related("member").order_by("follow_up_on", "pk"))


def goodwill_limit(user) -> int:
    """The most points `user` may give without approval: the highest limit of their roles (0 when
    none of their groups has a limit)."""
    limits = GoodwillLimit.objects.filter(role__in=user.groups.values_list("name", flat=True))
    return max(limits.values_list("max_points", flat=True), default=0)


def goodwill_key(complaint_id: int) -> str:
    """The ledger idempotency key of a complaint's goodwill points: one entry per complaint."""
    return f"goodwill:complaint:{complaint_id}"


def give_goodwill(complaint_id: int, points: int, giver, approver=None, note: str = "") -> tuple[Compensation, bool]:
    """Credit goodwill points for a complaint through the ledger, once: one entry, the complaint as
    its source. Above the giver's role limit a supervisor (`approver`, another user whose limit
    covers the points) must approve. The same grant sent again answers the first (replayed True);
    a different amount after a grant is refused. Returns the compensation and whether it was a replay."""
    if points < 1:
        raise errors.InvalidComplaint(f"goodwill is at least 1 point, not {points}", field="points")
    if points > goodwill_limit(giver):
        if approver is None or approver.pk == giver.pk:
            raise errors.GoodwillAboveLimit(
                f"{points} points is above {giver.get_username()}'s limit of {goodwill_limit(giver)}: "
                "a supervisor must approve")
        if points > goodwill_limit(approver):
            raise errors.GoodwillAboveLimit(
                f"{points} points is above the approver {approver.get_username()}'s limit of "
                f"{goodwill_limit(approver)}", field="approved_by")
    key = goodwill_key(complaint_id)
    try:
        with transaction.atomic():
            complaint = _locked(complaint_id)
            given = Compensation.objects.filter(complaint=complaint, kind=Compensation.Kind.POINTS).first()
            if given is not None:
                return _replay(given, points)
            today = now_utc().date()
            # a credit needs no account lock (only a debit can overdraw); the complaint's lock
            # serialises the grants of this complaint
            ledger.credit(ledger.account_for_member(complaint.member), PointsEntry.Kind.BONUS_AWARDED, points,
                          key=key, source=f"goodwill for complaint {complaint_id}", actor=giver.get_username(),
                          expires_on=ledger.add_months(today, Programme.current().expiry_months),
                          explanation=[explain(None, f"goodwill for complaint {complaint_id}", points)])
            return Compensation.objects.create(
                complaint=complaint, kind=Compensation.Kind.POINTS, points=points, note=note,
                given_by=giver.get_username(), approved_by=approver.get_username() if approver else "",
                ledger_key=key, given_at=now_utc()), False
    except IntegrityError:  # a concurrent grant of the same complaint committed first
        return _replay(Compensation.objects.get(complaint_id=complaint_id, kind=Compensation.Kind.POINTS), points)


def _replay(given: Compensation, points: int) -> tuple[Compensation, bool]:
    if given.points != points:
        raise errors.GoodwillAlreadyGiven(
            f"complaint {given.complaint_id} was already compensated with {given.points} goodwill points")
    return given, True


def compensate(complaint_id: int, kind: str, giver, amount: Decimal | None = None, note: str = "") -> Compensation:
    """Record a refund note given for a complaint (goodwill points go through `give_goodwill`, a
    voucher through `vouchers.give_voucher`). Returns the compensation."""
    if kind != Compensation.Kind.REFUND_NOTE:
        raise errors.InvalidComplaint(f"recorded here is a refund note, not {kind!r}: goodwill points and "
                                      "vouchers have their own request", field="kind")
    if amount is None or amount <= 0:
        raise errors.InvalidComplaint("a refund note has an amount above zero", field="amount")
    with transaction.atomic():
        complaint = _locked(complaint_id)
        return Compensation.objects.create(complaint=complaint, kind=kind, amount=amount, note=note,
                                           given_by=giver.get_username(), given_at=now_utc())


def member_complaints(member: Member) -> list[dict]:
    """The member's complaints for the customer 360, newest first: status, cause, deadlines and
    what was given for each."""
    rows = []
    for complaint in (Complaint.objects.filter(member=member).select_related("cause")
                      .prefetch_related("compensations__offer").order_by("-received_at")):
        rows.append({"id": complaint.pk, "received_at": complaint.received_at, "status": complaint.status,
                     "cause": complaint.cause.name, "severity": complaint.severity,
                     "late": is_late(complaint, now_utc()),
                     "compensations": [{"kind": c.kind, "points": c.points, "amount": c.amount, "percent": c.percent,
                                        "note": c.note, "voucher": voucher_state(c)}
                                       for c in complaint.compensations.all()]})
    return rows


def voucher_state(compensation: Compensation) -> dict | None:
    """What the customer 360 shows of a voucher: its offer's code, last valid moment and whether the
    member used it; None for other compensation."""
    if compensation.offer_id is None:
        return None
    offer = compensation.offer
    used = MemberOfferUse.objects.filter(offer_id=offer.pk, member_id=compensation.complaint.member_id,
                                         uses__gt=0).exists()
    return {"code": offer.code, "valid_until": offer.valid_until, "used": used}


def is_late(complaint: Complaint, now: datetime) -> bool:
    """Whether an open complaint has missed its first-answer or resolution deadline."""
    if complaint.status not in OPEN_STATUSES:
        return False
    due = complaint.first_answer_due if complaint.first_answered_at is None else complaint.resolution_due
    return due < now
