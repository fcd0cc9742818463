"""Does the survey analysis recover the effects built into the synthetic answers?

End to end through the service desk on the full Complete Journey: the lake imported (once, into
--home), every household enrolled as a member (SQLite), a survey with seed 001's six attributes and
the generator's stated weights, one invitation per answering household, each answer recorded by
`services.answer_survey`, then `services.survey_results` and `services.satisfaction_loyalty` read
back. The generator (`lake.service_synth`) picks real households and dates their answers from their
real baskets so that the 5s buy again within 4 weeks six times as often as the 4s.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_service_survey.py [--answers 1500] [--seed 1]
Prints the built-in figures and the recovered ones with their 95% intervals side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, time as clock, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench-service")
    args = parser.parse_args()
    os.environ["CLIENTELE_HOME"] = str(args.home)  # read once by clientele.config, below
    os.environ.pop("DATABASE_URL", None)
    database = args.home / "clientele.sqlite3"
    database.unlink(missing_ok=True)

    from clientele.cli import django_setup

    django_setup()
    from django.core.management import call_command

    from clientele.analytics.baskets import baskets
    from clientele.engine import connect
    from clientele.lake.completejourney import import_to_lake
    from clientele.lake.reader import basket_lines
    from clientele.lake.service_synth import ATTRIBUTE_WEIGHTS, survey_answers
    from clientele.lake.store import Lake
    from clientele.members.models import Member
    from clientele.service import services

    started = time.perf_counter()
    lake = args.home / "lake"
    if not (lake / "basket_lines").exists():
        import_to_lake(lake=Lake(lake))
    call_command("migrate", interactive=False, verbosity=0)
    all_baskets = baskets(basket_lines(connect(), lake)).select("customer_id", "basket_date").to_pandas()
    households = sorted(int(c) for c in all_baskets["customer_id"].unique())
    Member.objects.bulk_create(Member(customer_id=c, join_date="2016-12-01") for c in households)
    answers, ratings, truth = survey_answers(all_baskets, args.answers, seed=args.seed)

    services.create_survey(services.SurveyIn(
        "bench", "Complete Journey shoppers", datetime(2017, 1, 1, tzinfo=timezone.utc),
        datetime(2018, 1, 2, tzinfo=timezone.utc), {a: Decimal(str(w)) for a, w in ATTRIBUTE_WEIGHTS.items()}),
        "bench")
    invited = {i.member.customer_id: i.token for i in services.invite(
        "bench", len(answers), among=[int(c) for c in answers["customer_id"]])}
    for row, scores in zip(answers.itertuples(), ratings.itertuples(index=False)):
        services.answer_survey(invited[row.customer_id], int(row.overall),
                               {a: int(s) for a, s in zip(ratings.columns, scores)},
                               at=datetime.combine(row.answered_on, clock(12), tzinfo=timezone.utc))
    results = services.survey_results("bench")
    curve = services.satisfaction_loyalty("bench", weeks=4, lake=lake)
    elapsed = time.perf_counter() - started

    def line(name, built_in, found):
        inside = found["low"] <= built_in <= found["high"]
        value = found.get("mean", found.get("rate", found.get("ratio")))
        print(f"| {name} | {built_in:.4f} | {value:.4f} | [{found['low']:.4f}, {found['high']:.4f}] | "
              f"{'yes' if inside else 'NO'} |")

    print(f"{len(answers)} answers of {len(households)} households, seed {args.seed}, {elapsed:.1f} s in all\n")
    print("| figure | built in | recovered | 95% interval | inside |\n| --- | --- | --- | --- | --- |")
    line("weighted index", truth["weighted_index"], results["weighted_index"])
    line("simple mean", truth["simple_mean"], results["simple_mean"])
    for name, mean in truth["attribute_means"].items():
        line(f"mean {name}", mean, results["attributes"][name])
    for score, rate in truth["rates"].items():
        line(f"repurchase rate of {score}s (4 weeks)", rate, curve["curve"][str(score)] if str(score) in curve["curve"]
             else curve["curve"][score])
    line("ratio 5s to 4s", truth["five_to_four"], curve["five_to_four"])


if __name__ == "__main__":
    sys.exit(main())
