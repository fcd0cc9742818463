"""`clientele evaluate next-basket`: how well Clientele predicts next baskets and next purchases.

Mounted by the main CLI with `app.add_typer(nbr_cli.app, name="evaluate")`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from clientele.cli_types import iso_date

if TYPE_CHECKING:  # pandas loads in a second: not on every start of the clientele command
    import pandas as pd


app = typer.Typer(help="Measure the forecasts on the Complete Journey.", no_args_is_help=True)
console = Console()


@app.callback()
def evaluate() -> None:
    """Measure the forecasts on the Complete Journey."""


def _metrics_table(summary: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    table.add_column("method")
    for metric in summary.columns:
        table.add_column(metric, justify="right")
    for method, row in summary.iterrows():
        table.add_row(str(method), *(f"{value:.4f}" for value in row))
    return table


@app.command("next-basket")
def next_basket(
    seeds: Annotated[int, typer.Option(min=1, help="How many random household splits to average (seeds 0..n-1).")] = 3,
    cutoff: Annotated[
        str, typer.Option(callback=lambda value: iso_date(value).isoformat(),
                          help="Date of the next-visit / next-purchase holdout (YYYY-MM-DD): predict from the baskets before it.")
    ] = "2017-10-01",
    out: Annotated[
        Path | None, typer.Option(help="Also write the results: a .csv (one row per seed and method) or a .json file.")
    ] = None,
    visit_date: Annotated[
        bool, typer.Option("--visit-date", help="Also measure a ranker told the date of the basket (doubles the time).")
    ] = False,
) -> None:
    """Next-basket Recall@10/20 and NDCG@10/20 (overall, repeat and explore items) of P-TopFreq,
    GP-TopFreq, TIFU-KNN and the Clientele ranker, with the protocol of Li et al. (2023), and the
    mean absolute error in days of the next visit and next purchase forecasts."""
    if out is not None and out.suffix not in (".csv", ".json"):
        raise typer.BadParameter("--out must end in .csv or .json", param_hint="--out")
    # imported here: scikit-learn takes a second to load, which every other command would pay
    from clientele.forecasting.nbr_evaluation import evaluate_next_basket, load_complete_journey
    from clientele.forecasting.next_purchase import next_purchase_holdout

    lines = load_complete_journey()
    with console.status("Evaluating next-basket methods..."):
        evaluation = evaluate_next_basket(lines, seeds=tuple(range(seeds)), with_visit_date=visit_date)
    summary = evaluation.summary
    overall = [c for c in summary.columns if not c.endswith(("_repeat", "_explore"))]
    console.print(_metrics_table(summary[overall], f"Next basket, mean over {seeds} seeds: all items"))
    for part in ("repeat", "explore"):
        columns = [c for c in summary.columns if c.endswith(f"_{part}")]
        console.print(_metrics_table(summary[columns], f"Next basket: {part} items"))
    gain = evaluation.improvement_over("TIFU-KNN")
    console.print(
        f"Clientele ranker vs TIFU-KNN: Recall@10 {gain['recall@10']:+.1f}%, NDCG@10 {gain['ndcg@10']:+.1f}% "
        f"({evaluation.seconds:.0f} s)"
    )
    with console.status("Measuring next visit and next purchase errors..."):
        errors = next_purchase_holdout(lines, cutoff)
    holdout = Table(title=f"Next visit and next purchase, predicted on {cutoff}")
    holdout.add_column("figure")
    holdout.add_column("value", justify="right")
    for name, value in errors.items():
        holdout.add_row(name, f"{value:,.3f}")
    console.print(holdout)
    if out is not None:
        if out.suffix == ".csv":
            evaluation.per_seed.to_csv(out, index=False)
        else:
            out.write_text(
                json.dumps(
                    {
                        "per_seed": evaluation.per_seed.to_dict(orient="records"),
                        "mean": summary.reset_index().to_dict(orient="records"),
                        "chosen_settings": evaluation.chosen_settings,
                        "next_purchase_holdout": {"cutoff": cutoff, **errors},
                        "seconds": evaluation.seconds,
                    },
                    indent=2,
                )
            )
        console.print(f"Written to {out}")
