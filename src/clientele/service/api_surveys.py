"""The service desk API's surveys and win-back calls (registered on `service.api.api`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Router, Schema
from ninja.responses import Status
from pydantic import AwareDatetime

from clientele.api_inputs import Code, Number, line, prose
from clientele.service import services
from clientele.service.api import MARKETER, PROBLEMS, WIN_BACK, api


#: An attribute a survey asks about (quality, price).
Attribute = line(1, 60)
#: An invitation's token, as `secrets.token_urlsafe` makes it.
Token = Annotated[str, Field(pattern=r"^[-A-Za-z0-9_]{1,64}$")]


class SurveyIn(Schema):
    """A survey: attribute name -> stated importance (> 0), e.g. {"quality": 3, "price": 2}."""

    code: Code
    title: line(1, 200)
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    attributes: dict[Attribute, Annotated[Decimal, Field(gt=0, max_digits=6, decimal_places=3)]]
    weighting: Literal["stated", "derived"] = "stated"


class InvitationsIn(Schema):
    sample_size: Annotated[int, Field(ge=1, le=1_000_000)]
    seed: Number | None = None
    valid_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class InvitationOut(Schema):
    member_number: int
    token: str
    link: str
    expires_at: datetime


class AnswerIn(Schema):
    overall: Number
    ratings: dict[Attribute, Number]
    store_id: Number | None = None


class ExitReasonIn(Schema):
    member_number: Number
    reason: Literal["price", "product", "service", "technology", "promotion", "need", "management", "policy",
                    "other"]
    source: Literal["exit_survey", "call", "complaint"]
    complaint_id: Number | None = None
    note: prose() = ""


class WinBackListIn(Schema):
    name: line(1, 200)
    size: Annotated[int, Field(ge=1, le=100_000)] = 200


class CallIn(Schema):
    reached: bool
    outcome: Literal["unreachable", "declined", "won_back"]
    reason: line() = ""


surveys = Router(auth=MARKETER, tags=["surveys"])
answers = Router(auth=None, tags=["surveys"])
win_back = Router(auth=WIN_BACK, tags=["lost customers"])


@surveys.post("/surveys", response={201: dict, **PROBLEMS}, summary="Define a survey and its attributes")
def create_survey(request, payload: SurveyIn):
    survey = services.create_survey(services.SurveyIn(**payload.dict()), request.auth.get_username())
    return Status(201, {"code": survey.code, "attributes": [a.name for a in survey.attributes.all()]})


@surveys.post("/surveys/{code}/invitations", response={201: list[InvitationOut], **PROBLEMS},
              summary="Invite a random sample of members; each gets a link of their own")
def invite(request, code: Code, payload: InvitationsIn):
    invitations = services.invite(code, payload.sample_size, payload.seed, payload.valid_days)
    return Status(201, [{"member_number": i.member.customer_id, "token": i.token, "expires_at": i.expires_at,
                         "link": request.build_absolute_uri(f"/survey/{i.token}")} for i in invitations])


@surveys.get("/surveys/{code}/results", response={200: dict, **PROBLEMS},
             summary="Simple mean and importance-weighted index, per attribute, with intervals")
def survey_results(request, code: Code, by: line() | None = None):
    return services.survey_results(code, by)


@surveys.get("/surveys/{code}/loyalty", response={200: dict, **PROBLEMS},
             summary="The satisfaction-loyalty curve and the ratio of 5s to 4s")
def satisfaction_loyalty(request, code: Code, weeks: Annotated[int, Field(ge=1, le=520)] = 8):
    return services.satisfaction_loyalty(code, weeks)


@answers.post("/answers/{token}", response={201: dict, **PROBLEMS}, summary="Answer a survey (the token is the key)")
def answer(request, token: Token, payload: AnswerIn):
    given = services.answer_survey(token, payload.overall, payload.ratings, payload.store_id)
    return Status(201, {"answered_at": given.answered_at.isoformat()})


@win_back.post("/exit-reasons", response={201: dict, **PROBLEMS}, summary="Why a lapsed member left")
def exit_reason(request, payload: ExitReasonIn):
    noted = services.note_exit_reason(payload.member_number, payload.reason, payload.source,
                                      request.auth.get_username(), payload.complaint_id, payload.note)
    return Status(201, {"id": noted.pk, "reason": noted.reason})


@win_back.get("/churn", response={200: list[dict], **PROBLEMS},
              summary="Churn per value tier against the acceptable rate, large customers first")
def churn(request):
    return services.churn_by_tier()


@win_back.post("/win-back-lists", response={201: dict, **PROBLEMS},
               summary="Rank the lapsed members by value at stake")
def build_list(request, payload: WinBackListIn):
    built = services.build_win_back_list(payload.name, request.auth.get_username(), payload.size)
    return Status(201, {"id": built.pk, **services.win_back_results(built.pk)})


@win_back.get("/win-back-lists/{list_id}", response={200: dict, **PROBLEMS}, summary="A list: members and results")
def show_list(request, list_id: Number):
    from clientele.service.churn_models import WinBackEntry

    entries = WinBackEntry.objects.filter(win_back_list_id=list_id).select_related("member")
    return {**services.win_back_results(list_id), "entries": [
        {"id": e.pk, "rank": e.rank, "member_number": e.member.customer_id, "value_at_stake": str(e.value_at_stake),
         "clv_before": str(e.clv_before), "chance_of_return": e.chance_of_return, "outcome": e.outcome,
         "reason": e.reason, "group": e.group} for e in entries]}


class WinBackCampaignIn(Schema):
    days: Annotated[int, Field(ge=1, le=365)] = 28
    holdout_share: Annotated[Decimal, Field(ge=0, le=Decimal("0.5"))] | None = None


@win_back.post("/win-back-lists/{list_id}/campaign", response={200: dict, **PROBLEMS},
               summary="Make the list a campaign with a random control group (never called); the win-back "
                       "rate treated against holdout")
def win_back_campaign(request, list_id: Number, payload: WinBackCampaignIn):
    campaign = services.win_back_campaign(list_id, request.auth.get_username(), payload.days, payload.holdout_share)
    return {"campaign": campaign.pk, **services.win_back_by_group(list_id)}


@win_back.get("/win-back-lists/{list_id}/by-group", response={200: dict, **PROBLEMS},
              summary="The win-back rate, treated against holdout")
def win_back_by_group(request, list_id: Number):
    return services.win_back_by_group(list_id)


@win_back.post("/win-back-entries/{entry_id}/call", response={200: dict, **PROBLEMS},
               summary="What a win-back call achieved")
def record_call(request, entry_id: Number, payload: CallIn):
    entry = services.record_call(entry_id, request.auth.get_username(), payload.reached, payload.outcome,
                                 payload.reason)
    return {"id": entry.pk, "outcome": entry.outcome}


api.add_router("", surveys)
api.add_router("", answers)
api.add_router("", win_back)
