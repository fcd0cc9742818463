"""`clientele forecast clv`: the CDNOW evaluation from the command line."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from clientele.forecasting.cli import app


def test_clv_prints_the_holdout_figures_and_writes_them_for_the_sample(tmp_path):
    result = CliRunner().invoke(app, ["clv", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "churn AUC" in result.output and "0.2426" in result.output

    figures = pd.read_csv(tmp_path / "figures.csv", index_col="model")
    assert set(figures.index) == {"bgnbd", "pareto_nbd", "history_mean", "history_median"}
    assert (figures["actual_total"] == 1882).all()
    assert 0 < figures.loc["history_median", "flag_precision"] <= 1
    tracking = pd.read_csv(tmp_path / "tracking.csv")
    assert list(tracking.columns) == ["week", "actual", "bgnbd", "pareto_nbd"]
    assert tracking["week"].tolist() == list(range(1, 40))
    assert tracking["actual"].iloc[-1] == 1882
    parameters = json.loads((tmp_path / "parameters.json").read_text())
    assert round(parameters["gamma_gamma"]["p"], 2) == 6.25


def test_a_lake_too_small_for_the_time_split_ends_in_one_clear_sentence(cj_slice_lake, tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    shutil.copytree(cj_slice_lake, tmp_path / "var" / "lake")
    env = {**os.environ, "CLIENTELE_HOME": str(tmp_path / "var")}
    env.pop("CLIENTELE_LAKE", None)

    done = subprocess.run(
        [sys.executable, "-m", "clientele", "forecast", "complete-journey"], env=env, capture_output=True, text=True
    )

    assert done.returncode == 2, done.stderr
    assert "cannot identify" in done.stderr and "Traceback" not in done.stderr
