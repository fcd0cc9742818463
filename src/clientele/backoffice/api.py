"""The back-office API for integrations (a CRM's data team, a mailing tool, a BI tool): member
lookup and 360 data, and the dashboard's figures, with the same roles and masking as the pages.

Each person's token (`clientele backoffice issue-token USER`), not a till's store key, sent as
`Authorization: Bearer TOKEN`; the token acts with its user's role. Documented at
/api/backoffice/docs."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from clientele.api_inputs import Day, Number, line
from clientele.api_problems import Problem
from clientele.api_problems import invalid_request as invalid_request_body
from clientele.backoffice import selectors, services
from clientele.backoffice.customer import CustomerPage
from clientele.backoffice.dashboard import Period, dashboard
from clientele.backoffice.masking import identity
from clientele.loyalty.ledger import balance
from clientele.loyalty.models import LoyaltyAccount
from clientele.members.models import CustomerProfile

CUSTOMER_360 = "backoffice.view_customer_360"
DASHBOARD = "backoffice.view_dashboard"
PROFILE_FIELDS = ["refreshed_on", "rfm_segment", "recency_days", "frequency", "monetary", "pyramid_level", "value_class",
                  "value_tier", "lifecycle_stage", "deal_proneness", "expected_purchases", "probability_alive",
                  "churn_risk", "at_risk", "predicted_clv", "clv_lower", "clv_upper", "expected_next_visit"]


class UserToken(HttpBearer):
    def authenticate(self, request, token: str):
        user = services.user_for_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(title="Clientele back-office API", version="1", auth=UserToken(), urls_namespace="backoffice-api",
               description="Member lookup and 360 data, programme dashboard figures; roles and masking as in the "
                           "back office. Authorization: Bearer <token from `clientele backoffice issue-token`>.")


#: The refusals every call may answer besides its own.
PROBLEMS = {401: Problem, 403: Problem, 422: Problem}


@api.exception_handler(PermissionDenied)
def forbidden(request, error):
    return api.create_response(request, {"code": "forbidden", "message": str(error) or "not allowed for your role"},
                               status=403)


@api.exception_handler(Http404)
def not_found(request, error):
    return api.create_response(request, {"code": "not_found", "message": str(error)}, status=404)


@api.exception_handler(selectors.MalformedSearch)
def malformed(request, error):
    return api.create_response(request, {"code": "malformed_search", "message": str(error)}, status=400)


@api.exception_handler(HttpError)
def invalid_request(request, error: HttpError):
    return api.create_response(request, {"code": "invalid_request", "message": error.message},
                               status=error.status_code)


@api.exception_handler(ValidationError)
def invalid_parameter(request, error: ValidationError):
    """A parameter that does not match its type (text with a control character, a number too large)."""
    return api.create_response(request, invalid_request_body(error.errors), status=422)


@api.exception_handler(AuthenticationError)
def no_token(request, error):
    return api.create_response(request, {"code": "invalid_token", "message": "send a valid token: Authorization: "
                                         "Bearer <token from `clientele backoffice issue-token`>"}, status=401)


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied("your role does not include this call")


class MemberFound(Schema):
    member_number: int
    name: str
    home_store: int | None
    status: str


class MembersFound(Schema):
    data: list[MemberFound]
    count: int


@api.get("/members", response={200: MembersFound, 400: Problem, **PROBLEMS}, summary="Find members")
def find_members(request, q: line(0, 1000)):
    """Members by card barcode, member number, phone, e-mail or name (at most 20); names masked for
    roles without personal data."""
    _require(request, CUSTOMER_360)
    found = [CustomerPage(member, request.user) for member in selectors.find_members(request.user, q)]
    data = [{"member_number": p.member.customer_id, "name": p.title, "home_store": p.member.home_store_id,
             "status": p.member.status} for p in found]
    return {"data": data, "count": len(data)}


@api.get("/members/{member_number}", response={200: dict, 404: Problem, **PROBLEMS}, summary="A member's 360 data")
def member_360(request, member_number: Number):
    """Identity (masked by role) and consent, cards, points, the refresh's profile and the member's
    lake results (brand cells, traits, next purchases, lifecycle months, baskets). A view with
    personal data is written to the audit log."""
    _require(request, CUSTOMER_360)
    page = CustomerPage(selectors.member_for(request.user, member_number), request.user).read_results_ahead()
    if page.unmasked:
        services.record_personal_data_view(request.user, member_number, "api: member 360")
    member = page.member
    account = LoyaltyAccount.objects.select_related("tier").filter(member=member).first()
    profile = CustomerProfile.objects.filter(member=member).values(*PROFILE_FIELDS).first()
    return {
        "member_number": member.customer_id, "status": member.status, "join_date": member.join_date,
        "home_store": member.home_store_id, "identity": identity(member, page.unmasked),
        "consent": {"email": member.email_consent, "sms": member.sms_consent, "post": member.post_consent,
                    "profiling": member.profiling_consent},
        "cards": list(member.cards.values("barcode", "status", "issued_at")),
        "points": balance(account.pk).as_dict() if account else None,
        "tier": account.tier.name if account and account.tier else None,
        "profile": profile, "refresh": page.refresh, "results": page.results,
    }


@api.get("/dashboard", response={200: dict, 400: Problem, **PROBLEMS}, summary="Programme dashboard figures")
def dashboard_figures(request, start: Day | None = Query(None, alias="from"), end: Day | None = Query(None, alias="to")):
    """The dashboard's figures and tables for a period (default: the 28 days to the last refreshed day)."""
    _require(request, DASHBOARD)
    default = Period.default()
    period = Period(start or default.start, end or default.end)
    if period.end < period.start:
        raise HttpError(400, f"the period ends ({period.end}) before it starts ({period.start})")
    figures = dashboard(period, date.today())
    return figures | {"period": {"from": period.start, "to": period.end}}
