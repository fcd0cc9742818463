"""`clientele forecast ...`: lifetime-value and churn models, checked on the CDNOW reference data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from clientele.cli_types import EngineOption

app = typer.Typer(
    help="Forecast customers: purchases to come, churn risk and lifetime value.",
    no_args_is_help=True,
)
console = Console()

PUBLISHED = {
    "bgnbd": {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258},
    "pareto_nbd": {"r": 0.5534, "alpha": 10.58, "s": 0.6061, "beta": 11.66},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44},
}


@app.callback()
def forecast() -> None:
    """Forecast customers: purchases to come, churn risk and lifetime value."""


@app.command("clv")
def clv(
    cohort: Annotated[
        bool, typer.Option("--cohort", help="All 23,570 customers instead of the 2,357 sample.")
    ] = False,
    data: Annotated[
        Optional[Path], typer.Option(help="Folder holding CDNOW_master.txt and CDNOW_sample.txt.")
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option(help="Folder to write figures.csv, tracking.csv and parameters.json to."),
    ] = None,
) -> None:
    """Fit BG/NBD, Pareto/NBD, Gamma-Gamma and the history model on CDNOW (39 weeks to
    1997-09-30) and score their forecasts of the 39-week holdout (to 1998-06-30)."""
    from clientele.forecasting.cdnow import evaluate_on_cdnow

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()) as bar:
        bar.add_task("Fitting the models and forecasting the holdout", total=None)
        figures, tracking, parameters = evaluate_on_cdnow(data, sample=not cohort)

    estimates = Table(title="Parameters (maximum likelihood); published values are for the sample")
    for column in ("model", "parameter", "estimate", "published"):
        estimates.add_column(column, justify="left" if column in ("model", "parameter") else "right")
    for model, values in parameters.items():
        for name, value in values.items():
            estimates.add_row(model, name, f"{value:.4f}", f"{PUBLISHED[model][name]:g}")
    console.print(estimates)

    who = "cohort of 23,570" if cohort else "sample of 2,357"
    console.print(_holdout_table(figures, f"Holdout, 39 weeks, {who} customers"))

    if out:
        out.mkdir(parents=True, exist_ok=True)
        figures.to_csv(out / "figures.csv")
        tracking.to_csv(out / "tracking.csv", index=False)
        (out / "parameters.json").write_text(
            json.dumps({m: v.to_dict() for m, v in parameters.items()}, indent=2)
        )
        console.print(f"[green]Wrote[/] figures.csv, tracking.csv, parameters.json to {out}")


def _holdout_table(figures, title: str) -> Table:
    holdout = Table(title=title)
    for column in ("model", "MAE per customer", "forecast total", "actual total", "churn AUC"):
        holdout.add_column(column, justify="left" if column == "model" else "right")
    for model, row in figures.iterrows():
        holdout.add_row(
            model,
            f"{row['mae']:.4f}",
            f"{row['forecast_total']:,.0f}",
            f"{row['actual_total']:,.0f}",
            f"{row['churn_auc']:.4f}",
        )
    return holdout


@app.command("complete-journey")
def complete_journey(
    calibration_weeks: Annotated[
        int, typer.Option(min=1, help="Weeks from the first basket fitted on; the rest is the holdout.")
    ] = 39,
    engine: EngineOption = None,
) -> None:
    """Fit the models on the lake's first weeks of baskets (--calibration-weeks, 39 by default)
    and score their forecasts of the rest (the time split the nightly forecasts are checked on)."""
    import datetime as dt

    from clientele.analytics.baskets import baskets, last_day
    from clientele.config import settings
    from clientele.engine import connect
    from clientele.forecasting.holdout import holdout_figures
    from clientele.forecasting.nightly import ForecastOptions
    from clientele.lake.reader import basket_lines

    days = baskets(basket_lines(connect(engine), settings().lake_path))
    purchases = days.select(customer_id=days.customer_id, date=days.basket_date, spend=days.spend)
    first = days.basket_date.min().execute()
    first = first if type(first) is dt.date else first.date()
    calibration_end = first + dt.timedelta(weeks=calibration_weeks, days=-1)
    observation_end = last_day(days)
    if observation_end <= calibration_end:
        raise typer.BadParameter(
            f"the lake's baskets end on {observation_end}, inside the calibration period",
            param_hint="--calibration-weeks",
        )
    threshold = ForecastOptions().churn_risk_threshold
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()) as bar:
        bar.add_task("Fitting the models and forecasting the holdout", total=None)
        figures, _ = holdout_figures(
            purchases,
            calibration_end=calibration_end,
            observation_end=observation_end,
            churn_risk_threshold=threshold,
        )
    weeks = (observation_end - calibration_end).days / 7
    console.print(
        _holdout_table(
            figures, f"Holdout {calibration_end + dt.timedelta(days=1)} to {observation_end} ({weeks:.1f} weeks)"
        )
    )
    flag = figures.loc["history_median"]
    console.print(
        f"Churn-risk flag (risk >= {threshold}): {flag['flagged_share']:.1%} of customers flagged; "
        f"{flag['flag_precision']:.1%} of them bought nothing in the holdout; "
        f"{flag['flag_recall']:.1%} of those who bought nothing were flagged."
    )
