"""Next-basket and next-purchase figures on the full Complete Journey.

Prints, averaged over the seeds: Recall@10/20 and NDCG@10/20 (overall, repeat, explore) of
P-TopFreq, GP-TopFreq, TIFU-KNN and the Clientele ranker (Li et al. 2023 protocol), the ranker's
gain over TIFU-KNN, the harness's wall time, and the next visit / next purchase day errors of the
forecast made on the cutoff date.

    .venv/bin/python benchmarks/bench_next_basket.py [--seeds 3] [--cutoff 2017-10-01] [--visit-date]
"""

from __future__ import annotations

import argparse
import platform
import time

import pandas as pd

from clientele.forecasting.nbr_evaluation import evaluate_next_basket, load_complete_journey
from clientele.forecasting.next_purchase import next_purchase_holdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cutoff", default="2017-10-01")
    parser.add_argument("--visit-date", action="store_true", help="also the ranker told the basket's date")
    arguments = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"{time.strftime('%Y-%m-%d')} on {platform.processor() or platform.machine()}, seeds 0..{arguments.seeds - 1}")
    lines = load_complete_journey()
    evaluation = evaluate_next_basket(lines, seeds=tuple(range(arguments.seeds)), with_visit_date=arguments.visit_date)
    print(evaluation.summary.T.round(4).to_string())
    gain = evaluation.improvement_over("TIFU-KNN")
    print(f"ranker vs TIFU-KNN: recall@10 {gain['recall@10']:+.1f}%  ndcg@10 {gain['ndcg@10']:+.1f}%")
    print(f"settings chosen on validation: {evaluation.chosen_settings}")
    print(f"harness wall time: {evaluation.seconds:.0f} s")
    started = time.perf_counter()
    for figure, value in next_purchase_holdout(lines, arguments.cutoff).items():
        print(f"{figure}: {value:,.3f}")
    print(f"holdout wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
