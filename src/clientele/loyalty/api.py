"""The till API: HTTP in, one service call, HTTP out. Documented at /api/docs (/api/openapi.json).

Every domain error becomes a problem `{code, message, field}` with its 4xx status, here and only
here; malformed requests get `invalid_request` (422) naming the field, a missing or revoked key
`invalid_api_key` (401), a body that is not JSON 400, one sent as another type 415, one over the
size limit 413, and a call made while the database cannot be reached 503 with `Retry-After`: the
till queues it and sends it again, which every call is safe to do.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.responses import Status
from ninja.security import APIKeyHeader
from pydantic import BaseModel, StringConstraints

from clientele.api_inputs import Moment, NotTrueOrFalse, line
from clientele.api_inputs import Number as Stored
from clientele.api_problems import UNREADABLE_BODY, invalid_request
from clientele.errors import RequestRefused
from clientele.loyalty import rate_limit, services

# Printable text only: the database refuses NUL bytes and a till never needs control characters.
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]{1,64}$", max_length=64)]
Text = line(0, 100)
Barcode = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,13}$")]
Number = Annotated[int, Field(ge=1, lt=10**15), NotTrueOrFalse]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("99999.99"), max_digits=7, decimal_places=2)]
Quantity = Annotated[Decimal, Field(ge=Decimal("-1000"), le=Decimal("1000"), max_digits=7, decimal_places=3)]


class TillKey(APIKeyHeader):
    """The store-scoped key a till sends in the X-API-Key header."""

    param_name = "X-API-Key"

    def authenticate(self, request, key):
        rate_limit.check(key)
        return services.authenticate(key)


class NotJson(Exception):
    """A request body sent with a content type other than JSON's."""


def is_json(content_type: str | None) -> bool:
    """Whether a request's Content-Type (its media type, parameters aside) is JSON's."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class JsonOnly(Parser):
    """django-ninja's JSON parser, refusing a body sent as another type (text/plain, a form, none)."""

    def parse_body(self, request):
        if not is_json(request.META.get("CONTENT_TYPE")):
            raise NotJson()
        return super().parse_body(request)


api = NinjaAPI(title="Clientele till API", version="1", auth=TillKey(), urls_namespace="till-api", parser=JsonOnly(),
               description="Identify members, post baskets, return lines, redeem points, enrol members.")


class Problem(Schema):
    """A refusal: a stable machine-readable code, a sentence for the cashier, the field at fault."""

    code: str
    message: str
    field: str = ""


#: The statuses a till may receive besides success (see `loyalty.errors` for which code has which).
PROBLEMS = frozenset({400, 401, 403, 404, 409, 413, 415, 422, 429, 503})


def problem(error: RequestRefused) -> dict:
    """The body of a domain refusal (the programme's, or the offers' a checkout applies)."""
    return {"code": error.code, "message": error.message, "field": error.field}


#: A body sent as another type than JSON (415).
NOT_JSON = {"code": "unsupported_media_type", "message": "send the body as JSON (Content-Type: application/json)",
            "field": "Content-Type"}
INVALID_API_KEY = problem(services.KeyRefused())
#: The database cannot be reached (restarting, the connection lost): 503, and when to try again.
UNAVAILABLE = {"code": "service_unavailable", "message": "the database cannot be reached: send the call again",
               "field": ""}
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER = ("Retry-After", "5")


def too_large() -> dict:
    """The body of a request larger than the server accepts (413)."""
    return {"code": "request_too_large", "field": "body",
            "message": f"the body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes"}


@api.exception_handler(RequestRefused)
def loyalty_problem(request, error: RequestRefused):
    return api.create_response(request, problem(error), status=error.status)


@api.exception_handler(ValidationError)
def invalid_request_problem(request, error: ValidationError):
    return api.create_response(request, invalid_request(error.errors), status=422)


@api.exception_handler(HttpError)
def http_problem(request, error: HttpError):
    """Django Ninja's own refusals (an unreadable body: 400; one that is not JSON: 415) in the same
    problem shape."""
    if isinstance(error.__cause__, NotJson):
        return api.create_response(request, NOT_JSON, status=415)
    body = UNREADABLE_BODY if error.status_code == 400 else {"code": "invalid_request", "message": error.message,
                                                             "field": "body"}
    return api.create_response(request, body, status=error.status_code)


