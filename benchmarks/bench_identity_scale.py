"""Deduplicating synthetic members at scale: ~1M records (seeded generator with known truth:
`identity.synth`, people enrolled up to three times with typos, missing fields, abbreviations and
e-mail variants), the identity model trained without labels and every pair predicted, on DuckDB
with a memory limit. Target: <= 10 minutes and <= 8 GB (peak resident memory of the process);
precision and recall of the automatic links against the truth.

    python benchmarks/bench_identity_scale.py [--people 690000] [--memory-limit 6GB]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clientele.identity import matching, synth  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=690_000, help="People (about 1.45 records each).")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--spill", default="/work/lakes/i22-spill")
    parser.add_argument("--postal-codes", type=int, default=5000)
    parser.add_argument("--auto", type=float, default=0.99)
    args = parser.parse_args()

    import duckdb
    from splink import DuckDBAPI, Linker

    timings = {}
    started = clock = time.perf_counter()
    records = synth.people(args.people, seed=args.seed, n_postal_codes=args.postal_codes)
    timings["generate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    frame = matching.matching_frame(records)
    persons = [r["person"] for r in records]
    del records
    import pyarrow as pa

    frame = frame.append_column("person", pa.array(persons, pa.int64()))
    timings["standardise"] = time.perf_counter() - clock

    os.makedirs(args.spill, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{args.memory_limit}'; SET temp_directory = '{args.spill}'; "
                "SET preserve_insertion_order = false")
    db_api = DuckDBAPI(connection=con)
    records_sdf = db_api.register(frame)
    clock = time.perf_counter()
    linker = matching.train(lambda: Linker(records_sdf, matching.model_settings(), log_level=logging.ERROR),
                            set(matching.FIELDS))
    timings["train"] = time.perf_counter() - clock
    clock = time.perf_counter()
    predicted = linker.inference.predict(threshold_match_probability=0.5)
    table = predicted.physical_name
    timings["predict"] = time.perf_counter() - clock
    scored = con.execute(f"""
        WITH people AS (SELECT unique_id, person FROM frame),
        pairs AS (SELECT p.match_probability, l.person = r.person AS same
                  FROM {table} p JOIN people l ON l.unique_id = p.unique_id_l JOIN people r ON r.unique_id = p.unique_id_r)
        SELECT count(*) FILTER (WHERE match_probability >= {args.auto}),
               count(*) FILTER (WHERE match_probability >= {args.auto} AND same),
               count(*) FILTER (WHERE match_probability < {args.auto} AND match_probability >= 0.8),
               count(*) FILTER (WHERE match_probability < {args.auto} AND match_probability >= 0.8 AND same),
               count(*)
        FROM pairs""").fetchone()
    true_pairs = con.execute("SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM frame GROUP BY person)"
                             ).fetchone()[0]
    auto, tp, review, review_true, total = scored
    precision, recall = tp / max(auto, 1), tp / true_pairs
    result = {"records": frame.num_rows, "people": args.people, "true_pairs": int(true_pairs),
              "pairs_at_0.5": total, "auto_links": auto, "precision": round(precision, 4), "recall": round(recall, 4),
              "f1": round(2 * precision * recall / (precision + recall), 4), "review_pairs": review,
              "true_pairs_in_review": review_true,
              "seconds": {k: round(v, 1) for k, v in timings.items()} | {"total": round(time.perf_counter() - started, 1)},
              "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 2)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
