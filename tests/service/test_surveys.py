"""Satisfaction surveys: defined, sent to a random sample, answered once per token, measured."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from desk_builders import member

from clientele.loyalty import ledger
from clientele.service import errors, services
from clientele.service.models import AttributeRating, Invitation, SurveyAnswer

OPENS = datetime(2026, 11, 1, tzinfo=timezone.utc)
CLOSES = datetime(2027, 1, 1, tzinfo=timezone.utc)
WEIGHTS = {"quality": Decimal(3), "price": Decimal(1)}


@pytest.fixture
def survey(db):
    return services.create_survey(services.SurveyIn("winter", "Our store this winter", OPENS, CLOSES, WEIGHTS),
                                  "mia")


@pytest.fixture
def members(db):
    return [member(n) for n in range(1, 21)]


def test_a_random_sample_of_members_is_invited_once_each_with_their_own_token(survey, members):
    first = services.invite("winter", 8, seed=1)
    second = services.invite("winter", 100, seed=1)  # only the 12 not invited yet remain
    assert (len(first), len(second)) == (8, 12)
    assert len({i.member_id for i in first + second}) == 20
    assert len({i.token for i in first + second}) == 20


def test_the_same_seed_draws_the_same_sample(db, members):
    for code in ("a", "b"):
        services.create_survey(services.SurveyIn(code, code, OPENS, CLOSES, WEIGHTS), "mia")
    drawn = [{i.member_id for i in services.invite(code, 5, seed=7)} for code in ("a", "b")]
    assert drawn[0] == drawn[1]


def test_an_answer_is_recorded_once_per_invitation(survey, members):
    token = services.invite("winter", 1, seed=3)[0].token
    services.answer_survey(token, 5, {"quality": 5, "price": 3})
    with pytest.raises(errors.AlreadyAnswered):
        services.answer_survey(token, 4, {"quality": 4, "price": 4})
    assert SurveyAnswer.objects.count() == 1 and AttributeRating.objects.count() == 2


@pytest.mark.parametrize("overall, ratings, field", [
    (6, {"quality": 5, "price": 3}, "overall"),
    (4, {"quality": 0, "price": 3}, "quality"),
    (4, {"quality": 5}, "price"),
    (4, {"quality": 5, "price": 3, "taste": 2}, "taste"),
])
def test_a_score_outside_1_to_5_or_missing_is_refused_and_nothing_written(survey, members, overall, ratings, field):
    token = services.invite("winter", 1, seed=3)[0].token
    with pytest.raises(errors.InvalidScore) as refused:
        services.answer_survey(token, overall, ratings)
    assert field in refused.value.fields
    assert not SurveyAnswer.objects.exists()
    services.answer_survey(token, 4, {"quality": 4, "price": 4})  # the link still works once corrected


def test_an_expired_token_an_unknown_one_and_a_closed_survey_are_refused(survey, members):
    invitation = services.invite("winter", 1, seed=3)[0]
    with pytest.raises(errors.SurveyClosed):
        services.answer_survey(invitation.token, 4, {"quality": 4, "price": 4}, at=CLOSES + timedelta(seconds=1))
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=ledger.now_utc() - timedelta(minutes=1))
    with pytest.raises(errors.InvitationExpired):
        services.answer_survey(invitation.token, 4, {"quality": 4, "price": 4})
    with pytest.raises(errors.UnknownInvitation):
        services.answer_survey("not-a-token", 4, {"quality": 4, "price": 4})
    assert not SurveyAnswer.objects.exists()


def test_a_survey_closing_before_it_opens_or_without_attributes_is_refused(db):
    with pytest.raises(errors.InvalidSurvey, match="closes after"):
        services.create_survey(services.SurveyIn("x", "x", CLOSES, OPENS, WEIGHTS), "mia")
    with pytest.raises(errors.InvalidSurvey, match="at least one"):
        services.create_survey(services.SurveyIn("x", "x", OPENS, CLOSES, {}), "mia")
    with pytest.raises(errors.InvalidSurvey, match="importance above 0"):
        services.create_survey(services.SurveyIn("x", "x", OPENS, CLOSES, {"price": Decimal(0)}), "mia")


def test_results_show_the_simple_mean_and_the_weighted_index_side_by_side(survey, members):
    answers = [(5, 5, 1), (4, 4, 2), (3, 3, 3), (5, 5, 2)]  # overall, quality (weight 3), price (weight 1)
    for invitation, (overall, quality, price) in zip(services.invite("winter", 4, seed=5), answers):
        services.answer_survey(invitation.token, overall, {"quality": quality, "price": price})
    result = services.survey_results("winter")
    assert result["answers"] == 4 and result["invited"] == 4
    assert result["attributes"]["quality"]["mean"] == pytest.approx(4.25)
    assert result["attributes"]["price"]["mean"] == pytest.approx(2.0)
    assert result["simple_mean"]["mean"] == pytest.approx((3 + 3 + 3 + 3.5) / 4)
    assert result["weighted_index"]["mean"] == pytest.approx((16 + 14 + 12 + 17) / 4 / 4)
    low, high = result["weighted_index"]["low"], result["weighted_index"]["high"]
    assert low < result["weighted_index"]["mean"] < high


def test_derived_weights_follow_the_attribute_that_moves_the_overall_score(db, members):
    services.create_survey(services.SurveyIn("derived", "d", OPENS, CLOSES, WEIGHTS, weighting="derived"), "mia")
    # quality follows the overall score; price goes against it, which counts as no importance
    answers = [(5, 5, 2), (4, 4, 3), (2, 2, 3), (1, 1, 3), (3, 3, 3)]
    for invitation, (overall, quality, price) in zip(services.invite("derived", 5, seed=5), answers):
        services.answer_survey(invitation.token, overall, {"quality": quality, "price": price})
    weights = {name: row["weight"] for name, row in services.survey_results("derived")["attributes"].items()}
    assert weights == {"quality": pytest.approx(1.0), "price": pytest.approx(0.0)}


def test_results_per_store_and_per_segment(survey, store):
    for number, level in ((1, "VIP"), (2, "small"), (3, "small")):
        member(number, pyramid_level=level)
    for invitation, score in zip(services.invite("winter", 3, seed=2), (5, 3, 4)):
        services.answer_survey(invitation.token, score, {"quality": score, "price": score}, store_id=1)
    by_level = services.survey_results("winter", by="pyramid_level")["by"]["pyramid_level"]
    assert {level: row["simple_mean"]["n"] for level, row in by_level.items()} == {"VIP": 1, "small": 2}
    by_store = services.survey_results("winter", by="store")["by"]["store"]
    assert by_store["1"]["simple_mean"]["n"] == 3
    with pytest.raises(errors.InvalidSurvey):
        services.survey_results("winter", by="shoe_size")
