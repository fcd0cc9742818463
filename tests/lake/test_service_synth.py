"""The synthetic service-desk data is built on real households and their real baskets: an answer
said to be followed by a purchase is, one said not to be is not; complaints fall on shopping days."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from clientele.analytics.baskets import baskets
from clientele.engine import connect
from clientele.lake import service_synth
from clientele.lake.reader import basket_lines


@pytest.fixture(scope="module")
def slice_baskets(cj_slice_lake) -> pd.DataFrame:
    return baskets(basket_lines(connect("duckdb"), cj_slice_lake)).select(
        "customer_id", "basket_date", "spend").to_pandas()


def test_each_answer_is_dated_so_that_the_household_buys_again_or_not_as_drawn(slice_baskets):
    effects = service_synth.SurveyEffects(weeks=2)
    answers, ratings, truth = service_synth.survey_answers(slice_baskets, 25, effects, seed=3)
    assert answers["customer_id"].is_unique and set(answers["customer_id"]) <= set(slice_baskets["customer_id"])
    bought = []
    for row in answers.itertuples():
        theirs = pd.to_datetime(slice_baskets.loc[slice_baskets["customer_id"] == row.customer_id, "basket_date"])
        day = pd.Timestamp(row.answered_on)
        assert theirs.min() <= day  # already a customer when answering
        bought.append(bool(((theirs > day) & (theirs <= day + timedelta(weeks=2))).any()))
    from clientele.analytics.satisfaction import satisfaction_loyalty_curve

    curve = satisfaction_loyalty_curve(answers, slice_baskets, weeks=2)["curve"]
    assert sum(curve[s]["n"] * curve[s]["rate"] for s in curve if curve[s]["n"]) == pytest.approx(sum(bought))
    assert ratings.shape == (25, 6) and ratings.isin([1, 2, 3, 4, 5]).all().all()
    assert truth["five_to_four"] == 6.0 and truth["rates"][5] == pytest.approx(6 * truth["rates"][4])


def test_asking_for_more_quiet_households_than_exist_is_refused_clearly(slice_baskets):
    with pytest.raises(ValueError, match="ask for fewer answers"):
        service_synth.survey_answers(slice_baskets, 40, service_synth.SurveyEffects(weeks=26), seed=1)


def test_complaints_fall_on_days_the_household_shopped(slice_baskets):
    made = service_synth.complaints(slice_baskets, 200, seed=2)
    visits = set(zip(slice_baskets["customer_id"], slice_baskets["basket_date"]))
    assert all((c, d) in visits for c, d in zip(made["customer_id"], made["received_on"]))
    assert set(made["cause"]) <= set(service_synth.COMPLAINT_CAUSES)
    assert made["customer_id"].duplicated().sum() > 0  # some complain again
