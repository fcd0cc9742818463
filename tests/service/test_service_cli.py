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


def test_the_synthetic_desk_records_complaints_answers_and_exit_reasons_of_real_households(
        db, home, cj_slice_lake, slice_customers, tmp_path):
    from clientele.analytics.baskets import baskets
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines
    from clientele.service.models import Complaint, ExitReason, SurveyAnswer

    import pandas as pd

    home.mkdir(parents=True, exist_ok=True)
    (home / "lake").symlink_to(cj_slice_lake)
    for number in slice_customers:
        member(number, lifecycle_stage="lapsed" if number in (1, 7) else "stability")
    truth = tmp_path / "truth.json"
    made = CliRunner().invoke(app, ["service", "synth", "--complaints", "30", "--answers", "12", "--exit-reasons",
                                    "--seed", "3", "--truth", str(truth)])
    assert made.exit_code == 0, made.output
    assert "Synthetic service-desk data recorded" in made.output and "ratio 5s to 4s" in made.output
    shopped = {(int(c), pd.Timestamp(d).date()) for c, d in baskets(basket_lines(connect(), cj_slice_lake))
               .select("customer_id", "basket_date").to_pandas().itertuples(index=False)}
    complaints = list(Complaint.objects.select_related("member"))
    assert len(complaints) == 30 and all(c.status == "closed" for c in complaints)
    assert all((c.member.customer_id, c.received_at.date()) in shopped for c in complaints)  # on days they shopped
    assert SurveyAnswer.objects.filter(invitation__survey__code="synthetic").count() == 12
    assert sorted(ExitReason.objects.values_list("member__customer_id", flat=True)) == [1, 7]
    assert json.loads(truth.read_text())["five_to_four"] == 6.0


def test_bad_synthetic_options_are_refused_with_a_sentence(db):
    runner = CliRunner()
    for options, said in ((["--answers", "5", "--five-to-four", "10"], "at most 8.33"),
                          (["--complaints", "-1"], "counts of 0 or more"), ([], "nothing to make"),
                          (["--answers", "5", "--weeks", "0"], "--weeks is at least 1")):
        refused = runner.invoke(app, ["service", "synth", *options])
        assert isinstance(refused.exception, ClienteleError) and said in str(refused.exception), refused.output
