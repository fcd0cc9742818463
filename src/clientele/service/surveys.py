"""Satisfaction surveys: defined with their attributes and weights, sent to a random sample of
members (each with their own token), answered once per invitation, and measured
(`analytics.satisfaction`)."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
from django.db import IntegrityError, transaction
from django.db.models import F

from clientele.analytics import satisfaction
from clientele.catalog.models import Store
from clientele.loyalty import ledger
from clientele.members.models import CustomerProfile, Member
from clientele.service import errors
from clientele.service.survey_models import AttributeRating, Invitation, Survey, SurveyAnswer, SurveyAttribute

#: the attributes of seed 001, offered when a marketer names none
DEFAULT_ATTRIBUTES = ("quality", "function", "price", "service", "packaging", "taste")
SEGMENTS = ("pyramid_level", "value_tier", "rfm_segment", "lifecycle_stage")


@dataclass(frozen=True)
class SurveyIn:
    """A survey as a marketer defines it: attribute name -> stated importance (> 0)."""

    code: str
    title: str
    opens_at: datetime
    closes_at: datetime
    attributes: dict[str, Decimal]
    weighting: str = Survey.Weighting.STATED


def create_survey(request: SurveyIn, actor: str) -> Survey:
    """Create a survey and its attributes; refuses an empty or badly weighted attribute list, a
    close before the opening and a code already used. Returns the survey."""
    if not request.attributes:
        raise errors.InvalidSurvey("a survey rates at least one attribute", field="attributes")
    bad = [name for name, weight in request.attributes.items() if not name.strip() or Decimal(weight) <= 0]
    if bad:
        raise errors.InvalidSurvey(f"attribute {bad[0]!r} needs a name and an importance above 0",
                                   field="attributes")
    if request.closes_at <= request.opens_at:
        raise errors.InvalidSurvey("a survey closes after it opens", field="closes_at")
    if request.weighting not in Survey.Weighting.values:
        raise errors.InvalidSurvey(f"weighting is one of {', '.join(Survey.Weighting.values)}", field="weighting")
    try:
        with transaction.atomic():
            survey = Survey.objects.create(code=request.code, title=request.title, opens_at=request.opens_at,
                                           closes_at=request.closes_at, weighting=request.weighting,
                                           created_by=actor)
            SurveyAttribute.objects.bulk_create(
                SurveyAttribute(survey=survey, name=name.strip(), importance=Decimal(weight), position=position)
                for position, (name, weight) in enumerate(request.attributes.items()))
    except IntegrityError:
        raise errors.InvalidSurvey(f"a survey {request.code!r} exists already", field="code") from None
    return survey


def get_survey(code: str) -> Survey:
    survey = Survey.objects.filter(code=code).first()
    if survey is None:
        raise errors.UnknownSurvey(f"no survey {code!r}")
    return survey


def invite(code: str, sample_size: int, seed: int | None = None, valid_days: int | None = None,
           among: list[int] | None = None) -> list[Invitation]:
    """Invite a random sample of `sample_size` active members not yet invited to the survey (of the
    member numbers `among`, when given), each with a token of their own, valid until the survey
    closes (or `valid_days`, if sooner). Returns the invitations (their links are made of the tokens)."""
    survey = get_survey(code)
    if sample_size < 1:
        raise errors.InvalidSurvey("invite at least one member", field="sample_size")
    now = ledger.now_utc()
    expires = survey.closes_at if valid_days is None else min(survey.closes_at, now + timedelta(days=valid_days))
    members = Member.objects.filter(status=Member.Status.ACTIVE).exclude(survey_invitations__survey=survey)
    if among is not None:
        members = members.filter(customer_id__in=among)
    candidates = list(members.order_by("pk").values_list("pk", flat=True))
    chosen = random.Random(seed).sample(candidates, min(sample_size, len(candidates)))
    with transaction.atomic():
        return Invitation.objects.bulk_create(
            Invitation(survey=survey, member_id=member_id, token=secrets.token_urlsafe(24), sent_at=now,
                       expires_at=expires) for member_id in chosen)


def open_invitation(token: str, at: datetime | None = None) -> Invitation:
    """The invitation of `token` if it may still be answered: refuses an unknown, expired or
    answered token and a survey not open. Returns the invitation with its survey."""
    at = at or ledger.now_utc()
    invitation = Invitation.objects.select_related("survey").filter(token=token).first()
    if invitation is None:
        raise errors.UnknownInvitation("this survey link is not known: check it was copied whole")
    if SurveyAnswer.objects.filter(invitation=invitation).exists():
        raise errors.AlreadyAnswered("this survey was already answered with this link: thank you")
    if at > invitation.survey.closes_at:
        raise errors.SurveyClosed(f"the survey closed on {invitation.survey.closes_at:%Y-%m-%d}")
    if at < invitation.survey.opens_at:
        raise errors.SurveyClosed(f"the survey opens on {invitation.survey.opens_at:%Y-%m-%d}")
    if at > invitation.expires_at:
        raise errors.InvitationExpired(f"this survey link expired on {invitation.expires_at:%Y-%m-%d}")
    return invitation


def answer_survey(token: str, overall: int, ratings: dict[str, int], store_id: int | None = None,
                  at: datetime | None = None) -> SurveyAnswer:
    """Record the one answer of an invitation: the overall score and every attribute's score, each
    1-5. Refuses a missing or out-of-range score (naming the attribute), an unknown store, and an
    invitation that cannot be answered (`open_invitation`); nothing is written then. Returns it."""
    at = at or ledger.now_utc()
    invitation = open_invitation(token, at)
    attributes = list(invitation.survey.attributes.all())
    problems = {}
    for attribute in attributes:
        score = ratings.get(attribute.name)
        if not isinstance(score, int) or not 1 <= score <= 5:
            problems[attribute.name] = f"rate {attribute.name} from 1 to 5" + ("" if score is None else f", not {score}")
    unknown = set(ratings) - {a.name for a in attributes}
    problems |= {name: "this survey does not ask about it" for name in sorted(unknown)}
    if not isinstance(overall, int) or not 1 <= overall <= 5:
        problems["overall"] = f"rate the overall satisfaction from 1 to 5, not {overall}"
    if store_id is not None and not Store.objects.filter(pk=store_id).exists():
        problems["store_id"] = f"no store {store_id}"
    if problems:
        field = next(iter(problems))
        raise errors.InvalidScore(f"{field}: {problems[field]}", field=field, fields=problems)
    try:
        with transaction.atomic():
            answer = SurveyAnswer.objects.create(invitation=invitation, overall=overall, store_id=store_id,
                                                 answered_at=at)
            AttributeRating.objects.bulk_create(AttributeRating(answer=answer, attribute=a, score=ratings[a.name])
                                                for a in attributes)
    except IntegrityError:  # the same link answered at the same moment elsewhere
        raise errors.AlreadyAnswered("this survey was already answered with this link: thank you") from None
    return answer


def answers_table(survey: Survey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The survey's answers: (one row per answer: answer_id, customer_id, answered_on, overall,
    store_id and the member's segments; one column per attribute with its score, same rows)."""
    answers = pd.DataFrame(list(SurveyAnswer.objects.filter(invitation__survey=survey).values(
        "id", "overall", "store_id", "answered_at", customer_id=F("invitation__member__customer_id"),
        member_id=F("invitation__member_id"))), columns=["id", "overall", "store_id", "answered_at", "customer_id",
                                                         "member_id"])
    profiles = pd.DataFrame(list(CustomerProfile.objects.filter(member_id__in=answers["member_id"].tolist())
                                 .values("member_id", *SEGMENTS)), columns=["member_id", *SEGMENTS])
    answers = answers.merge(profiles, on="member_id", how="left").rename(columns={"id": "answer_id"})
    answers["answered_on"] = pd.to_datetime(answers["answered_at"], utc=True).dt.date
    rows = pd.DataFrame(list(AttributeRating.objects.filter(answer__invitation__survey=survey)
                             .values("answer_id", "score", name=F("attribute__name"))),
                        columns=["answer_id", "score", "name"])
    ratings = rows.pivot(index="answer_id", columns="name", values="score").reindex(answers["answer_id"])
    ratings = ratings.reindex(columns=[a.name for a in survey.attributes.all()]).astype(float)
    return answers.set_index("answer_id", drop=False), ratings


