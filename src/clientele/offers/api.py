"""The marketers' offers API: HTTP in, one service call, HTTP out. Documented at /api/offers/docs.

A back-office session whose user may change offers (`offers.change_offer`) is required. Every
refusal is a problem `{code, message, field}` with its 4xx status, mapped here and only here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.db import IntegrityError, transaction
from ninja import Field, NinjaAPI, Schema
from ninja.responses import Status
from ninja.security import SessionAuth

from clientele.api_inputs import Code, Count, Moment, Number, line
from clientele.api_problems import SESSION_PROBLEMS, Problem, answer_refusals_as_problems
from clientele.offers import services, statements
from clientele.offers.errors import DuplicateManufacturer, DuplicateOffer, OfferError, UnknownManufacturer, UnknownOffer
from clientele.offers.models import ManufacturerAccount, Offer

Money = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]


class MarketerSession(SessionAuth):
    """A logged-in back-office user allowed to change offers."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user and user.has_perm("offers.change_offer") else None


api = NinjaAPI(title="Clientele offers API", version="1", auth=MarketerSession(), urls_namespace="offers-api",
               description="Offers funded by the retailer or a manufacturer, their versions, and statements.")


answer_refusals_as_problems(api, "sign in to the back office as a user who may change offers")


@api.exception_handler(OfferError)
def offer_problem(request, error: OfferError):
    return api.create_response(request, {"code": error.code, "message": error.message, "field": error.field},
                               status=error.status)


class OfferIn(Schema):
    """An offer as a marketer writes it (see docs/offers.md for each rule)."""

    code: Code
    name: line(1, 200)
    active: bool = True
    target: Literal["products", "brand", "category", "department", "basket"]
    product_ids: list[Number] = []
    department: line(0, 100) = ""
    category: line(0, 100) = ""
    manufacturer_id: Number | None = Field(None, description="Brand offers: the brand's manufacturer number.")
    brand_type: Literal["", "National", "Private"] = ""
    min_spend: Money | None = None
    benefit: Literal["amount_off", "percent_off", "fixed_price", "buy_x_get_y", "bonus_points", "points_multiplier"]
    amount: Money | None = None
    percent: Annotated[Decimal, Field(max_digits=5, decimal_places=2)] | None = None
    buy_quantity: Annotated[int, Field(ge=1, le=1000)] | None = None
    get_quantity: Annotated[int, Field(ge=1, le=1000)] | None = None
    bonus_points: Annotated[int, Field(ge=1, le=10**6)] | None = None
    multiplier: Annotated[Decimal, Field(max_digits=5, decimal_places=2)] | None = None
    funder: Number | None = Field(None, description="The funding manufacturer's number; empty: the retailer.")
    valid_from: Moment
    valid_until: Moment
    budget_money: Money | None = None
    budget_count: Count | None = None
    per_member_limit: Count | None = None
    eligibility: Literal["everyone", "segment", "members", "personal"] = "everyone"
    segment: line(0, 200) = ""
    audience: list[Number] = Field([], description="Members' customer numbers (eligibility 'members').")
    stackable: bool = False
    precedence: Annotated[int, Field(ge=0, le=32767)] = 100
    requires_activation: bool = Field(False, description="Applies only to members who activated it in the portal.")


class OfferOut(OfferIn):
    """A stored offer: its version and what its budget has given."""

    version: int
    given_money: Decimal
    given_count: int


class OfferList(Schema):
    data: list[OfferOut]
    count: int


class OfferVersion(Schema):
    version: int
    changed_at: datetime
    changed_by: str
    name: str
    active: bool
    budget_money: Decimal | None
    budget_count: int | None


class ManufacturerIn(Schema):
    name: line(1, 200)
    manufacturer_id: Annotated[Number, Field(ge=1)]
    contact_email: line(0, 254) = ""


class ManufacturerOut(ManufacturerIn):
    id: int


class StatementOut(Schema):
    """A manufacturer's statement: one line per offer, totals to the cent."""

    manufacturer: str
    start: datetime
    end: datetime
    lines: list[dict]
    redemptions: int
    discount: Decimal
    bonus_points: int


PROBLEMS = {**SESSION_PROBLEMS, 404: Problem, 409: Problem}


