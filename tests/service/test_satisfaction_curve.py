"""The satisfaction-loyalty curve from answers and real-looking baskets (pure analytics)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from clientele.analytics import satisfaction


def test_the_curve_counts_who_bought_again_in_the_window_and_the_ratio_of_5s_to_4s():
    answered = date(2017, 6, 1)
    answers = pd.DataFrame({"customer_id": range(1, 41), "answered_on": [answered] * 40,
                            "overall": [5] * 20 + [4] * 20})
    # 12 of the 5s buy within the 4 weeks, 3 of the 4s; one 4 buys only after the window, one before answering
    bought = list(range(1, 13)) + [21, 22, 23]
    baskets = pd.DataFrame(
        [(c, answered + timedelta(days=10), 20.0) for c in bought]
        + [(24, answered + timedelta(days=40), 99.0), (25, answered - timedelta(days=3), 99.0)],
        columns=["customer_id", "basket_date", "spend"])
    result = satisfaction.satisfaction_loyalty_curve(answers, baskets, weeks=4)
    assert (result["curve"][5]["n"], result["curve"][5]["rate"]) == (20, pytest.approx(0.6))
    assert result["curve"][4]["rate"] == pytest.approx(0.15)
    assert result["curve"][5]["spend"]["mean"] == pytest.approx(12.0)
    assert result["five_to_four"]["ratio"] == pytest.approx(4.0)
    assert result["five_to_four"]["low"] < 4.0 < result["five_to_four"]["high"]
    assert result["curve"][1]["n"] == 0


def test_a_rate_interval_is_within_0_and_1_even_at_the_edges():
    assert satisfaction.rate_interval(0, 10)["low"] == pytest.approx(0, abs=1e-12)
    every = satisfaction.rate_interval(10, 10)
    assert every["rate"] == 1 and 0.6 < every["low"] < 1 and every["high"] == pytest.approx(1)