@api.exception_handler(RequestDataTooBig)
def too_large_problem(request, error: RequestDataTooBig):
    return api.create_response(request, too_large(), status=413)


def unavailable(request, error: Exception):
    response = api.create_response(request, UNAVAILABLE, status=503)
    response[RETRY_AFTER[0]] = RETRY_AFTER[1]
    return response


for _error in UNAVAILABLE_ERRORS:
    api.add_exception_handler(_error, unavailable)


@api.exception_handler(AuthenticationError)
def invalid_key(request, error):
    return api.create_response(request, INVALID_API_KEY, status=401)


class HotCallSchema(BaseModel):
    """The schemas of identify and the basket post: plain pydantic models, not django-ninja's
    `Schema`, whose wrapper for reading ORM objects costs more per basket than the validation
    itself (these answers are dicts); `api_hot_calls` validates with them on every call."""


class BalanceOut(HotCallSchema):
    available: int
    pending: int


class CreditOut(HotCallSchema):
    rule_id: int | None
    version: int | None = None  # of the rule, when it gave the points: old credits stay explainable
    rule: str
    points: int


class IdentifyOut(HotCallSchema):
    member_number: int
    greeting_name: str
    tier: str | None
    perks: list[str]
    balance: BalanceOut
    offers: list[dict]
    messages: list[dict] = []  # running campaigns' messages for a treated member: campaign, message, offers
    # the nightly till context (CLIENTELE_TILL_CONTEXT): the member's categories of most spend, and
    # one line for the cashier on the last purchase and what goes with it
    top_categories: list[str] = []
    context: str | None = None


class IdentifyQuery(HotCallSchema):
    card: Barcode | None = None
    phone: Text | None = None
    member_number: Number | None = None


@api.get("/members/identify", response={200: IdentifyOut, PROBLEMS: Problem}, summary="Identify a member")
def identify(request, query: Query[IdentifyQuery]):
    """Find the member by card barcode, phone number or member number (first given wins)."""
    return services.identify(card=query.card, phone=query.phone, member_number=query.member_number)


class LineIn(HotCallSchema):
    line_no: Annotated[int, Field(ge=1, le=9999), NotTrueOrFalse]
    product_id: Stored
    quantity: Quantity
    unit_price: Money
    discount: Money = Decimal("0")


class BasketIn(HotCallSchema):
    store_id: Stored
    till_id: Id
    receipt_number: Id
    #: no till's basket predates 2000: an older time is a till's clock at zero, refused (422) before it
    #: reaches the store's time zone (year 1 in Chicago is out of Python's range)
    transacted_at: Annotated[Moment, Field(gt=datetime(2000, 1, 1, tzinfo=timezone.utc))]
    card: Barcode | None = None
    member_number: Number | None = None
    channel: str = Field("store", pattern="^(store|online)$")
    lines: list[LineIn] = Field(max_length=200)
    list_number: Barcode | None = Field(None, description="A shopping list's barcode (prefix 28), scanned with or "
                                                          "instead of the card: its offers apply. A list's barcode "
                                                          "sent as `card` is read as this.")


class LineDiscountOut(HotCallSchema):
    line_no: int
    discount: Decimal
    offers: list[str]


class AppliedOfferOut(HotCallSchema):
    code: str
    discount: Decimal
    bonus_points: int
    funded_by_manufacturer: int | None
    from_list: bool
    lines: list[int]


class BasketOut(HotCallSchema):
    receipt: str
    total: Decimal
    points_earned: int
    explanation: list[CreditOut]
    bonuses: list[CreditOut]
    member_number: int | None
    balance: BalanceOut | None
    tier: str | None
    message: str
    replayed: bool
    #: the offers applied (none: these four keep their defaults); `total` is after the discounts
    lines: list[LineDiscountOut] = []
    offers: list[AppliedOfferOut] = []
    discount_total: Decimal = Decimal("0")
    list_number: str | None = None


@api.post("/baskets", response={200: BasketOut, PROBLEMS: Problem}, summary="Post a basket")
def post_basket(request, payload: BasketIn):
    """Record a checkout and credit its points; store + till + receipt number make it happen once."""
    return services.post_basket(basket_to_post(payload), request.auth)


