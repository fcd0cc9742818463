"""The night's category_pyramid and brand_loyalty steps alone, timed on one prepared night.

    # once: a copy of the lake, days 1..N-1 refreshed in full, day N put back and the night
    # stopped after category_spend (the steps before category_pyramid that it reads)
    PYTHONPATH=src .venv/bin/python benchmarks/bench_night_category_steps.py prepare \
        --source /work/lakes/synth-20m --work /work/lakes/me/steps-20m/lake
    # each try, in a fresh process: the two steps of the night (and, with --full, written whole)
    PYTHONPATH=src .venv/bin/python benchmarks/bench_night_category_steps.py time --work ...

A try writes only the two steps' results (their deltas, or their bases with --full) and the
results' work folder: the prepared night is left as it was, so tries can alternate two copies
of the code (`PYTHONPATH=<copy>/src`) on two prepared lakes. Prints JSON: CPU s per step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_incremental_refresh import DAY_FILE, REFRESH_DATE, split_last_day  # noqa: E402

STEPS = ("category_pyramid", "brand_loyalty")


class Stop(Exception):
    """Raised by the step after category_spend: the night stops there, resumable."""


def prepare(source: Path, lake: Path) -> None:
    from datetime import timedelta

    from clientele import refresh as refreshing

    shutil.rmtree(lake.parent, ignore_errors=True)
    lake.parent.mkdir(parents=True)
    shutil.copytree(source, lake, ignore=shutil.ignore_patterns("results", "READY"))
    split_last_day(lake)
    refreshing.refresh(engine="duckdb", lake=lake, refresh_date=REFRESH_DATE - timedelta(days=1), restart=True)
    month = sorted(p for p in (lake / "basket_lines").iterdir() if p.is_dir())[-1]
    shutil.copyfile(lake.parent / "new-day.parquet", month / DAY_FILE)
    every = refreshing._steps

    def until_category_spend():
        steps = every()
        at = [name for name, _ in steps].index("category_spend")

        def stop(run):
            raise Stop

        return [*steps[:at + 1], ("stop", stop)]

    refreshing._steps = until_category_spend
    try:
        refreshing.refresh(engine="duckdb", lake=lake, refresh_date=REFRESH_DATE)
    except Stop:
        pass


def time_steps(lake: Path, full: bool) -> dict:
    from clientele.engine import connect
    from clientele.refresh import RefreshOptions, _Run, _write_result

    con = connect("duckdb")
    run = _Run(con, lake, None, RefreshOptions())
    if full:  # as if category_spend were written whole tonight: both steps computed whole
        run.bases["category_spend"] = {}
    figures = {}
    for name in STEPS:
        cpu, wall = time.process_time(), time.perf_counter()
        built = getattr(run, f"{name}_result")()
        _write_result(con, lake, name, built, REFRESH_DATE, run.bases.get(name))
        figures[name] = {"cpu_s": round(time.process_time() - cpu, 2), "wall_s": round(time.perf_counter() - wall, 2),
                         "delta": type(built).__name__ == "ResultDelta"}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=("prepare", "time"))
    parser.add_argument("--source", type=Path, default=Path("/work/lakes/synth-20m"))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--full", action="store_true", help="time the two steps written whole")
    args = parser.parse_args()
    os.environ.setdefault("CLIENTELE_HOME", str(args.work.resolve().parent))
    os.environ.setdefault("CLIENTELE_DUCKDB_MEMORY_LIMIT", "6GB")
    if args.task == "prepare":
        prepare(args.source, args.work.resolve())
        return
    from clientele.analytics.results import DELTAS

    lake = args.work.resolve()
    saved = {}
    for name in STEPS:  # the prepared night's own results, put back after the try
        saved[name] = [p for p in (lake / "results" / name, lake / "results" / DELTAS / name) if p.exists()]
    keep = lake.parent / "kept-results"
    if not keep.exists():
        keep.mkdir()
        for name in STEPS:
            for path in saved[name]:
                shutil.copytree(path, keep / path.relative_to(lake / "results"))
    figures = time_steps(lake, args.full)
    for name in STEPS:
        for folder in (lake / "results" / name, lake / "results" / DELTAS / name):
            shutil.rmtree(folder, ignore_errors=True)
            if (keep / folder.relative_to(lake / "results")).exists():
                shutil.copytree(keep / folder.relative_to(lake / "results"), folder)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
