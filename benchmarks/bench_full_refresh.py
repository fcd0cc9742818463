"""One full refresh of a lake (`restart`, fitting its models, as `clientele refresh --restart`), in
a fresh process: wall seconds, CPU seconds (the process and its threads), peak memory, and each
step's CPU seconds. For issue 24's "a full refresh stays <= 5 minutes and <= 8 GB": run it alone on
the machine (the load averages at its start and end are printed).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_full_refresh.py --lake /work/lakes/lead/pre-100m/lake

--lake: a lake `bench_incremental_refresh.py` has refreshed (its --work), or any lake with basket
lines and products. The child is that benchmark's own (`child("full", ...)`: its refresh date,
DuckDB's memory limit at 6 GB). The last line is JSON for machines.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--memory-limit", default="6GB")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("bench_incremental_refresh", HERE / "bench_incremental_refresh.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    load_start = os.getloadavg()
    figures = bench.child("full", args.lake, args.memory_limit)
    load_end = os.getloadavg()
    table = Table("refresh", "wall s", "CPU s", "peak RSS", "load at start / end", "largest steps by CPU s")
    steps = sorted(figures["cpu_steps"].items(), key=lambda item: -item[1])[:6]
    table.add_row(figures["mode"], f"{figures['wall_s']:.1f}", f"{figures['cpu_s']:.1f}",
                  f"{figures['peak_rss_mb']:,} MB", f"{load_start[0]:.1f} / {load_end[0]:.1f}",
                  ", ".join(f"{name} {cpu}" for name, cpu in steps))
    Console().print(table)
    print(json.dumps(figures | {"loads": {"start": load_start, "end": load_end}}))


if __name__ == "__main__":
    main()
