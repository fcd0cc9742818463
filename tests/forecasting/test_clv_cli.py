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
    tracking = pd.read_csv(tmp_path / "tracking.csv")
    assert list(tracking.columns) == ["week", "actual", "bgnbd", "pareto_nbd"]
    assert tracking["week"].tolist() == list(range(1, 40))
    assert tracking["actual"].iloc[-1] == 1882
    parameters = json.loads((tmp_path / "parameters.json").read_text())
    assert round(parameters["gamma_gamma"]["p"], 2) == 6.25
