"""Commands end with one clear sentence and exit code 2 on a user's mistake, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys


def run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLIENTELE_HOME": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "clientele", *args], env=env, capture_output=True, text=True)


def test_a_command_needing_the_database_before_migrate_says_to_migrate(tmp_path):
    done = run(tmp_path, "refresh")
    assert done.returncode == 2
    assert "the operational database is not ready" in done.stderr and "clientele db migrate" in done.stderr
    assert "Traceback" not in done.stderr


def test_importing_a_missing_file_names_it(tmp_path):
    done = run(tmp_path, "import", "transactions", str(tmp_path / "nowhere.csv"))
    assert done.returncode == 2
    assert "nowhere.csv: no such file" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_an_error_naming_a_long_path_keeps_it_whole_on_one_line(tmp_path):
    folder = tmp_path / ("exports-of-the-point-of-sale-system-" * 4) / "[store 364]"
    done = run(tmp_path, "import", "transactions", str(folder / "till-3.csv"))
    assert done.returncode == 2
    assert f"{folder / 'till-3.csv'}: no such file" in done.stderr.splitlines()[0]
