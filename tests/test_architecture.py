"""The rules of direction: analytics, forecasting and the lake never import Django or the apps."""

from __future__ import annotations

import ast
from pathlib import Path

import clientele

PACKAGE = Path(clientele.__file__).parent
DJANGO_SIDE = ("django", "ninja", "clientele.members", "clientele.loyalty", "clientele.catalog",
               "clientele.offers", "clientele.service", "clientele.backoffice", "clientele.campaigns",
               "clientele.identity", "clientele.privacy", "clientele.portal", "clientele.site")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_analytics_forecasting_and_lake_import_nothing_from_django():
    offenders = []
    for part in ("analytics", "forecasting", "lake"):
        for path in sorted((PACKAGE / part).rglob("*.py")):
            if path.name == "cli.py" or path.name.endswith("_cli.py"):
                continue  # command entry points may start Django; the computations may not
            for module in imported_modules(path):
                if module.split(".")[0] == "django" or module.startswith(DJANGO_SIDE):
                    offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offenders == []


def test_only_config_reads_the_environment():
    readers = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
               if "os.environ[" in path.read_text(encoding="utf-8") or "os.getenv(" in path.read_text(encoding="utf-8")]
    assert readers == []


def test_the_command_starts_without_loading_the_analytics_stack():
    """Every `clientele` command pays its start-up: the heavy libraries load only in the commands
    that compute with them."""
    import subprocess
    import sys

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, clientele.cli; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert [m for m in ("pandas", "ibis", "sklearn", "pyspark", "django") if m in loaded] == []


def test_the_analytics_engine_spills_under_the_clientele_home(home):
    from clientele.engine import connect

    spill = connect("duckdb").raw_sql("SELECT current_setting('temp_directory')").fetchall()[0][0]

    assert spill == str(home.resolve() / "tmp")
