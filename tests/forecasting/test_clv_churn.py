"""The history churn and purchase model on the CDNOW sample, trained honestly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clientele.forecasting.beta_geo import BetaGeoModel
from clientele.forecasting.cdnow import CALIBRATION_END, cdnow_summary, load_cdnow_transactions
from clientele.forecasting.churn import HistoryModel, as_summary, history_features
from clientele.forecasting.summary import summarise_transactions
from clientele.forecasting.gamma_gamma import GammaGammaModel
from clientele.forecasting.holdout import churn_auc
from clientele.forecasting.pareto_nbd import ParetoNBDModel

HOLDOUT_WEEKS = 39


@pytest.fixture(scope="module")
def transactions():
    return load_cdnow_transactions(sample=True)


@pytest.fixture(scope="module")
def sample():
    return cdnow_summary(sample=True)


@pytest.fixture(scope="module")
def history(transactions):
    return HistoryModel(transactions, calibration_end=CALIBRATION_END).fit()


def test_training_never_sees_the_holdout(transactions, history):
    calibration_only = transactions[transactions["date"] <= pd.Timestamp(CALIBRATION_END)]
    blind = HistoryModel(calibration_only, calibration_end=CALIBRATION_END).fit()
    pd.testing.assert_series_equal(
        blind.expected_purchases(t=HOLDOUT_WEEKS), history.expected_purchases(t=HOLDOUT_WEEKS)
    )


def test_forecasts_cover_every_calibration_customer_and_are_sane(sample, history):
    risk = history.expected_churn_risk(t=HOLDOUT_WEEKS)
    purchases = history.expected_purchases(t=HOLDOUT_WEEKS)
    median = history.median_purchases(t=HOLDOUT_WEEKS)
    for forecast in (risk, purchases, median):
        assert forecast.index.equals(sample.index)
        assert np.isfinite(forecast).all()
    assert ((risk > 0) & (risk < 1)).all()
    assert (median == np.round(median)).all() and (median >= 0).all()


def test_median_forecast_has_lower_holdout_error_than_pareto_nbd(sample, history):
    actual = sample["frequency_holdout"]
    pareto_nbd = ParetoNBDModel(sample).fit().expected_purchases(t=HOLDOUT_WEEKS)
    history_error = (history.median_purchases(t=HOLDOUT_WEEKS) - actual).abs().mean()
    assert history_error < (pareto_nbd - actual).abs().mean()


def test_churn_risk_ranks_holdout_churners_better_than_pareto_nbd(sample, history):
    bought = sample["frequency_holdout"] > 0
    pareto_nbd = ParetoNBDModel(sample).fit().expected_purchases(t=HOLDOUT_WEEKS)
    history_auc = churn_auc(bought, -history.expected_churn_risk(t=HOLDOUT_WEEKS))
    assert history_auc > churn_auc(bought, pareto_nbd)


def test_a_model_fitted_on_a_random_subset_still_forecasts_every_customer(sample, transactions, history):
    subset = HistoryModel(transactions, calibration_end=CALIBRATION_END, fit_customers=1500).fit()
    risk = subset.expected_churn_risk(t=HOLDOUT_WEEKS)
    purchases = subset.expected_purchases(t=HOLDOUT_WEEKS)

    assert len(subset.fitting_customers_) == 1500
    assert risk.index.equals(sample.index) and purchases.index.equals(sample.index)
    assert np.isfinite(purchases).all()
    # the few population parameters are pinned down by a subset: who is likely to leave barely moves
    bought = sample["frequency_holdout"] > 0
    assert churn_auc(bought, -risk) > churn_auc(bought, -history.expected_churn_risk(t=HOLDOUT_WEEKS)) - 0.02


def test_the_history_features_carry_the_summary_to_the_last_bit(transactions):
    # the nightly scoring reads the purchases once: the summary it scores with is the features'
    for cutoff in (CALIBRATION_END, CALIBRATION_END - dt.timedelta(weeks=13)):
        summary = summarise_transactions(transactions, observation_end=cutoff)
        carried = as_summary(history_features(transactions, cutoff=cutoff))
        pd.testing.assert_frame_equal(carried, summary[list(carried.columns)], check_exact=True)
        assert (carried["monetary_value"] > 0).any() and (carried["frequency"] == 0).any()


def test_the_value_interval_centres_on_the_expected_value(sample):
    purchases = BetaGeoModel(sample).fit()
    spend = GammaGammaModel(sample[sample["frequency"] > 0]).fit()
    interval = spend.customer_lifetime_value_interval(purchases, sample, method="delta")
    expected = spend.expected_customer_lifetime_value(purchases, sample)
    assert (interval["lifetime_value"].to_numpy() == expected.to_numpy()).all()
