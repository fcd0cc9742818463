"""How well the purchase and churn models forecast a holdout period: the time split of the issue.

The models are fitted on the purchases up to `calibration_end` and forecast each customer's purchase
days up to `observation_end`; the figures compare those forecasts with what the customers did.
Used for CDNOW (`cdnow.py`) and for the Complete Journey lake (`clientele forecast
complete-journey`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from scipy import stats

from clientele.forecasting.base import ModelFitError, PurchaseModel
from clientele.forecasting.beta_geo import BetaGeoModel
from clientele.forecasting.churn import HistoryModel
from clientele.forecasting.pareto_nbd import ParetoNBDModel
from clientele.forecasting.summary import calibration_holdout_summary


def churn_auc(bought_in_holdout: pd.Series, score: pd.Series) -> float:
    """Area under the ROC curve (0.5 = guessing, 1 = perfect) of `score` for telling apart the
    customers who bought in the holdout from those who churned (no purchase)."""
    bought = bought_in_holdout.to_numpy(bool)
    ranks = stats.rankdata(score.reindex(bought_in_holdout.index).to_numpy())
    buyers, churned = bought.sum(), (~bought).sum()
    return float((ranks[bought].sum() - buyers * (buyers + 1) / 2) / (buyers * churned))


def holdout_figures(
    transactions,
    *,
    calibration_end: dt.date,
    observation_end: dt.date,
    churn_risk_threshold: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, PurchaseModel]]:
    """(One row per model with its holdout figures, the fitted classical models by name).

    `transactions` has `customer_id`, `date` and `spend` (pandas or an Ibis table). Models: BG/NBD,
    Pareto/NBD (left out when the data cannot identify it), and the history model's mean and
    median forecasts. Figures: `mae` (mean absolute error of each customer's holdout purchase
    days), `forecast_total` and `actual_total` (holdout purchase days of all customers),
    `churn_auc` (how well the forecast ranks buyers above customers with no holdout purchase; the
    history median ranks by its churn risk). For the history median also the churn-risk flag at
    `churn_risk_threshold`: `flagged_share` (share of customers flagged), `flag_precision` (share
    of the flagged who bought nothing) and `flag_recall` (share of those who bought nothing who
    were flagged).
    """
    summary = calibration_holdout_summary(
        transactions, calibration_end=calibration_end, observation_end=observation_end
    )
    horizon = summary["duration_holdout"].iloc[0]
    actual = summary["frequency_holdout"]
    models: dict[str, PurchaseModel] = {"bgnbd": BetaGeoModel(summary).fit()}
    try:
        models["pareto_nbd"] = ParetoNBDModel(summary).fit()
    except ModelFitError:
        pass
    history = HistoryModel(transactions, calibration_end=calibration_end).fit()
    forecasts = {name: model.expected_purchases(t=horizon) for name, model in models.items()}
    forecasts["history_mean"] = history.expected_purchases(t=horizon)
    forecasts["history_median"] = history.median_purchases(t=horizon)
    churn_risk = history.expected_churn_risk(t=horizon)
    churn_scores = dict(forecasts, history_median=-churn_risk)
    figures = pd.DataFrame(
        {
            "mae": {n: float((f - actual).abs().mean()) for n, f in forecasts.items()},
            "forecast_total": {n: float(f.sum()) for n, f in forecasts.items()},
            "actual_total": {n: int(actual.sum()) for n in forecasts},
            "churn_auc": {n: churn_auc(actual > 0, s) for n, s in churn_scores.items()},
        }
    ).rename_axis("model")
    flagged, churned = churn_risk >= churn_risk_threshold, actual == 0
    figures.loc["history_median", "flagged_share"] = float(flagged.mean())
    figures.loc["history_median", "flag_precision"] = float(churned[flagged].mean()) if flagged.any() else float("nan")
    figures.loc["history_median", "flag_recall"] = float(flagged[churned].mean()) if churned.any() else float("nan")
    return figures, models
