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
Also the mean of the per-campaign AUCs, the precision at each campaign's top 1% and the recall at its
top 10% (the share of the redemptions found there: decision 0119's proposed restatement of the
precision target), and what a perfect ranking reaches on each. The lake is the one `make run`
builds (read only).

    .venv/bin/python benchmarks/bench_coupon_targeting.py [--lake var/lake] [--signals cache.parquet]
        [--variant V0|V1|V2|V3] [--report dev|all]

`--signals FILE` keeps the pairs' signals in FILE (computed if absent) to iterate on the model.
Decision 0119's protocol: the development campaigns are the first 60% by start day; `--report dev`
scores and prints only them (to choose among the variants), `--report all` prints all campaigns,
the development ones and the later, held-out ones.
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


#: Share of the campaigns, first by start day, on which decision 0119's variants are chosen.
DEVELOPMENT_SHARE = 0.6


def top_share(table: pd.DataFrame, score: pd.Series, share: float = 0.1) -> pd.Series:
    """The redeemed flags of each campaign's top `share` of pairs by score."""
    top = []
    for _, rows in table.assign(score=score).groupby("campaign_id"):
        n = max(1, int(round(len(rows) * share)))
        top.append(rows.nlargest(n, "score").redeemed)
    return pd.concat(top)


def figures(table: pd.DataFrame, score: pd.Series) -> dict[str, float]:
    """Pooled AUC, mean per-campaign AUC (campaigns with both outcomes), precision at the top 10%
    and 1%, recall at the top 10%."""
    per_campaign = [roc_auc_score(rows.redeemed, score[rows.index]) for _, rows in table.groupby("campaign_id")
                    if 0 < rows.redeemed.sum() < len(rows)]
    top10 = top_share(table, score[table.index])
    return {"auc": roc_auc_score(table.redeemed, score[table.index]), "mean campaign auc": float(np.mean(per_campaign)),
            "precision@10%": float(top10.mean()),
            "precision@1%": float(top_share(table, score[table.index], 0.01).mean()),
            "recall@10%": float(top10.sum() / max(table.redeemed.sum(), 1))}


def ceiling(table: pd.DataFrame, share: float = 0.1) -> tuple[float, float]:
    """The precision and the recall at each campaign's top `share` of a perfect ranking (every
    redeemed pair first)."""
    sizes = table.groupby("campaign_id").redeemed.agg(["size", "sum"])
    top = np.maximum(1, np.round(sizes["size"] * share).astype(int))
    found = np.minimum(sizes["sum"], top).sum()
    return float(found / top.sum()), float(found / max(sizes["sum"].sum(), 1))


def development_campaigns(table: pd.DataFrame) -> list:
    """The first DEVELOPMENT_SHARE of the campaigns by start day (then id)."""
    starts = table.groupby("campaign_id").as_of.first().reset_index().sort_values(["as_of", "campaign_id"])
    return list(starts.campaign_id[:int(len(starts) * DEVELOPMENT_SHARE)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lake", type=Path, default=Path("var/lake"))
    parser.add_argument("--signals", type=Path, help="cache of the pairs' signals (Parquet)")
    parser.add_argument("--variant", choices=sorted(targeting.VARIANTS), help="decision 0119's signals (default the "
                        "product's)")
    parser.add_argument("--report", choices=("dev", "all"), default="all",
                        help="dev: print only the development campaigns' figures (decision 0119)")
    parser.add_argument("--scores", type=Path, help="keep the model's scores in FILE (Parquet); with --report dev "
                        "the held-out campaigns are scored after the development figures are printed, unprinted")
    parser.add_argument("--bags", type=int, default=targeting.BAGS, help="models averaged per day (the product's "
                        f"{targeting.BAGS}; fewer to compare variants on a loaded machine)")
    parser.add_argument("--from-scores", action="store_true", help="read the model's scores from --scores, "
                        "train nothing")
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
    development = development_campaigns(table)
    print(f"variant {args.variant or 'product'}; development campaigns (first {DEVELOPMENT_SHARE:.0%} by start): "
          f"{development}")
    scored = table[table.campaign_id.isin(development)] if args.report == "dev" else table
    features = targeting.VARIANTS[args.variant] if args.variant else None
    targeting.BAGS = args.bags
    print(f"{args.bags} model(s) averaged per day")
    trained = time.perf_counter()
    if args.from_scores:
        model = pd.read_parquet(args.scores)["score"].reindex(scored.index)
    else:  # the development campaigns first (their models never serve a later day: the same scores as at once)
        model = targeting.score(table, scored[scored.campaign_id.isin(development)], features)
        if args.report == "all":
            model = pd.concat([model, targeting.score(table, table[~table.campaign_id.isin(development)], features)])
        if args.scores:
            model.rename("score").to_frame().to_parquet(args.scores)
    methods = {"popularity": scored.coupon_buyers.astype(float), "bought before": scored.bought_baskets.astype(float),
               "model": model.reindex(scored.index)}
    print(f"model trained and scored in {time.perf_counter() - trained:.0f} s", flush=True)
    subsets = [("development", scored[scored.campaign_id.isin(development)])]
    if args.report == "all":
        subsets = [("all campaigns", table), ("Type A", table[table.campaign_type == "Type A"])] + subsets + [
            ("held out", table[~table.campaign_id.isin(development)]),
            ("held-out A", table[~table.campaign_id.isin(development) & (table.campaign_type == "Type A")])]
    for subset, rows in subsets:
        results = {name: figures(rows, score) for name, score in methods.items()}
        for name, result in results.items():
            print(f"{subset:14s} {name:14s} AUC {result['auc']:.4f}  mean campaign AUC "
                  f"{result['mean campaign auc']:.4f}  precision@10% {result['precision@10%']:.4f}  "
                  f"precision@1% {result['precision@1%']:.4f}  recall@10% {result['recall@10%']:.4f}")
        best = max(results["popularity"]["auc"], results["bought before"]["auc"])
        mine = results["model"]
        perfect, perfect_recall = ceiling(rows)
        print(f"{subset:14s} model - best baseline AUC {mine['auc'] - best:+.4f}; precision@10% x"
              f"{mine['precision@10%'] / max(results['bought before']['precision@10%'], 1e-9):.2f} of bought before; "
              f"recall@10% x{mine['recall@10%'] / max(results['bought before']['recall@10%'], 1e-9):.2f}; "
              f"a perfect ranking's precision@10% {perfect:.4f}, precision@1% {ceiling(rows, 0.01)[0]:.4f}, "
              f"recall@10% {perfect_recall:.4f}; {rows.campaign_id.nunique()} campaigns, {len(rows):,} pairs, "
              f"{rows.redeemed.sum():,} redeemed", flush=True)
    if args.report == "dev" and args.scores and not args.from_scores:  # the held-out campaigns, kept unread
        held_out = targeting.score(table, table[~table.campaign_id.isin(development)], features)
        pd.concat([model, held_out]).rename("score").to_frame().to_parquet(args.scores)
        print(f"held-out campaigns scored into {args.scores} (not printed)")
    print(f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
