"""The lift estimators against hand-computed and published examples."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from clientele.analytics.campaign_measure import measure
from clientele.analytics.holdout_draw import single_holdout, stratified_holdout, uniform_draws
from clientele.analytics.lift import (cuped_lift, mean_lift, rate_lift, roi, sentence, stratified_mean_lift,
                                     stratified_rate_lift)


def test_welch_interval_of_spend_per_member_by_hand():
    # treated 10, 20, 30, 40 (mean 25, variance 500/3); holdout 10, 20 (mean 15, variance 50)
    # se = sqrt(500/3/4 + 50/2) = 8.165; Welch df = 66.67^2 / (41.67^2/3 + 25^2/1) = 3.692; t(0.975, 3.692) = 2.870
    lift = mean_lift("spend", np.array([10, 20, 30, 40.0]), np.array([10, 20.0]))
    assert lift.difference == pytest.approx(10.0)
    assert lift.difference_low == pytest.approx(10 - 2.870 * 8.165, abs=0.01)
    assert lift.difference_high == pytest.approx(10 + 2.870 * 8.165, abs=0.01)
    assert lift.relative == pytest.approx(10 / 15)
    assert lift.p_value == pytest.approx(0.2930, abs=1e-4)


def test_newcombe_interval_matches_newcombe_1998_example():
    # Newcombe (1998), Statistics in Medicine 17:873, 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    lift = rate_lift("repurchase_rate", 56, 70, 48, 80)
    assert lift.difference == pytest.approx(0.2)
    assert (round(lift.difference_low, 4), round(lift.difference_high, 4)) == (0.0524, 0.3339)


def test_stratified_rate_with_one_stratum_is_plain_newcombe():
    hit = np.array([True] * 56 + [False] * 14 + [True] * 48 + [False] * 32)
    treated = np.array([True] * 70 + [False] * 80)
    lift = stratified_rate_lift("repurchase_rate", hit, treated, np.zeros(150, dtype=int))
    assert (round(lift.difference_low, 4), round(lift.difference_high, 4)) == (0.0524, 0.3339)
    assert lift.p_value == pytest.approx(rate_lift("repurchase_rate", 56, 70, 48, 80).p_value)


def test_stratified_rate_weights_strata_by_size_and_narrows_the_interval():
    # two strata of 100 members (90 treated, 10 holdout): rates 0.9 / 0.8 in one, 0.2 / 0.1 in the
    # other; weighted: treated 0.55, holdout 0.45; the strata explain most of the spread, so the
    # interval is narrower than Newcombe's ignoring them
    def stratum(treated_hits, holdout_hits):
        return ([True] * treated_hits + [False] * (90 - treated_hits) + [True] * holdout_hits
                + [False] * (10 - holdout_hits), [True] * 90 + [False] * 10)
    hit_a, treated_a = stratum(81, 8)
    hit_b, treated_b = stratum(18, 1)
    hit, treated = np.array(hit_a + hit_b), np.array(treated_a + treated_b)
    strata = np.array([0] * 100 + [1] * 100)
    lift = stratified_rate_lift("repurchase_rate", hit, treated, strata)
    assert (lift.treated, lift.holdout, lift.difference) == pytest.approx((0.55, 0.45, 0.10))
    plain = rate_lift("repurchase_rate", 99, 180, 9, 20)
    assert lift.difference_high - lift.difference_low < plain.difference_high - plain.difference_low
    assert lift.difference_low < 0.10 < lift.difference_high


def test_cuped_removes_what_pre_campaign_spend_explains():
    # every member spends what they spent before, the treated 5 more: the adjusted difference is
    # exactly 5 with no spread, while the plain interval is wide
    pre = np.array([10, 20, 30, 40, 10, 20, 30, 40.0])
    treated = np.array([True] * 4 + [False] * 4)
    outcome = pre + 5 * treated
    adjusted = cuped_lift("spend", outcome, pre, treated)
    plain = mean_lift("spend", outcome[treated], outcome[~treated])
    assert adjusted.difference == pytest.approx(5.0)
    assert adjusted.difference_high - adjusted.difference_low == pytest.approx(0.0, abs=1e-9)
    assert plain.difference_high - plain.difference_low > 20


def test_roi_is_incremental_margin_less_costs_over_costs():
    lift = mean_lift("spend", np.array([10, 20, 30, 40.0]), np.array([10, 20.0]))
    result = roi(lift, treated_n=1000, margin_rate=0.3, costs=1000.0)
    assert result.incremental_revenue == pytest.approx(10_000)
    assert result.incremental_margin == pytest.approx(3_000)
    assert result.roi == pytest.approx(2.0)
    assert result.roi_low == pytest.approx((lift.difference_low * 1000 * 0.3 - 1000) / 1000)


def test_the_sentence_a_marketer_reads():
    lift = mean_lift("spend", np.array([10, 20, 30, 40.0]), np.array([10, 20.0]))
    text = sentence(lift, "spend per member", 0.05)
    assert text.startswith("spend per member rose 66.7% (95% interval -71.1% to 204.4%), the goal was 5.0%")
    assert "not distinguishable from no effect" in text


def test_measure_reports_every_metric_per_stratum_and_the_goal_progress():
    outcomes = pa.table({
        "customer_id": list(range(1, 9)), "treated": [True] * 4 + [False] * 4, "stratum": ["a", "b"] * 4,
        "spend": [15, 25, 35, 45, 10, 20, 30, 40.0], "visits": [1, 1, 2, 2, 1, 0, 2, 1],
        "pre_spend": [10, 20, 30, 40, 10, 20, 30, 40.0], "pre_visits": [1, 1, 1, 1, 1, 0, 1, 1],
    })
    result = measure(outcomes, "spend", 0.05, redeemers={1, 2}, margin_rate=0.5, costs=10.0)
    assert result.adjusted["spend"].difference == pytest.approx(5.0)
    assert result.progress == pytest.approx((5 / 25) / 0.05)
    assert result.lifts["redemption_rate"].treated == 0.5 and result.lifts["redemption_rate"].holdout == 0
    assert result.lifts["repurchase_rate"].holdout == 0.75
    assert set(result.per_stratum) == {"a", "b"}
    assert result.roi.roi == pytest.approx((5 * 4 * 0.5 - 10) / 10)
    assert result.sentences[0].startswith("spend per member rose 20.0%")


def test_holdout_draws_are_stable_and_uniform():
    ids = np.arange(1, 200_001)
    draws = uniform_draws(7, ids)
    assert np.array_equal(draws, uniform_draws(7, ids[::-1])[::-1])  # order does not matter
    assert abs(draws.mean() - 0.5) < 0.01 and (draws < 0.1).mean() == pytest.approx(0.1, abs=0.005)
    held = stratified_holdout(7, ids, ids % 3, 0.1)
    assert held.sum() == sum(int(n * 0.1 + 0.5) for n in np.bincount(ids % 3))
    assert single_holdout(7, 5, 0.1) == bool(draws[4] < 0.1)


def test_a_holdout_drawn_within_strata_is_measured_within_them():
    # stratum a (4 members): treated 10, 12 holdout 8, 10 -> +2; stratum b (6 members): treated 20, 22, 24,
    # 26 holdout 18, 20 -> +4; weighted by size: 0.4 x 2 + 0.6 x 4 = 3.2
    values = np.array([10, 12, 8, 10, 20, 22, 24, 26, 18, 20.0])
    treated = np.array([1, 1, 0, 0, 1, 1, 1, 1, 0, 0], dtype=bool)
    strata = np.array(["a"] * 4 + ["b"] * 6)
    lift = stratified_mean_lift("spend", values, treated, strata)
    assert lift.difference == pytest.approx(3.2)
    variance = 0.4 ** 2 * (2 / 2 + 2 / 2) + 0.6 ** 2 * (20 / 3 / 4 + 2 / 2)
    assert lift.difference_high - lift.difference == pytest.approx(
        stats.t.ppf(0.975, variance ** 2 / ((0.4 ** 2 * 1) ** 2 * 2 + (0.6 ** 2 * 20 / 12) ** 2 / 3 + (0.6 ** 2) ** 2))
        * variance ** 0.5)
    plain = stratified_mean_lift("spend", values, treated, np.zeros(10))
    assert plain.difference == pytest.approx(mean_lift("spend", values[treated], values[~treated]).difference)


def test_cuped_shows_the_groups_as_they_spent_even_when_the_holdout_spent_nothing():
    # at-risk members who bought nothing in the window: the adjusted means can be negative, the
    # groups' spend shown is what they spent (zero), and there is no relative lift over nothing
    pre = np.array([10, 0, 30, 5, 20, 0.0])
    treated = np.array([True, True, True, False, False, False])
    lift = cuped_lift("spend", np.zeros(6), pre, treated)
    assert (lift.treated, lift.holdout, lift.relative) == (0.0, 0.0, None)


def test_no_certain_looking_ratio_when_every_member_of_a_group_churned():
    # every member churned in both groups: the difference has its Newcombe interval; the ratio
    # (Katz, undefined at a rate of 1) is not given, so the sentence cannot claim "0.0% to 0.0%"
    lift = rate_lift("churn_rate", 4, 4, 4, 4)
    assert lift.relative is None and lift.difference_low < 0 < lift.difference_high
    assert "0.0% to 0.0%" not in sentence(lift, "churn rate")
    stratified = stratified_rate_lift("churn_rate", np.ones(8, bool), np.array([True] * 4 + [False] * 4), np.zeros(8))
    assert stratified.relative is None
