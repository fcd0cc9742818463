"""The member's app API (/api/portal/, documented at /api/portal/docs): the portal's pages as JSON,
HTTP in, one portal service call, HTTP out.

Sign in with `POST /sign-in` (card number, e-mail or phone) then `POST /sign-in/verify` (the
challenge and the code received): the answer's token is sent as `Authorization: Bearer <token>` on
every other call. No call takes a member's number: each answers for the signed-in member only, and
an id of anything else (a review, a complaint) answers 404 as for one that does not exist. Every
refusal is a problem `{code, message, field}` with its status, mapped here and only here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.http import FileResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError
from ninja.responses import Status
from ninja.security import HttpBearer
from pydantic import Strict, StrictBool, StrictInt, model_validator

from clientele.api_inputs import Code, Day, Number, line, prose
from clientele.api_problems import UNREADABLE_BODY, invalid_request
from clientele.errors import RequestRefused
from clientele.portal import account, errors, feedback, profile, shopping, signin
from clientele.privacy.errors import PrivacyError


class MemberToken(HttpBearer):
    """A live portal session's token: the call acts for its member (`request.auth`)."""

    def authenticate(self, request, token):
        try:
            return signin.signed_in_member(token)
        except errors.NotSignedIn:
            return None


api = NinjaAPI(title="Clientele member API", version="1", urls_namespace="portal-api", auth=MemberToken(),
               description="The member's own account, list, offers, profile, consent and feedback (docs/portal.md).")


class Problem(Schema):
    code: str
    message: str
    field: str = ""


PROBLEMS = {400: Problem, 401: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem, 503: Problem}


@api.exception_handler(RequestRefused)
def refused(request, error: RequestRefused):
    return api.create_response(request, {"code": error.code, "message": error.message, "field": error.field},
                               status=error.status)


@api.exception_handler(PrivacyError)
def privacy_refused(request, error: PrivacyError):
    return api.create_response(request, {"code": "privacy_refused", "message": str(error), "field": ""}, status=422)


@api.exception_handler(ValidationError)
def invalid_request_problem(request, error: ValidationError):
    return api.create_response(request, invalid_request(error.errors), status=422)


@api.exception_handler(HttpError)
def unreadable_problem(request, error: HttpError):
    """Django Ninja's own refusals (an unreadable body: 400) in the same problem shape."""
    body = UNREADABLE_BODY if error.status_code == 400 else {"code": "invalid_request", "message": error.message,
                                                             "field": "body"}
    return api.create_response(request, body, status=error.status_code)


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


# ---- signing in -----------------------------------------------------------------------------------

class SignInIn(Schema):
    identifier: line(1, 254, description="Card number, e-mail or phone.")


class ChallengeOut(Schema):
    challenge: str
    sent_to: str = Field(description="'email' or 'sms': where to look for the code (the same answer when nobody matched).")
    expires_at: datetime


class VerifyIn(Schema):
    challenge: line(1, 100)
    code: line(1, 20)


class TokenOut(Schema):
    token: str
    token_type: str = "bearer"


@api.post("/sign-in", auth=None, response={200: ChallengeOut, **PROBLEMS}, summary="Ask for a one-time code")
def ask_code(request, payload: SignInIn):
    """Send a one-time code to the member the identifier names (e-mail, or SMS for a phone); the
    same answer whoever typed what, so the API never tells whether an address is a member's."""
    return signin.request_code(payload.identifier, _address(request)).__dict__


@api.post("/sign-in/verify", auth=None, response={200: TokenOut, **PROBLEMS}, summary="Type the code back")
def verify(request, payload: VerifyIn):
    """The code received, against its challenge: a session token, or 401 (wrong, expired, used)
    and 429 once too many wrong codes locked the member or the network address."""
    return {"token": signin.verify_code(payload.challenge, payload.code, _address(request))}


