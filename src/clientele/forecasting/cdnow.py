"""The CDNOW data set: the reference on which lifetime-value models are checked.

CDNOW is the cohort of 23,570 customers who made their first purchase at the CD retailer CDNOW in
the first quarter of 1997, followed to the end of June 1998 (Fader and Hardie). The usual split is
a 39-week calibration period to 1997-09-30 and a 39-week holdout to 1998-06-30. The published
"sample" is 2,357 of those customers (one in ten).

The files come from the `lifetimes` package's wheel (`lifetimes/datasets/CDNOW_master.txt` and
`CDNOW_sample.txt`); lifetimes itself is not a dependency. A copy lives in tests/forecasting/data.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from clientele.errors import ClienteleError
from clientele.forecasting.summary import calibration_holdout_summary

MASTER_FILE = "CDNOW_master.txt"
SAMPLE_FILE = "CDNOW_sample.txt"
CALIBRATION_END = dt.date(1997, 9, 30)
OBSERVATION_END = dt.date(1998, 6, 30)

# The repository's copy, used when no folder is given (a source checkout, as in the tests).
_REPOSITORY_COPY = Path(__file__).resolve().parents[3] / "tests" / "forecasting" / "data"


class CdnowDataMissing(ClienteleError):
    """The CDNOW files are not where we looked."""

    code = "cdnow_missing"


def locate_cdnow(folder: Path | None = None) -> Path:
    """The folder holding CDNOW_master.txt: `folder` if given, else the repository's test data,
    else an installed lifetimes package's datasets folder (read as plain files, never imported)."""
    candidates = [folder] if folder else [_REPOSITORY_COPY]
    if folder is None:
        spec = importlib.util.find_spec("lifetimes")
        if spec and spec.submodule_search_locations:
            candidates += [Path(p) / "datasets" for p in spec.submodule_search_locations]
    for candidate in candidates:
        if (Path(candidate) / MASTER_FILE).is_file():
            return Path(candidate)
    raise CdnowDataMissing(
        f"no {MASTER_FILE} in {', '.join(str(c) for c in candidates)}: get it with "
        "`pip download --no-deps lifetimes==0.11.3 -d /tmp/lt` and unzip the wheel's "
        "lifetimes/datasets folder"
    )


def load_cdnow_transactions(folder: Path | None = None, *, sample: bool = False) -> pd.DataFrame:
    """Every CDNOW purchase: `customer_id` (int), `date` (datetime), `cds` (number of CDs) and
    `spend` (US dollars). With `sample=True`, only the 2,357 customers of the published sample."""
    folder = locate_cdnow(folder)
    transactions = pd.read_csv(
        folder / MASTER_FILE,
        sep=r"\s+",
        skiprows=1,
        names=["customer_id", "date", "cds", "spend"],
        dtype={"customer_id": "int64", "date": "str", "cds": "int64", "spend": "float64"},
    )
    transactions["date"] = pd.to_datetime(transactions["date"], format="%Y%m%d")
    if sample:
        transactions = transactions[transactions["customer_id"].isin(sample_customer_ids(folder))]
    return transactions.reset_index(drop=True)


def sample_customer_ids(folder: Path | None = None) -> pd.Index:
    """The master-file ids of the 2,357 customers in the published CDNOW sample."""
    folder = locate_cdnow(folder)
    sample = pd.read_csv(folder / SAMPLE_FILE, sep=r"\s+", header=None, usecols=[0], names=["id"])
    return pd.Index(sample["id"].unique(), name="customer_id")


def cdnow_summary(folder: Path | None = None, *, sample: bool = True) -> pd.DataFrame:
    """The standard CDNOW calibration (to 1997-09-30) and holdout (to 1998-06-30) summary, in
    weeks, one row per customer (see `calibration_holdout_summary` for the columns)."""
    return calibration_holdout_summary(
        load_cdnow_transactions(folder, sample=sample),
        calibration_end=CALIBRATION_END,
        observation_end=OBSERVATION_END,
    )


