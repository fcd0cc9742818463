"""Full Complete Journey import (lake + operational database) and the summary report: time and memory.

    .venv/bin/python benchmarks/bench_import.py

Targets (issue 2): import <= 60 s and <= 4 GB peak; `clientele report summary` <= 2 s.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from _measure import machine, run_measured  # noqa: E402

CLIENTELE = str(Path(sys.executable).parent / "clientele")


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="bench-import-"))
    env = {"CLIENTELE_HOME": str(home)}
    try:
        run_measured([CLIENTELE, "db", "migrate"], env)
        import_wall, import_peak = run_measured([CLIENTELE, "import", "completejourney"], env)
        summary_walls = [run_measured([CLIENTELE, "report", "summary"], env)[0] for _ in range(3)]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    figures = {
        "machine": machine(),
        "import_completejourney_seconds": round(import_wall, 2),
        "import_completejourney_peak_mb": round(import_peak),
        "report_summary_seconds_best_of_3": round(min(summary_walls), 2),
        "report_summary_seconds_all": [round(s, 2) for s in summary_walls],
    }
    table = Table(title="Complete Journey import and summary report")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("import wall time (all tables, lake + DB)", f"{import_wall:.1f} s", "<= 60 s")
    table.add_row("import peak memory", f"{import_peak:,.0f} MB", "<= 4,096 MB")
    table.add_row("report summary (best of 3, whole command)", f"{min(summary_walls):.2f} s", "<= 2 s")
    Console().print(table)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
