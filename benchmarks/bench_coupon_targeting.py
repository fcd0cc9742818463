"""Coupon targeting on the Complete Journey's real campaigns and redemptions (issue 19).

For each campaign, every pair (targeted household, coupon of the campaign) is scored using only
the baskets and redemptions before the campaign's start, and measured against the real
redemptions of that coupon in that campaign: ROC AUC and precision at the top 10% of pairs (each
campaign's own top 10%), over all campaigns (pairs pooled) and for the personalised Type A
campaigns, for
- popularity: households that bought the coupon's products before the start (everyone's);
- bought before: baskets in which this household bought the coupon's products before the start;
- the model: `clientele.offers.targeting` (one calibrated gradient-boosting model per start day,
  trained on the campaigns that ended before it; before enough redemptions exist, the prior times a
  relative chance fixed beforehand from the coupon habit, "bought before" and redemptions before).
Also the mean of the per-campaign AUCs and the precision at the top 10% a perfect ranking reaches.
The lake is the one `make run` builds (read only).

    .venv/bin/python benchmarks/bench_coupon_targeting.py [--lake var/lake] [--signals cache.parquet]

`--signals FILE` keeps the pairs' signals in FILE (computed if absent) to iterate on the model.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from clientele.offers import targeting


def top_share(table: pd.DataFrame, score: pd.Series) -> pd.Series:
    """The redeemed flags of each campaign's top 10% of pairs by score."""
    top = []
    for _, rows in table.assign(score=score).groupby("campaign_id"):
        n = max(1, int(round(len(rows) * 0.1)))
        top.append(rows.nlargest(n, "score").redeemed)
    return pd.concat(top)


def figures(table: pd.DataFrame, score: pd.Series) -> dict[str, float]:
    """Pooled AUC, mean per-campaign AUC (campaigns with both outcomes) and precision@10%."""
    per_campaign = [roc_auc_score(rows.redeemed, score[rows.index]) for _, rows in table.groupby("campaign_id")
                    if 0 < rows.redeemed.sum() < len(rows)]
    return {"auc": roc_auc_score(table.redeemed, score[table.index]), "mean campaign auc": float(np.mean(per_campaign)),
            "precision@10%": float(top_share(table, score[table.index]).mean())}


def ceiling(table: pd.DataFrame) -> float:
    """The precision at the top 10% of a perfect ranking (every redeemed pair first)."""
    sizes = table.groupby("campaign_id").redeemed.agg(["size", "sum"])
    top = np.maximum(1, np.round(sizes["size"] * 0.1).astype(int))
    return float(np.minimum(sizes["sum"], top).sum() / top.sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lake", type=Path, default=Path("var/lake"))
    parser.add_argument("--signals", type=Path, help="cache of the pairs' signals (Parquet)")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}, lake {args.lake}")
    started = time.perf_counter()
    if args.signals and args.signals.exists():
        table = pd.read_parquet(args.signals)
    else:
        con = targeting.connect(args.lake)
        table = targeting.pair_signals(con, targeting.campaign_pairs(con))
        con.close()
        if args.signals:
            table.to_parquet(args.signals)
    print(f"{len(table):,} pairs, {table.redeemed.sum():,} redeemed, {table.campaign_id.nunique()} campaigns "
          f"(signals {time.perf_counter() - started:.0f} s)", flush=True)
    trained = time.perf_counter()
    methods = {"popularity": table.coupon_buyers.astype(float), "bought before": table.bought_baskets.astype(float),
               "model": targeting.score(table, table)}
    print(f"model trained and scored in {time.perf_counter() - trained:.0f} s")
    for subset, rows in (("all campaigns", table), ("Type A", table[table.campaign_type == "Type A"])):
        results = {name: figures(rows, score) for name, score in methods.items()}
        for name, result in results.items():
            print(f"{subset:14s} {name:14s} AUC {result['auc']:.4f}  mean campaign AUC "
                  f"{result['mean campaign auc']:.4f}  precision@10% {result['precision@10%']:.4f}")
        best = max(results["popularity"]["auc"], results["bought before"]["auc"])
        model = results["model"]
        print(f"{subset:14s} model - best baseline AUC {model['auc'] - best:+.4f}; precision@10% x"
              f"{model['precision@10%'] / max(results['bought before']['precision@10%'], 1e-9):.2f} of bought before; "
              f"a perfect ranking's precision@10% {ceiling(rows):.4f}")
    print(f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