def survey_results(code: str, by: str | None = None) -> dict:
    """A survey's scores: per attribute and overall, the simple mean and the importance-weighted
    index side by side with counts and 95% intervals; the weights used (stated, or derived from the
    answers); by store or by a segment (`by`: 'store' or one of SEGMENTS) when asked."""
    survey = get_survey(code)
    answers, ratings = answers_table(survey)
    if survey.weighting == Survey.Weighting.DERIVED and len(answers) > 2:
        weights = satisfaction.derived_weights(ratings, answers["overall"].astype(float))
    else:
        weights = {a.name: float(a.importance) for a in survey.attributes.all()}
    result = {"survey": survey.code, "answers": len(answers), "invited": survey.invitations.count(),
              "weighting": survey.weighting, "overall_question": satisfaction.mean_interval(answers["overall"]),
              **(satisfaction.attribute_scores(ratings, weights) if len(answers) else {})}
    if by is not None and len(answers):
        if by not in ("store", *SEGMENTS):
            raise errors.InvalidSurvey(f"results by store or one of {', '.join(SEGMENTS)}, not {by!r}", field="by")
        groups = answers["store_id" if by == "store" else by].fillna("unknown")
        result["by"] = {by: satisfaction.scores_by_group(ratings, groups, weights)}
    return satisfaction.as_plain(result)


def satisfaction_loyalty(code: str, weeks: int = 8, lake=None) -> dict:
    """The satisfaction-loyalty curve of a survey: for each overall score 1-5, the share of the
    answering customers who bought again within `weeks` weeks and what they spent, from the baskets
    in the lake; and the ratio of the 5s' repurchase rate to the 4s' (seed 001 found 6)."""
    from clientele.analytics.baskets import baskets
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines

    if weeks < 1:
        raise errors.InvalidSurvey("the window after the answer is at least one week", field="weeks")
    answers, _ = answers_table(get_survey(code))
    lines = basket_lines(connect(), lake)
    their_lines = lines.filter(lines.customer_id.isin([int(c) for c in answers["customer_id"].unique()]))
    their_baskets = baskets(their_lines).select("customer_id", "basket_date", "spend").to_pandas()
    return satisfaction.as_plain(satisfaction.satisfaction_loyalty_curve(answers, their_baskets, weeks))