@api.post("/sign-out", response={204: None, **PROBLEMS}, summary="End the session")
def sign_out(request):
    signin.sign_out(request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
    return Status(204, None)


# ---- account --------------------------------------------------------------------------------------

class EntryOut(Schema):
    id: int
    kind: str
    points: int
    reason: str
    at: datetime
    pending: bool
    available_from: datetime
    expires_on: date | None


class ExpiringOut(Schema):
    by: date
    points: int


class TierOut(Schema):
    tier: str | None
    perks: list[str]
    spend_12m: Decimal
    visits_12m: int
    next_tier: str | None
    spend_to_next: Decimal | None
    visits_to_next: int | None


class CardOut(Schema):
    number: str
    svg: str | None = Field(None, description="The card's EAN-13 drawn as SVG (with ?barcode=true).")


class RewardOut(Schema):
    code: str
    name: str
    points: int
    affordable: bool
    points_short: int = Field(description="Points still missing to redeem it (0 when affordable).")


class VoucherOut(Schema):
    reward_code: str
    reward: str
    voucher: str = Field(description="Show it at the till to collect the reward.")
    points: int
    at: datetime
    collected_at: datetime | None = Field(description="When the reward was handed over at a till (null: not yet).")


class AccountOut(Schema):
    member_number: int
    name: str
    available: int
    pending: int
    entries: list[EntryOut]
    expiring: list[ExpiringOut]
    tier: TierOut
    card: CardOut | None
    rewards: list[RewardOut]
    vouchers: list[VoucherOut]


@api.get("/account", response={200: AccountOut, **PROBLEMS}, summary="Points, tier, card and rewards")
def get_account(request, barcode: bool = False):
    """Points available and pending with the latest entries and their reasons, points expiring by
    the next month ends, the tier and what is left to reach the next, the card, the rewards."""
    summary = account.account_summary(request.auth, with_barcode=barcode)
    return summary | {"tier": summary["tier"].__dict__}


@api.get("/account/entries", response={200: list[EntryOut], **PROBLEMS}, summary="Older ledger entries")
def more_entries(request, before: Number | None = None, limit: Annotated[int, Field(ge=1, le=200)] = 50):
    """The member's ledger entries older than the entry `before` (newest first)."""
    from clientele.loyalty.models import LoyaltyAccount

    own = LoyaltyAccount.objects.filter(member=request.auth).first()
    return account.history(own, limit=limit, before=before)


class RedeemIn(Schema):
    reward_code: line(1, 40, description="A reward's code from GET /account.")
    redemption_id: line(1, 100, description="Your id for this redemption (e.g. a UUID made when the button was "
                                           "shown): sent again, it answers the first redemption and spends nothing.")


class BalanceOut(Schema):
    available: int
    pending: int


class RedeemedOut(Schema):
    redemption_id: str
    reward_code: str
    reward: str
    points_spent: int
    voucher: str = Field(description="Show it at the till to collect the reward.")
    balance: BalanceOut
    replayed: bool


@api.post("/rewards/redeem", response={200: RedeemedOut, **PROBLEMS}, summary="Spend my points on a reward")
def redeem_reward(request, payload: RedeemIn):
    """The reward's points leave your account (the till's ledger: spent once for every channel) and
    a voucher to show at the till comes back; 409 `insufficient_points` when your available points
    do not cover it, 404 for a reward that does not exist, 409 for one not offered or out of stock."""
    return account.redeem(request.auth, payload.reward_code, payload.redemption_id)


# ---- list and offers ------------------------------------------------------------------------------

class ListItemOut(Schema):
    product_id: int
    product: str
    offer: str | None
    offer_description: str
    value: Decimal | None


class ListOut(Schema):
    number: str
    svg: str | None = None
    valid_from: date
    valid_until: date
    items: list[ListItemOut]


class OfferOut(Schema):
    code: str
    name: str
    description: str
    valid_until: datetime
    activated: bool


class ActivatedOut(Schema):
    code: str
    activated_now: bool


class SavedOut(Schema):
    discount: Decimal
    bonus_points: int
    baskets: int


@api.get("/list", response={200: ListOut, **PROBLEMS}, summary="My current shopping list")
def get_list(request, barcode: bool = False):
    found = shopping.current_list(request.auth, drawn=barcode)
    if found is None:
        raise errors.NotFound("you have no shopping list for these days", field="list")
    return found


@api.get("/offers", response={200: list[OfferOut], **PROBLEMS}, summary="Offers to activate before shopping")
def get_offers(request):
    return [offer.__dict__ for offer in shopping.offers_to_activate(request.auth)]


@api.post("/offers/{code}/activate", response={200: ActivatedOut, **PROBLEMS}, summary="Activate (clip) an offer")
def activate_offer(request, code: Code):
    """Activate the offer for your next baskets: the till applies it from now on."""
    return {"code": code, "activated_now": shopping.activate(request.auth, code)}


@api.get("/savings", response={200: SavedOut, **PROBLEMS}, summary="What my offers saved me so far")
def get_savings(request):
    return shopping.saved(request.auth)


# ---- profile, consent, privacy --------------------------------------------------------------------

class AwaitingOut(Schema):
    field: str
    value: str
    expires_at: datetime


class ProfileOut(Schema):
    first_name: str
    last_name: str
    email: str
    phone: str
    birth_date: date | None
    address_line: str
    postal_code: str
    city: str
    missing: list[str]
    awaiting_confirmation: list[AwaitingOut] = Field(
        description="A new e-mail or phone waiting for the code sent to it; the one above stays in force until then.")


class FieldsIn(Schema):
    """A body of optional fields: still a JSON object (Django Ninja's schemas would read any value's
    attributes, so `[null]` would be an empty change)."""

    @model_validator(mode="before")
    @classmethod
    def an_object(cls, value):
        if not isinstance(getattr(value, "_obj", value), dict):
            raise ValueError("send the fields as a JSON object")
        return value


class ProfileIn(FieldsIn):
    first_name: line(0, 100) | None = None
    last_name: line(0, 100) | None = None
    email: line(0, 254) | None = None
    phone: line(0, 32) | None = None
    birth_date: Day | None = None
    address_line: line(0, 200) | None = None
    postal_code: line(0, 20) | None = None
    city: line(0, 100) | None = None


class ConfirmationOut(Schema):
    field: str = Field(description="'email' or 'phone'.")
    challenge: str = Field(description="Send it back with the code to POST /profile/confirm.")
    sent_to: str = Field(description="'email' or 'sms': where the code went (the new address).")
    expires_at: datetime


class ProfileSavedOut(Schema):
    changed: list[str]
    missing: list[str]
    bonus_points: int
    to_confirm: list[ConfirmationOut] = Field(
        description="A new e-mail or phone is written only once the code sent to it is confirmed.")


def _saved(saved: profile.ProfileSaved) -> dict:
    return saved.__dict__ | {"to_confirm": [sent.__dict__ for sent in saved.to_confirm]}


class ConsentOut(Schema):
    purpose: str
    channel: str
    granted: StrictBool
    since: datetime | None
    source: str | None = None


class ConsentIn(Schema):
    purpose: Literal["profiling", "marketing"]
    channel: Literal["", "email", "sms", "post"] = ""
    granted: StrictBool


class ErasureIn(FieldsIn):
    reason: prose(0, 2000) = ""


class ErasureOut(Schema):
    request_id: int
    status: str


def _profile(member) -> dict:
    return {name: getattr(member, name) for name in profile.PROFILE_FIELDS} | {
        "missing": profile.missing_fields(member), "awaiting_confirmation": profile.awaiting_confirmation(member)}


@api.get("/profile", response={200: ProfileOut, **PROBLEMS}, summary="My profile")
def get_profile(request):
    return _profile(request.auth)


@api.put("/profile", response={200: ProfileSavedOut, **PROBLEMS}, summary="Change my profile and contact data")
def put_profile(request, payload: ProfileIn):
    """Change the fields given; a profile complete afterwards earns the profile bonus, once. A new
    e-mail or phone gets a code (`to_confirm`) and is written by POST /profile/confirm; the old one
    stays in force until then."""
    return _saved(profile.update_profile(request.auth, payload.dict(exclude_unset=True), _address(request)))


@api.post("/profile/confirm", response={200: ProfileSavedOut, **PROBLEMS}, summary="Confirm a new e-mail or phone")
def confirm_contact(request, payload: VerifyIn):
    """The code sent to the new e-mail or phone, against the challenge PUT /profile answered: the
    new address replaces the old one. 401 for a wrong, expired or used code; 429 once locked."""
    return _saved(profile.confirm_contact(request.auth, payload.challenge, payload.code, _address(request)))


@api.get("/consents", response={200: list[ConsentOut], **PROBLEMS}, summary="My consent per purpose and channel")
def get_consents(request):
    return profile.consents(request.auth)


@api.put("/consents", response={200: ConsentOut, **PROBLEMS}, summary="Give or withdraw a consent")
def put_consent(request, payload: ConsentIn):
    return profile.change_consent(request.auth, payload.purpose, payload.channel, payload.granted)


@api.get("/consents/history", response={200: list[dict], **PROBLEMS}, summary="Every consent I gave or withdrew")
def get_consent_history(request):
    return profile.consent_history(request.auth)


@api.post("/privacy/erasure", response={200: ErasureOut, **PROBLEMS}, summary="Ask to be erased")
def ask_erasure(request, payload: ErasureIn):
    """Handed to the data protection officers (a second person approves it); asking again answers
    the request under way."""
    return profile.ask_erasure(request.auth, payload.reason).__dict__


@api.post("/privacy/export", response={200: None, **PROBLEMS}, summary="Download everything held about me")
def export(request):
    """A zip: member.json with every section and one CSV per section."""
    path = profile.export_own_data(request.auth)
    return FileResponse(path.open("rb"), as_attachment=True, filename="my-data.zip", content_type="application/zip")


# ---- feedback -------------------------------------------------------------------------------------

class ReviewIn(Schema):
    product_id: Annotated[Number, Strict()]
    rating: Annotated[StrictInt, Field(ge=1, le=5)]
    text: prose(1, 5000)


class ReviewOut(Schema):
    id: int
    product_id: int
    rating: int
    text: str
    created_at: datetime
    bonus_points: int = 0


class ComplaintIn(Schema):
    cause: line(0, 100, description="A cause code of GET /complaint-causes.")
    severity: Literal["low", "medium", "high"] = "medium"
    what_happened: prose()
    how_it_happened: prose()
    why_unhappy: prose()
    served_by: line(0, 200)
    wanted_resolution: prose()
    other_cause: prose() = ""
    store_id: Annotated[Number, Strict()] | None = None


class ComplaintOut(Schema):
    id: int
    status: str
    cause: str
    received_at: datetime


class SurveyOut(Schema):
    survey: str
    token: str
    expires_at: datetime


class ReferralOut(Schema):
    code: str


class ReferredIn(Schema):
    code: line(1, 12)


def _review(review, points: int = 0) -> dict:
    return {"id": review.pk, "product_id": review.product_id, "rating": review.rating, "text": review.text,
            "created_at": review.created_at, "bonus_points": points}


def _complaint(complaint) -> dict:
    return {"id": complaint.pk, "status": complaint.status, "cause": complaint.cause.name,
            "received_at": complaint.received_at}


@api.get("/reviews", response={200: list[ReviewOut], **PROBLEMS}, summary="My reviews")
def get_reviews(request):
    return [_review(review) for review in feedback.reviews(request.auth)]


@api.post("/reviews", response={201: ReviewOut, **PROBLEMS}, summary="Review a product (the review bonus, once)")
def post_review(request, payload: ReviewIn):
    review, points = feedback.write_review(request.auth, payload.product_id, payload.rating, payload.text)
    return Status(201, _review(review, points))


@api.get("/reviews/{review_id}", response={200: ReviewOut, **PROBLEMS}, summary="One of my reviews")
def get_review(request, review_id: Number):
    return _review(feedback.own_review(request.auth, review_id))


class CauseOut(Schema):
    code: str
    name: str


@api.get("/complaint-causes", response={200: list[CauseOut], **PROBLEMS}, summary="Causes to choose from")
def get_causes(request):
    return [{"code": code, "name": name} for code, name in feedback.complaint_causes()]


@api.get("/complaints", response={200: list[ComplaintOut], **PROBLEMS}, summary="My complaints")
def get_complaints(request):
    return [{"id": c["id"], "status": c["status"], "cause": c["cause"], "received_at": c["received_at"]}
            for c in feedback.complaints(request.auth)]


@api.post("/complaints", response={201: ComplaintOut, **PROBLEMS}, summary="Make a complaint")
def post_complaint(request, payload: ComplaintIn):
    return Status(201, _complaint(feedback.make_complaint(request.auth, payload.dict())))


@api.get("/complaints/{complaint_id}", response={200: ComplaintOut, **PROBLEMS}, summary="One of my complaints")
def get_complaint(request, complaint_id: Number):
    return _complaint(feedback.own_complaint(request.auth, complaint_id))


@api.get("/surveys", response={200: list[SurveyOut], **PROBLEMS}, summary="Surveys I am invited to answer")
def get_surveys(request):
    """Each answered on the survey's own page, /survey/<token>."""
    return feedback.open_surveys(request.auth)


@api.get("/referral", response={200: ReferralOut, **PROBLEMS}, summary="My code to give friends")
def get_referral(request):
    return {"code": feedback.referral_code(request.auth)}


@api.post("/referral", response={200: dict, **PROBLEMS}, summary="I was referred by a friend")
def post_referral(request, payload: ReferredIn):
    """The friend whose code it is earns the referral bonus at your first basket."""
    feedback.use_referral_code(request.auth, payload.code)
    return {"referred": True}
