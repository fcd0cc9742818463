"""A step of the night timed on copies of one prepared lake (decision 0140): prepare the 20M lake at N-1 once, then copy it for each try of the night (or full N).

  python benchmarks/night_step_driver.py prep                       # copy, split last day, full refresh N-1 -> /work/lakes/fc/prep
  python benchmarks/night_step_driver.py night <tag> [--profile]    # copy prep, add day N, night refresh; prints cpu per step
  python benchmarks/night_step_driver.py full <tag> [--profile]     # copy prep, add day N, full refresh N with prep's models
"""
import cProfile, importlib.util, json, os, pstats, shutil, subprocess, sys, time
from datetime import date, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_incremental_refresh.py"
spec = importlib.util.spec_from_file_location("bench", BENCH)
bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
SIZE = os.environ.get("FC_SIZE", "20m")  # 20m: /work/lakes/synth-20m; else /work/lakes/fc/synth-<SIZE>
# FC_PREP: another prepared lake (a copy of the prep converted to a branch's state format)
PREP = Path(os.environ.get("FC_PREP") or "/work/lakes/fc/prep" + ("" if SIZE == "20m" else "-" + SIZE))
SOURCE = Path("/work/lakes/synth-20m" if SIZE == "20m" else "/work/lakes/fc/synth-" + SIZE)


def main():
    what = sys.argv[1]
    os.environ.setdefault("CLIENTELE_DUCKDB_MEMORY_LIMIT", "6GB")
    if what == "prep":
        shutil.rmtree(PREP, ignore_errors=True)
        PREP.mkdir(parents=True)
        lake = PREP / "lake"
        shutil.copytree(SOURCE, lake, ignore=shutil.ignore_patterns("results", "READY"))
        print("split", bench.split_last_day(lake))
        os.environ["CLIENTELE_HOME"] = str(PREP)
        from clientele.refresh import refresh
        t = time.process_time()
        refresh(engine="duckdb", lake=lake, refresh_date=bench.REFRESH_DATE - timedelta(days=1), restart=True)
        print("prep cpu", time.process_time() - t)
        models = PREP / "models"; models.mkdir(exist_ok=True)
        for name in ("models.json", "forecast_models.pkl"):
            shutil.copyfile(lake / "results" / "_state" / name, models / name)
        return
    tag = sys.argv[2]
    work = Path(f"/work/lakes/fc/try-{SIZE}-{tag}")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(PREP, work)
    lake = work / "lake"
    month = sorted(p for p in (lake / "basket_lines").iterdir() if p.is_dir())[-1]
    shutil.copyfile(PREP / "new-day.parquet", month / bench.DAY_FILE)
    os.environ["CLIENTELE_HOME"] = str(work)
    from clientele.refresh import refresh
    import clientele.refresh as r
    timers = {}
    if "--timers" in sys.argv:
        import functools
        import clientele.refresh_state as kept
        import ibis.backends.duckdb as ddb
        def wrap(owner, attr, label):
            f = getattr(owner, attr)
            @functools.wraps(f)
            def g(*a, **k):
                t = time.process_time()
                try:
                    return f(*a, **k)
                finally:
                    timers[label] = round(timers.get(label, 0) + time.process_time() - t, 3)
            setattr(owner, attr, g)
        wrap(r._Run, "models", "models")
        wrap(kept, "save_models", "save_models")
        wrap(kept, "load_models", "load_models")
        wrap(r._Run, "customer_history", "customer_history")
        wrap(r, "history_of_state", "history_of_state")
        wrap(r, "features_of_history", "features_of_history")
        wrap(r.nightly, "customer_forecasts", "customer_forecasts")
        wrap(r, "_write_result", "write_result")
        current = {"label": None}
        orig_compile = ddb.Backend.compile
        def compile_(*a, **k):
            t = time.process_time()
            try:
                return orig_compile(*a, **k)
            finally:
                label = f"compile:{current['label']}"
                timers[label] = round(timers.get(label, 0) + time.process_time() - t, 3)
        ddb.Backend.compile = compile_
        wrap(r, "roll_history_state", "roll_expr")
        wrap(r._Run, "_history_recomputed", "history_recomputed")
        orig_write = r._write
        def write(con, table, folder, *a, **k):
            t = time.process_time()
            current["label"] = Path(folder).name
            try:
                return orig_write(con, table, folder, *a, **k)
            finally:
                current["label"] = None
                label = "write:" + Path(folder).name
                timers[label] = round(timers.get(label, 0) + time.process_time() - t, 3)
        r._write = write
    profile = cProfile.Profile() if "--profile" in sys.argv else None
    if profile:
        profile.enable()
    if what == "night":
        res = refresh(engine="duckdb", lake=lake, refresh_date=bench.REFRESH_DATE)
    else:
        res = refresh(engine="duckdb", lake=lake, refresh_date=bench.REFRESH_DATE, restart=True,
                      models=PREP / "models")
    if profile:
        profile.disable()
        profile.dump_stats(f"/work/lakes/fc/prof-{SIZE}-{tag}.out")
    print(json.dumps({"src": r.__file__, "mode": res.mode, "forecasts": res.cpu_seconds.get("forecasts"),
                      "total_cpu": round(sum(res.cpu_seconds.values()), 2), "timers": timers, "cpu": res.cpu_seconds}))
    out = Path(f"/work/lakes/fc/out-{SIZE}-{tag}")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(lake / "results" / "forecasts", out / "forecasts")
    shutil.copytree(lake / "results" / "_state" / "customer_history", out / "customer_history")
    if "--keep" not in sys.argv:
        shutil.rmtree(work, ignore_errors=True)


main()
