"""The marketers' campaigns API: HTTP in, one service call, HTTP out. Documented at /api/campaigns/docs.

A back-office session whose user may change campaigns (`campaigns.change_campaign`) is required.
Every refusal is a problem `{code, message, field}` with its 4xx status, mapped here and only here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, NinjaAPI, Schema
from ninja.responses import Status
from ninja.security import SessionAuth

from clientele.api_inputs import Code, Day, Number, line, prose
from clientele.api_problems import SESSION_PROBLEMS, Problem, answer_refusals_as_problems
from clientele.campaign_metrics import METRICS
from clientele.campaigns import services
from clientele.campaigns.errors import CampaignError
from clientele.campaigns.measurement import measure_campaign
from clientele.campaigns.models import Campaign
from clientele.campaigns.playbooks import PLAYBOOKS

Share = Annotated[Decimal, Field(ge=0, le=Decimal("0.5"), max_digits=4, decimal_places=3)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
CostPerContact = Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=4)]
Channel = Literal["email", "sms", "post", "till"]
GoalMetric = Literal[tuple(METRICS)]
GoalTarget = Annotated[Decimal, Field(ge=-1, le=10, max_digits=6, decimal_places=4,
                                      description="Relative lift aimed at: 0.05 = +5%.")]
MarginRate = Annotated[Decimal, Field(ge=0, le=1, max_digits=4, decimal_places=3)]
Name, Owner, Subject, Strata = line(1, 200), line(1, 150), line(0, 200), line(0, 40)
#: A segment expression, e.g. 'at_risk AND NOT lifecycle=lapsed' (it may be written on several lines).
Expression = prose(0, 2000)
Message = prose(0, 20000)


class MarketerSession(SessionAuth):
    """A logged-in back-office user allowed to change campaigns."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user and user.has_perm("campaigns.change_campaign") else None


api = NinjaAPI(title="Clientele campaigns API", version="1", auth=MarketerSession(), urls_namespace="campaigns-api",
               description="Campaigns measured against random holdouts: goals, audiences, playbooks, sending, lift.")


PROBLEMS = {**SESSION_PROBLEMS, 404: Problem, 409: Problem}
answer_refusals_as_problems(api, "sign in to the back office as a user who may change campaigns")


@api.exception_handler(CampaignError)
def campaign_problem(request, error: CampaignError):
    return api.create_response(request, {"code": error.code, "message": error.message, "field": error.field},
                               status=error.status)


class CampaignIn(Schema):
    """A campaign as a marketer writes it (docs/campaigns.md). Shares are fractions: 0.1 = 10%."""

    name: Name
    owner: Owner
    goal_metric: GoalMetric
    goal_target: GoalTarget
    window_start: Day | None = None
    window_end: Day | None = None
    audience: Expression = Field(description="Segment expression, e.g. 'at_risk AND NOT lifecycle=lapsed'.")
    channels: list[Channel] = []
    subject: Subject = ""
    message: Message = ""
    fixed_cost: Money = Decimal("0")
    cost_per_contact: CostPerContact = Decimal("0")
    margin_rate: MarginRate = Decimal("0.3")
    holdout_share: Share | None = Field(None, description="Default: the setting CLIENTELE_CAMPAIGN_HOLDOUT (10%).")
    strata: Strata = "pyramid_level,lifecycle_stage"
    trigger: Expression = ""
    pre_days: Annotated[int, Field(ge=7, le=730)] = 91
    offer_codes: list[Code] = []


class CampaignChange(Schema):
    """The fields to change; after launch, audience, strata, holdout and trigger are refused."""

    name: Name | None = None
    owner: Owner | None = None
    goal_metric: GoalMetric | None = None
    goal_target: GoalTarget | None = None
    window_start: Day | None = None
    window_end: Day | None = None
    audience: Expression | None = None
    channels: list[Channel] | None = None
    subject: Subject | None = None
    message: Message | None = None
    fixed_cost: Money | None = None
    cost_per_contact: CostPerContact | None = None
    margin_rate: MarginRate | None = None
    holdout_share: Share | None = None
    strata: Strata | None = None
    trigger: Expression | None = None
    offer_codes: list[Code] | None = None


