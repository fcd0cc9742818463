"""The service desk API, for the back office, the web shop and the call centre: HTTP in, one
service call, HTTP out. Documented at /api/service/docs.

A back-office session is required, whose user holds the permission of the call (complaints:
`service.add_complaint`; surveys: `service.add_survey`; win-back: `service.change_winbackentry`);
answering a survey needs only the invitation's token. Every refusal is a problem
`{code, message, field, fields}` with its 4xx status, mapped here and only here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from ninja import Field, NinjaAPI, Router, Schema
from ninja.errors import ValidationError
from ninja.responses import Status
from ninja.security import SessionAuth

from clientele.api_inputs import Day, Number, line, prose
from clientele.api_problems import answer_refusals_as_problems
from clientele.service import errors, services
from clientele.service.models import Complaint

Text = prose(0, 5000)
UserName = line(0, 150)


class DeskSession(SessionAuth):
    """A logged-in back-office user holding `permission`."""

    def __init__(self, permission: str):
        super().__init__()
        self.permission = permission

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user and user.has_perm(self.permission) else None


AGENT, MARKETER, WIN_BACK = (DeskSession("service.add_complaint"), DeskSession("service.add_survey"),
                             DeskSession("service.change_winbackentry"))
api = NinjaAPI(title="Clientele service desk API", version="1", urls_namespace="service-api",
               description="Complaints and their compensation, satisfaction surveys, lost customers and win-back.")


class Problem(Schema):
    """A refusal: a stable code, a sentence, the field at fault and, for a form, every field's problem."""

    code: str
    message: str
    field: str = ""
    fields: dict[str, str] = {}


PROBLEMS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 410: Problem, 422: Problem}
# Django Ninja's refusals as problems; a request not matching the schema gets every field's problem, below.
answer_refusals_as_problems(api, "sign in to the back office as a user whose role includes this call")


@api.exception_handler(errors.ServiceError)
def service_problem(request, error: errors.ServiceError):
    return api.create_response(request, {"code": error.code, "message": error.message, "field": error.field,
                                         "fields": error.fields}, status=error.status)


@api.exception_handler(ValidationError)
def invalid_request(request, error: ValidationError):
    fields = {}
    for problem in error.errors:
        name = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body", "query", "path", "payload"))
        fields.setdefault(name or "request", problem.get("msg", "invalid"))
    field = next(iter(fields), "request")
    return api.create_response(request, {"code": "invalid_request", "message": f"{field}: {fields[field]}",
                                         "field": field, "fields": fields}, status=422)


class ComplaintIn(Schema):
    """A complaint with the eight questions of seed 002 (new or returning is derived, not asked)."""

    member_number: Number
    channel: Literal["store", "phone", "web", "email", "letter"]
    cause: line(0, 40) = Field(description="A cause code of the taxonomy: price, product_quality, service, staff, ...")
    severity: Literal["low", "medium", "high", "critical"]
    what_happened: Text
    how_it_happened: Text
    why_unhappy: Text = Field(description="Which product (product_id) and why the customer is unhappy.")
    served_by: line(0, 200)
    other_cause: Text = ""
    claim_reasonable: bool | None = Field(description="The agent's judgement: is the customer's claim reasonable?")
    wanted_resolution: Text
    store_id: Number | None = None
    product_id: Number | None = None
    queue: line(0, 50) = "service desk"


class ComplaintOut(Schema):
    id: int
    member_number: int
    status: str
    cause: str
    severity: str
    channel: str
    returning_customer: bool
    assigned_to: str | None
    queue: str
    received_at: datetime
    first_answer_due: datetime
    resolution_due: datetime
    first_answered_at: datetime | None
    resolved_at: datetime | None
    follow_up_on: date | None
    resolution_satisfaction: int | None
    late: bool


class ComplaintList(Schema):
    data: list[ComplaintOut]
    count: int


class StatusIn(Schema):
    status: Literal["new", "acknowledged", "in_progress", "resolved", "closed", "reopened"]
    note: Text = ""


class AssignIn(Schema):
    agent: UserName | None = Field(None, description="The agent's user name; empty: to the queue only.")
    queue: line(0, 50) | None = None


class GoodwillIn(Schema):
    points: Annotated[int, Field(ge=1, le=10**6)]
    note: Text = ""
    requested_by: UserName | None = Field(None, description="A supervisor granting an agent's request above "
                                                            "the agent's limit: the agent's user name.")


class CompensationOut(Schema):
    id: int
    kind: str
    points: int | None
    amount: Decimal | None
    percent: Decimal | None = None
    offer_code: str | None = Field(None, description="A voucher's offer, applied at the till to this member once.")
    valid_until: datetime | None = None
    given_by: str
    approved_by: str
    replayed: bool = False


class VoucherIn(Schema):
    amount: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)] | None = Field(
        None, description="Amount off the basket; or give `percent`.")
    percent: Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)] | None = Field(
        None, description="Percent off the basket; or give `amount`.")
    valid_days: Annotated[int, Field(ge=1, le=365)] = 30
    note: Text = ""
    requested_by: UserName | None = Field(None, description="A supervisor granting an agent's request above "
                                                            "the agent's limit: the agent's user name.")


class CompensationIn(Schema):
    kind: Literal["refund_note"]
    amount: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    note: Text = ""


class ScoreIn(Schema):
    score: Number


