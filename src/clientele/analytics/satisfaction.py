"""Satisfaction surveys measured (seed 001): attribute scores as a simple mean and as an
importance-weighted index, with intervals; and the satisfaction-loyalty curve, the repurchase rate
and spend that follow each overall score, from the real baskets.

Pure pandas and numpy over small per-answer tables: a survey has thousands of answers, not the
lake's millions of lines (the baskets are filtered to the answering customers by the caller).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z95 = 1.959964


def mean_interval(values: pd.Series) -> dict:
    """The mean of `values` with its 95% interval (normal approximation) and the count."""
    n = int(values.count())
    mean = float(values.mean()) if n else math.nan
    half = Z95 * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": mean, "low": mean - half, "high": mean + half}


def rate_interval(successes: int, n: int) -> dict:
    """A proportion with its 95% Wilson interval (sound near 0 and 1 and for small counts)."""
    if n == 0:
        return {"n": 0, "rate": math.nan, "low": math.nan, "high": math.nan}
    p = successes / n
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    return {"n": n, "rate": p, "low": centre - half, "high": centre + half}


def derived_weights(ratings: pd.DataFrame, overall: pd.Series) -> dict[str, float]:
    """Importance derived from the answers: each attribute's correlation with the overall score
    (an attribute that moves the overall score matters), negatives counted as 0, scaled to sum 1.
    `ratings`: one column per attribute, one row per answer; `overall`: the overall score."""
    correlations = {name: ratings[name].corr(overall) for name in ratings.columns}
    clipped = {name: max(0.0, 0.0 if math.isnan(value) else value) for name, value in correlations.items()}
    total = sum(clipped.values())
    if total == 0:
        return {name: 1 / len(clipped) for name in clipped}
    return {name: value / total for name, value in clipped.items()}


def attribute_scores(ratings: pd.DataFrame, weights: dict[str, float]) -> dict:
    """Per attribute its mean with interval; per answer the simple mean of its attributes and the
    importance-weighted index (sum of weight x score over sum of weights), each averaged over the
    answers with its interval. `ratings`: one row per answer, one column per attribute (1-5)."""
    total_weight = sum(weights.values())
    simple = ratings.mean(axis=1)
    weighted = sum(ratings[name] * weight for name, weight in weights.items()) / total_weight
    return {
        "attributes": {name: mean_interval(ratings[name]) | {"weight": weights[name] / total_weight}
                       for name in ratings.columns},
        "simple_mean": mean_interval(simple),
        "weighted_index": mean_interval(weighted),
    }


def scores_by_group(ratings: pd.DataFrame, groups: pd.Series, weights: dict[str, float]) -> dict:
    """`attribute_scores` for each value of `groups` (a store, a segment), aligned with `ratings`."""
    return {str(key): attribute_scores(part, weights) for key, part in ratings.groupby(groups.values)}


def satisfaction_loyalty_curve(answers: pd.DataFrame, baskets: pd.DataFrame, weeks: int) -> dict:
    """For each overall score 1-5: how many answered it, the share who bought again within `weeks`
    weeks after answering (with its interval), their mean spend in those weeks (currency units);
    and the ratio of the repurchase rate of 5s to that of 4s with its 95% interval (log method).

    `answers`: customer_id, answered_on (date), overall. `baskets`: customer_id, basket_date, spend."""
    window = answers[["customer_id", "answered_on", "overall"]].reset_index(drop=True)
    window["answer_row"] = window.index
    joined = window.merge(baskets[["customer_id", "basket_date", "spend"]], on="customer_id", how="left")
    after = pd.to_datetime(joined["basket_date"]) - pd.to_datetime(joined["answered_on"])
    inside = (after > pd.Timedelta(0)) & (after <= pd.Timedelta(weeks=weeks))
    per_answer = (joined.assign(spend_after=joined["spend"].where(inside, 0.0).astype(float),
                                bought=inside.astype(int))
                  .groupby("answer_row").agg(spend_after=("spend_after", "sum"), bought=("bought", "max")))
    window = window.join(per_answer)
    curve = {}
    for score in range(1, 6):
        chosen = window[window["overall"] == score]
        curve[score] = rate_interval(int(chosen["bought"].sum()), len(chosen)) | {
            "spend": mean_interval(chosen["spend_after"])}
    return {"weeks": weeks, "curve": curve, "five_to_four": rate_ratio(curve[5], curve[4])}


def rate_ratio(top: dict, bottom: dict) -> dict:
    """The ratio of two rates (`rate_interval`s) with its 95% interval on the log scale."""
    n1, n2 = top["n"], bottom["n"]
    if not n1 or not n2 or not top["rate"] or not bottom["rate"]:
        return {"ratio": math.nan, "low": math.nan, "high": math.nan}
    ratio = top["rate"] / bottom["rate"]
    se = math.sqrt((1 - top["rate"]) / (n1 * top["rate"]) + (1 - bottom["rate"]) / (n2 * bottom["rate"]))
    return {"ratio": ratio, "low": ratio * math.exp(-Z95 * se), "high": ratio * math.exp(Z95 * se)}


def as_plain(value):
    """A result with numpy numbers turned into floats and NaN into None (for JSON)."""
    if isinstance(value, dict):
        return {key: as_plain(item) for key, item in value.items()}
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
