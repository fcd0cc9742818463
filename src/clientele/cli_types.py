"""Option types the command groups share, so every command refuses the same bad input the same way:
one line naming the option and what it accepts, exit code 2 (see `clientele.cli.main`)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Optional

import typer


class Engine(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[Optional[Engine], typer.Option(help="duckdb or spark (default CLIENTELE_ENGINE).")]


def iso_date(value: str) -> date:
    """The date written YYYY-MM-DD; BadParameter saying so for anything else."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date written YYYY-MM-DD, such as 2017-12-31") from None