def _out(complaint: Complaint) -> dict:
    from clientele.service.complaints import is_late, now_utc

    return {**{name: getattr(complaint, name) for name in ComplaintOut.model_fields if hasattr(complaint, name)},
            "member_number": complaint.member.customer_id, "cause": complaint.cause.code,
            "assigned_to": complaint.assigned_to.get_username() if complaint.assigned_to else None,
            "late": is_late(complaint, now_utc())}


def _complaint(complaint_id: int) -> Complaint:
    complaint = Complaint.objects.select_related("member", "cause", "assigned_to").filter(pk=complaint_id).first()
    if complaint is None:
        raise errors.UnknownComplaint(f"no complaint {complaint_id}")
    return complaint


def _user(username: str, field: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise errors.ServiceError(f"no user {username!r}", field=field)
    return user


complaints = Router(auth=AGENT, tags=["complaints"])


@complaints.post("/complaints", response={201: ComplaintOut, **PROBLEMS}, summary="Record a complaint")
def record_complaint(request, payload: ComplaintIn):
    complaint = services.record_complaint(services.ComplaintIn(**payload.dict()), actor=request.auth.get_username())
    return Status(201, _out(_complaint(complaint.pk)))


@complaints.get("/complaints", response={200: ComplaintList, **PROBLEMS}, summary="The open complaints, late first")
def complaint_queue(request, queue: line(0, 50) | None = None, mine: bool = False):
    rows = services.queue(agent=request.auth if mine else None, queue_name=queue)
    return {"data": [_out(c) for c in rows], "count": len(rows)}


@complaints.get("/complaints/{complaint_id}", response={200: ComplaintOut, **PROBLEMS}, summary="One complaint")
def get_complaint(request, complaint_id: Number):
    return _out(_complaint(complaint_id))


@complaints.post("/complaints/{complaint_id}/status", response={200: ComplaintOut, **PROBLEMS},
                 summary="Move a complaint in the workflow")
def change_status(request, complaint_id: Number, payload: StatusIn):
    services.change_status(complaint_id, payload.status, request.auth.get_username(), payload.note)
    return _out(_complaint(complaint_id))


@complaints.post("/complaints/{complaint_id}/assign", response={200: ComplaintOut, **PROBLEMS},
                 summary="Assign a complaint to an agent or a queue")
def assign(request, complaint_id: Number, payload: AssignIn):
    agent = _user(payload.agent, "agent") if payload.agent else None
    services.assign(complaint_id, request.auth.get_username(), agent=agent, queue=payload.queue)
    return _out(_complaint(complaint_id))


@complaints.post("/complaints/{complaint_id}/goodwill", response={200: CompensationOut, **PROBLEMS},
                 summary="Credit goodwill points (once per complaint, within the role's limit)")
def give_goodwill(request, complaint_id: Number, payload: GoodwillIn):
    giver, approver = request.auth, None
    if payload.requested_by:
        giver, approver = _user(payload.requested_by, "requested_by"), request.auth
    given, replayed = services.give_goodwill(complaint_id, payload.points, giver, approver, payload.note)
    return _compensation_out(given, replayed)


@complaints.post("/complaints/{complaint_id}/voucher", response={200: CompensationOut, **PROBLEMS},
                 summary="Give a voucher: an offer for the member alone, used once (once per complaint, "
                         "within the role's limit)")
def give_voucher(request, complaint_id: Number, payload: VoucherIn):
    giver, approver = request.auth, None
    if payload.requested_by:
        giver, approver = _user(payload.requested_by, "requested_by"), request.auth
    given, replayed = services.give_voucher(complaint_id, giver, amount=payload.amount, percent=payload.percent,
                                            valid_days=payload.valid_days, approver=approver, note=payload.note)
    return _compensation_out(given, replayed)


@complaints.post("/complaints/{complaint_id}/compensations", response={201: CompensationOut, **PROBLEMS},
                 summary="Record a refund note")
def compensate(request, complaint_id: Number, payload: CompensationIn):
    given = services.compensate(complaint_id, payload.kind, request.auth, payload.amount, payload.note)
    return Status(201, _compensation_out(given, False))


def _compensation_out(given, replayed: bool) -> dict:
    offer = given.offer if given.offer_id else None
    return {**{n: getattr(given, n) for n in ("id", "kind", "points", "amount", "percent", "given_by", "approved_by")},
            "offer_code": offer.code if offer else None, "valid_until": offer.valid_until if offer else None,
            "replayed": replayed}


@complaints.post("/complaints/{complaint_id}/satisfaction", response={200: ComplaintOut, **PROBLEMS},
                 summary="The customer's satisfaction (1-5) with the resolution")
def resolution_satisfaction(request, complaint_id: Number, payload: ScoreIn):
    services.record_resolution_satisfaction(complaint_id, payload.score, request.auth.get_username())
    return _out(_complaint(complaint_id))


@complaints.get("/members/{member_number}/complaints", response={200: list[dict], **PROBLEMS},
                summary="A member's complaints, for the customer 360")
def member_complaints(request, member_number: Number):
    return services.member_complaints(services.member_by_number(member_number))


@complaints.get("/report", response={200: dict, **PROBLEMS}, summary="Complaint analysis of a period")
def complaint_report(request, start: Day, end: Day):
    return services.complaint_report(start, end)


api.add_router("", complaints)
