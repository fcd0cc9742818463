"""`clientele campaigns`: a playbook launched and measured from the command line; mistakes in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

from campaign_builders import CUSTOMERS, WINDOW_START, write_baskets
from typer.testing import CliRunner

from clientele.cli import app


def test_launch_the_win_back_playbook_and_measure_it_from_the_cli(lake, members):
    runner = CliRunner()
    created = runner.invoke(app, ["campaigns", "from-playbook", "win-back-at-risk", "--owner", "ana",
                                  "--start", str(WINDOW_START)])
    assert created.exit_code == 0, created.output
    campaign_id = created.output.split()[1]
    launched = runner.invoke(app, ["campaigns", "launch", campaign_id])
    assert launched.exit_code == 0 and "treated" in launched.output
    write_baskets(lake, [(c, WINDOW_START + timedelta(days=c % 20), 25.0 + c % 9) for c in CUSTOMERS])
    measured = runner.invoke(app, ["campaigns", "measure", campaign_id, "--json"])
    assert measured.exit_code == 0, measured.output
    result = json.loads(measured.output)
    assert result["goal_metric"] == "repurchase_rate" and "Intent-to-treat" in result["analysis"]
    shown = runner.invoke(app, ["campaigns", "measure", campaign_id])
    assert "repurchase rate" in shown.output and "95% interval" in shown.output


def test_an_unknown_audience_value_ends_in_one_line_naming_the_valid_values(tmp_path):
    env = {**os.environ, "CLIENTELE_HOME": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "clientele", "db", "migrate"], env=env, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "clientele", "campaigns", "create", "--name", "x", "--owner", "ana",
                           "--audience", "lifecycle=declin", "--goal", "spend", "--target", "0.05",
                           "--start", "2026-12-01", "--end", "2026-12-31"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown lifecycle 'declin'" in done.stderr and "decline" in done.stderr
    assert "Traceback" not in done.stderr