def basket_to_post(payload: BasketIn) -> services.BasketIn:
    """The service's basket from the validated request."""
    return services.BasketIn(
        store_id=payload.store_id, till_id=payload.till_id, receipt_number=payload.receipt_number,
        transacted_at=payload.transacted_at, card=payload.card, member_number=payload.member_number,
        channel=payload.channel, list_number=payload.list_number,
        lines=[services.LineIn(line.line_no, line.product_id, line.quantity, line.unit_price, line.discount)
               for line in payload.lines])


class ReturnLineIn(Schema):
    line_no: Annotated[int, Field(ge=1, le=9999), NotTrueOrFalse]
    quantity: Quantity


class ReturnIn(Schema):
    store_id: Stored
    return_id: Id
    original_store_id: Stored
    original_till_id: Id
    original_receipt_number: Id
    lines: list[ReturnLineIn] = Field(max_length=200)


class ReturnOut(Schema):
    return_id: str
    receipt: str
    refund: Decimal
    refund_reduction: Decimal
    refund_due: Decimal
    points_reversed: int
    balance: BalanceOut | None
    replayed: bool


@api.post("/returns", response={200: ReturnOut, PROBLEMS: Problem}, summary="Return lines of a basket")
def return_lines(request, payload: ReturnIn):
    """Take back lines of an earlier basket (any store, any channel); points are reversed in proportion."""
    lines: dict[int, Decimal] = {}
    for line in payload.lines:
        lines[line.line_no] = lines.get(line.line_no, Decimal(0)) + line.quantity
    request_in = services.ReturnIn(**payload.dict(exclude={"lines"}), lines=lines)
    return services.return_lines(request_in, request.auth)


class RedemptionIn(Schema):
    store_id: Stored
    redemption_id: Id
    card: Barcode | None = None
    member_number: Number | None = None
    reward_code: Id | None = None
    amount: Money | None = None


class RedemptionOut(Schema):
    redemption_id: str
    points_spent: int
    money_value: Decimal
    amount_left_to_pay: Decimal | None
    reward: str | None
    balance: BalanceOut
    replayed: bool


@api.post("/redemptions", response={200: RedemptionOut, PROBLEMS: Problem}, summary="Redeem points")
def redeem(request, payload: RedemptionIn):
    """Spend points on a catalogue reward or as payment for part of an amount."""
    return services.redeem(services.RedemptionIn(**payload.dict()), request.auth)


class EnrolmentIn(Schema):
    store_id: Stored
    first_name: Text = ""
    last_name: Text = ""
    email: Annotated[str, StringConstraints(pattern=r"^([^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+)?$", max_length=100)] = ""
    phone: Annotated[str, StringConstraints(pattern=r"^(\+?[0-9]{4,15})?$", max_length=16)] = ""
    birth_date: date | None = Field(None, ge=date(1900, 1, 1), le=date(2100, 1, 1))
    card: Barcode | None = None
    email_consent: bool = False
    sms_consent: bool = False
    referrer_member_number: Number | None = None
    enrolment_id: Id | None = Field(None, description="The till's id of this enrolment: sent again, it answers "
                                                      "the first enrolment instead of enrolling twice.")


class EnrolmentOut(Schema):
    member_number: int
    card: str
    greeting_name: str
    replayed: bool


@api.post("/members", response={201: EnrolmentOut, PROBLEMS: Problem}, summary="Enrol a member")
def enrol(request, payload: EnrolmentIn):
    """Enrol a member at the till and issue a card (a pre-printed one scanned, or a new number)."""
    return Status(201, services.enrol_member(services.EnrolmentIn(**payload.dict()), request.auth))


class CardReplacementIn(Schema):
    new_card: Barcode | None = None


class CardReplacementOut(Schema):
    member_number: int
    old_card: str
    old_card_status: str
    card: str
    balance: BalanceOut
    replayed: bool


@api.post("/cards/{barcode}/replace", response={200: CardReplacementOut, PROBLEMS: Problem},
          summary="Replace a lost card")
def replace_card(request, barcode: Barcode, payload: CardReplacementIn):
    """Block the lost card and issue a new one; the balance and history stay with the member."""
    return services.replace_card(barcode, payload.new_card)