def _out(offer: Offer) -> dict:
    values = {name: getattr(offer, name) for name in OfferOut.model_fields if hasattr(offer, name)}
    values["funder"] = offer.funder.manufacturer_id if offer.funder else None
    values["product_ids"] = sorted(offer.products.values_list("product_id", flat=True))
    values["audience"] = sorted(offer.audience.values_list("customer_id", flat=True))
    spend = getattr(offer, "spend", None)
    values["given_money"] = spend.given_money if spend else Decimal("0")
    values["given_count"] = spend.given_count if spend else 0
    return values


def _funder(number: int | None) -> ManufacturerAccount | None:
    if number is None:
        return None
    account = ManufacturerAccount.objects.filter(manufacturer_id=number).first()
    if account is None:
        raise UnknownManufacturer(f"no manufacturer account {number}", field="funder")
    return account


def _offer(code: str) -> Offer:
    offer = Offer.objects.select_related("spend", "funder").filter(code=code).first()
    if offer is None:
        raise UnknownOffer(f"no offer {code!r}")
    return offer


def _apply(request, offer: Offer, payload: OfferIn) -> Offer:
    values = payload.dict(exclude={"product_ids", "audience", "funder"})
    for name, value in values.items():
        setattr(offer, name, value)
    offer.funder = _funder(payload.funder)
    return services.save_offer(offer, product_ids=payload.product_ids, audience=payload.audience,
                               changed_by=request.auth)


@api.get("/offers", response={200: OfferList, **PROBLEMS}, summary="Every offer, by precedence")
def list_offers(request):
    offers = list(Offer.objects.select_related("spend", "funder"))
    return {"data": [_out(offer) for offer in offers], "count": len(offers)}


@api.post("/offers", response={201: OfferOut, **PROBLEMS}, summary="Create an offer")
def create_offer(request, payload: OfferIn):
    duplicate = DuplicateOffer(f"an offer {payload.code!r} exists: change it with PUT")
    if Offer.objects.filter(code=payload.code).exists():
        raise duplicate
    try:
        with transaction.atomic():
            offer = _apply(request, Offer(), payload)
    except IntegrityError:  # created at the same moment at another desk: the unique code's last word
        if Offer.objects.filter(code=payload.code).exists():
            raise duplicate from None
        raise
    return Status(201, _out(offer))


@api.get("/offers/{code}", response={200: OfferOut, **PROBLEMS}, summary="One offer")
def get_offer(request, code: Code):
    return _out(_offer(code))


@api.put("/offers/{code}", response={200: OfferOut, **PROBLEMS}, summary="Change an offer (a new version)")
def change_offer(request, code: Code, payload: OfferIn):
    if payload.code != code:
        raise OfferError("an offer's code does not change", field="code", code="code_changed")
    return _out(_apply(request, _offer(code), payload))


@api.get("/offers/{code}/versions", response={200: list[OfferVersion], **PROBLEMS}, summary="Every version")
def offer_versions(request, code: Code):
    versions = _offer(code).history.order_by("-history_date", "-history_id").select_related("history_user")
    return [{"version": v.version, "changed_at": v.history_date, "changed_by": str(v.history_user or ""),
             "name": v.name, "active": v.active, "budget_money": v.budget_money, "budget_count": v.budget_count}
            for v in versions]


@api.post("/manufacturers", response={201: ManufacturerOut, **PROBLEMS}, summary="Open a manufacturer account")
def create_manufacturer(request, payload: ManufacturerIn):
    try:
        with transaction.atomic():
            _refuse_a_second_account(payload)
            return Status(201, ManufacturerAccount.objects.create(**payload.dict()))
    except IntegrityError:  # opened at the same moment at another desk: the unique keys' last word
        _refuse_a_second_account(payload)
        raise


def _refuse_a_second_account(payload: ManufacturerIn) -> None:
    if ManufacturerAccount.objects.filter(manufacturer_id=payload.manufacturer_id).exists():
        raise DuplicateManufacturer(f"manufacturer {payload.manufacturer_id} has an account")
    if ManufacturerAccount.objects.filter(name=payload.name).exists():
        raise DuplicateManufacturer(f"an account is named {payload.name!r}", field="name")


@api.get("/manufacturers/{number}/statement", response={200: StatementOut, **PROBLEMS},
         summary="A manufacturer's statement of redemptions in [start, end)")
def manufacturer_statement(request, number: Number, start: Moment, end: Moment):
    return statements.statement(number, start, end).as_dict()

