"""`clientele service ...`: a survey defined, members invited with a CSV of links, the results read;
a mistake is a sentence naming the option, not a traceback."""

from __future__ import annotations

import csv
import json

from desk_builders import member
from typer.testing import CliRunner

from clientele.cli import app
from clientele.errors import ClienteleError


def test_a_marketer_defines_a_survey_and_invites_members_from_the_command_line(db, tmp_path):
    for number in range(1, 11):
        member(number)
    runner = CliRunner()
    survey = ["service", "create-survey", "w", "--title", "W", "--closes", "2027-01-01", "--attribute", "quality=3"]
    bad = runner.invoke(app, [*survey, "--opens", "2026-13-01"])
    assert isinstance(bad.exception, ClienteleError) and "--opens: '2026-13-01' is not a date" in str(bad.exception)
    made = runner.invoke(app, [*survey, "--opens", "2026-11-01", "--attribute", "price=1"])
    assert made.exit_code == 0, made.output
    links = tmp_path / "links.csv"
    invited = runner.invoke(app, ["service", "invite", "w", "--sample", "4", "--links", str(links), "--seed", "1"])
    assert invited.exit_code == 0, invited.output
    rows = list(csv.DictReader(links.open()))
    assert len(rows) == 4 and all(row["link"].startswith("http://127.0.0.1:8000/survey/") for row in rows)
    assert json.loads(runner.invoke(app, ["service", "results", "w"]).output)["invited"] == 4
    unknown = runner.invoke(app, ["service", "results", "nope"])
    assert "no survey 'nope'" in str(unknown.exception)
