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

    Figures per model: see `holdout.holdout_figures`.
    """
    from clientele.forecasting.gamma_gamma import GammaGammaModel
    from clientele.forecasting.holdout import holdout_figures

    transactions = load_cdnow_transactions(folder, sample=sample)
    figures, models = holdout_figures(
        transactions, calibration_end=CALIBRATION_END, observation_end=OBSERVATION_END
    )
    bgnbd, pareto_nbd = models["bgnbd"], models["pareto_nbd"]
    spend = GammaGammaModel(
        calibration_holdout_summary(
            transactions, calibration_end=CALIBRATION_END, observation_end=OBSERVATION_END
        )
    ).fit()
    tracking = weekly_tracking(
        transactions, {"bgnbd": bgnbd, "pareto_nbd": pareto_nbd}
    )
    parameters = {
        "bgnbd": bgnbd.params_,
        "pareto_nbd": pareto_nbd.params_,
        "gamma_gamma": spend.params_,
    }
    return figures, tracking, parameters