def churn_auc(bought_in_holdout: pd.Series, score: pd.Series) -> float:
    """Area under the ROC curve (0.5 = guessing, 1 = perfect) of `score` for telling apart the
    customers who bought in the holdout from those who churned (no purchase)."""
    bought = bought_in_holdout.to_numpy(bool)
    ranks = stats.rankdata(score.reindex(bought_in_holdout.index).to_numpy())
    buyers, churned = bought.sum(), (~bought).sum()
    return float((ranks[bought].sum() - buyers * (buyers + 1) / 2) / (buyers * churned))


def weekly_tracking(transactions: pd.DataFrame, forecasts: dict[str, object]) -> pd.DataFrame:
    """Cumulative repeat purchase days of the cohort, week by week through the holdout: column
    `actual` and one column per model in `forecasts` (name -> model with expected_purchases)."""
    weeks = np.arange(1, int((OBSERVATION_END - CALIBRATION_END).days / 7) + 1)
    days = transactions.assign(day=transactions["date"].dt.normalize())[["customer_id", "day"]]
    holdout_days = days.drop_duplicates()
    holdout_days = holdout_days[holdout_days["day"] > pd.Timestamp(CALIBRATION_END)]
    week = np.ceil((holdout_days["day"] - pd.Timestamp(CALIBRATION_END)).dt.days / 7).astype(int)
    tracking = pd.DataFrame({"week": weeks})
    tracking["actual"] = np.cumsum(np.bincount(week, minlength=weeks.max() + 1)[1:])
    for name, model in forecasts.items():
        tracking[name] = [model.expected_purchases(t=float(w)).sum() for w in weeks]
    return tracking


def evaluate_on_cdnow(
    folder: Path | None = None, *, sample: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.Series]]:
    """The models on the standard CDNOW split: (one row per model with its holdout figures, the
    weekly cumulative tracking, each model's parameter estimates).

    Figures per model: `mae` (mean absolute error of each customer's holdout purchase days),
    `forecast_total` and `actual_total` (holdout purchase days of the cohort), `churn_auc` (how well
    the forecast ranks buyers above customers with no holdout purchase).
    """
    from clientele.forecasting.beta_geo import BetaGeoModel
    from clientele.forecasting.churn import HistoryModel
    from clientele.forecasting.gamma_gamma import GammaGammaModel
    from clientele.forecasting.pareto_nbd import ParetoNBDModel

    transactions = load_cdnow_transactions(folder, sample=sample)
    summary = calibration_holdout_summary(
        transactions, calibration_end=CALIBRATION_END, observation_end=OBSERVATION_END
    )
    horizon = summary["duration_holdout"].iloc[0]
    actual = summary["frequency_holdout"]
    bgnbd = BetaGeoModel(summary).fit()
    pareto_nbd = ParetoNBDModel(summary).fit()
    spend = GammaGammaModel(summary).fit()
    history_model = HistoryModel(transactions, calibration_end=CALIBRATION_END).fit()
    forecasts = {
        "bgnbd": bgnbd.expected_purchases(t=horizon),
        "pareto_nbd": pareto_nbd.expected_purchases(t=horizon),
        "history_mean": history_model.expected_purchases(t=horizon),
        "history_median": history_model.median_purchases(t=horizon),
    }
    churn_scores = dict(forecasts, history_median=-history_model.expected_churn_risk(t=horizon))
    figures = pd.DataFrame(
        {
            "mae": {n: float((f - actual).abs().mean()) for n, f in forecasts.items()},
            "forecast_total": {n: float(f.sum()) for n, f in forecasts.items()},
            "actual_total": {n: int(actual.sum()) for n in forecasts},
            "churn_auc": {n: churn_auc(actual > 0, s) for n, s in churn_scores.items()},
        }
    ).rename_axis("model")
    tracking = weekly_tracking(
        transactions, {"bgnbd": bgnbd, "pareto_nbd": pareto_nbd}
    )
    parameters = {
        "bgnbd": bgnbd.params_,
        "pareto_nbd": pareto_nbd.params_,
        "gamma_gamma": spend.params_,
    }
    return figures, tracking, parameters
