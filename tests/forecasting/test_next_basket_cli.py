"""Specifications of `clientele evaluate next-basket` (the command's own checks, not the full run)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from clientele.forecasting import nbr_cli


def mounted() -> typer.Typer:
    """The command mounted as the main CLI mounts it."""
    root = typer.Typer()
    root.add_typer(nbr_cli.app, name="evaluate")
    return root


def test_the_command_is_reached_as_evaluate_next_basket():
    result = CliRunner().invoke(mounted(), ["evaluate", "next-basket", "--help"])

    assert result.exit_code == 0
    assert "TIFU-KNN" in result.output


def test_an_output_file_other_than_csv_or_json_is_refused_before_any_work():
    result = CliRunner().invoke(mounted(), ["evaluate", "next-basket", "--out", "results.xlsx"])

    assert result.exit_code == 2
    assert "--out" in result.output
