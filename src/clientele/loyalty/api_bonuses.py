"""The till API's calls for bonuses on actions that are not purchases (loaded by `site.urls`).

One call per action, registered on the till API: the member is named by card or member number,
the store-scoped key is checked as for a basket, and each occasion is credited once (the member's
profile once; a review once, by its id). Errors are the till API's problems (`loyalty.api`).
"""

from __future__ import annotations

from ninja import Field, Schema

from clientele.loyalty import bonuses
from clientele.api_inputs import Number as Stored
from clientele.loyalty.api import PROBLEMS, BalanceOut, Barcode, Id, Number, Problem, api


class MemberActionIn(Schema):
    store_id: Stored
    card: Barcode | None = None
    member_number: Number | None = None


class ReviewIn(MemberActionIn):
    review_id: Id


class BonusCreditOut(Schema):
    rule_id: int | None
    version: int | None = None
    rule: str
    points: int


class BonusOut(Schema):
    member_number: int
    action: str
    reference: str
    points_awarded: int
    explanation: list[BonusCreditOut]
    balance: BalanceOut
    replayed: bool


@api.post("/bonuses/profile-completed", response={200: BonusOut, PROBLEMS: Problem},
          summary="Reward a completed profile")
def profile_completed(request, payload: MemberActionIn):
    """Credit the profile-completed bonus, once per member: a second call answers the first credit
    with `replayed: true`."""
    action = bonuses.ActionIn(action=bonuses.Action.PROFILE_COMPLETED, **payload.dict())
    return bonuses.reward_action(action, request.auth)


@api.post("/bonuses/review-written", response={200: BonusOut, PROBLEMS: Problem}, summary="Reward a review")
def review_written(request, payload: ReviewIn):
    """Credit the review bonus, once per review (`review_id`): a second call for the same review
    answers the first credit with `replayed: true`; the same review for another member is refused."""
    fields = payload.dict()
    action = bonuses.ActionIn(action=bonuses.Action.REVIEW_WRITTEN, reference=fields.pop("review_id"), **fields)
    return bonuses.reward_action(action, request.auth)