class CampaignOut(Schema):
    id: int
    name: str
    owner: str
    status: str
    playbook: str
    goal_metric: str
    goal_target: Decimal
    window_start: date
    window_end: date
    audience: str
    strata: str
    trigger: str
    channels: list[str]
    subject: str
    message: str
    fixed_cost: Decimal
    cost_per_contact: Decimal
    margin_rate: Decimal
    holdout_share: Decimal
    seed: int
    launched_at: datetime | None
    offer_codes: list[str]
    groups: dict[str, int]
    contacts: dict[str, int]


class CampaignList(Schema):
    data: list[CampaignOut]
    count: int


class PlaybookOut(Schema):
    key: str
    name: str
    strategy: str
    audience: str
    goal_metric: str
    goal_target: str
    channels: list[str]
    trigger: str


class FromPlaybook(Schema):
    playbook: line(1, 40)
    owner: Owner
    window_start: Day | None = None


class SendIn(Schema):
    channel: Literal["email", "sms"]


def _out(campaign: Campaign) -> dict:
    values = {name: getattr(campaign, name) for name in CampaignOut.model_fields if hasattr(campaign, name)}
    values["offer_codes"] = sorted(campaign.offers.values_list("code", flat=True))
    values["groups"] = services.group_counts(campaign)
    values["contacts"] = services.contact_counts(campaign)
    return values


@api.get("/playbooks", response={200: list[PlaybookOut], **PROBLEMS}, summary="The segment playbooks ready to launch")
def list_playbooks(request):
    return [{**vars(p), "channels": list(p.channels)} for p in PLAYBOOKS.values()]


@api.get("/campaigns", response={200: CampaignList, **PROBLEMS}, summary="Every campaign, newest first")
def list_campaigns(request):
    campaigns = list(Campaign.objects.all())
    return {"data": [_out(c) for c in campaigns], "count": len(campaigns)}


@api.post("/campaigns", response={201: CampaignOut, **PROBLEMS}, summary="Create a draft campaign")
def create_campaign(request, payload: CampaignIn):
    values = payload.dict()
    values["channels"], values["offer_codes"] = tuple(values["channels"]), tuple(values["offer_codes"])
    return Status(201, _out(services.create_campaign(services.CampaignIn(**values))))


@api.post("/campaigns/from-playbook", response={201: CampaignOut, **PROBLEMS},
          summary="Create a draft campaign from a playbook (one click)")
def create_from_playbook(request, payload: FromPlaybook):
    return Status(201, _out(services.create_from_playbook(payload.playbook, payload.owner, payload.window_start)))


@api.get("/campaigns/{campaign_id}", response={200: CampaignOut, **PROBLEMS}, summary="One campaign")
def get_campaign(request, campaign_id: Number):
    return _out(services.get_campaign(campaign_id))


@api.patch("/campaigns/{campaign_id}", response={200: CampaignOut, **PROBLEMS}, summary="Change a campaign")
def change_campaign(request, campaign_id: Number, payload: CampaignChange):
    return _out(services.update_campaign(campaign_id, **payload.dict(exclude_none=True)))


@api.post("/campaigns/{campaign_id}/launch", response={200: CampaignOut, **PROBLEMS},
          summary="Launch: draw the audience and its holdout, stored once")
def launch_campaign(request, campaign_id: Number):
    services.launch(campaign_id)
    return _out(services.get_campaign(campaign_id))


@api.post("/campaigns/{campaign_id}/triggered", response={200: dict[str, int], **PROBLEMS},
          summary="Add the members the trigger now names")
def add_triggered(request, campaign_id: Number):
    return services.add_triggered_members(campaign_id)


@api.post("/campaigns/{campaign_id}/send", response={200: dict[str, int], **PROBLEMS},
          summary="Send by e-mail or SMS to the consenting treated members (retries the failed)")
def send_campaign(request, campaign_id: Number, payload: SendIn):
    return services.send(campaign_id, payload.channel)


@api.post("/campaigns/{campaign_id}/end", response={200: CampaignOut, **PROBLEMS}, summary="End a running campaign")
def end_campaign(request, campaign_id: Number):
    return _out(services.end_campaign(campaign_id))


@api.get("/campaigns/{campaign_id}/measurement", response={200: dict, **PROBLEMS},
         summary="Lift against the holdout with 95% intervals, CUPED, per stratum, ROI (interim before the window ends)")
def campaign_measurement(request, campaign_id: Number):
    return measure_campaign(campaign_id)
