"""Synthetic service-desk data linked to real households and their real baskets, with effects built
in so the analysis can be checked to recover them (no real complaint or survey data exists).

- Survey answers: each answering household gets an overall score 1-5 (a chosen mix) and a date of
  answer picked from its own basket history so that it did, or did not, buy within the following
  weeks with a chosen probability per score: the 5s buy again `five_to_four` times as often as the 4s
  (seed 001: six). Each attribute's score is the overall score plus a noise that is smaller for the
  attributes that matter more, clipped to 1-5; the true attribute means and weighted index follow
  from that exact distribution.
- Complaints and exit reasons: households and dates drawn from the real baskets, causes and reasons
  from chosen shares.

Pure pandas and numpy (no Django): `baskets` has customer_id, basket_date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

#: the generator's stated importance of seed 001's attributes
ATTRIBUTE_WEIGHTS = {"quality": 0.30, "function": 0.15, "price": 0.20, "service": 0.15, "packaging": 0.05,
                     "taste": 0.15}
#: P(noise = -2, -1, 0, +1, +2) of each attribute's score around the overall score: the attributes
#: that matter more follow it more closely; price is rated below it, packaging above it
NOISE = {"quality": (0.02, 0.13, 0.70, 0.13, 0.02), "function": (0.08, 0.22, 0.40, 0.22, 0.08),
         "price": (0.20, 0.35, 0.35, 0.08, 0.02), "service": (0.08, 0.22, 0.40, 0.22, 0.08),
         "packaging": (0.02, 0.08, 0.30, 0.35, 0.25), "taste": (0.08, 0.22, 0.40, 0.22, 0.08)}
COMPLAINT_CAUSES = {"price": 0.15, "product_quality": 0.30, "service": 0.15, "staff": 0.10, "availability": 0.12,
                    "checkout": 0.08, "policy": 0.05, "other": 0.05}
EXIT_REASONS = {"price": 0.25, "product": 0.15, "service": 0.15, "technology": 0.03, "promotion": 0.10,
                "need": 0.12, "management": 0.05, "policy": 0.05, "other": 0.10}


@dataclass(frozen=True)
class SurveyEffects:
    """The built-in effects: share of each overall score, and each score's chance of buying again
    within `weeks` weeks (the 5s' chance = `five_to_four` x the 4s')."""

    weeks: int = 4
    score_shares: dict = field(default_factory=lambda: {1: 0.05, 2: 0.10, 3: 0.25, 4: 0.35, 5: 0.25})
    rate_four: float = 0.12
    five_to_four: float = 6.0
    lower_rates: dict = field(default_factory=lambda: {1: 0.06, 2: 0.08, 3: 0.10})

    def rates(self) -> dict[int, float]:
        """Each overall score's chance of buying again within the window."""
        return {**self.lower_rates, 4: self.rate_four, 5: self.rate_four * self.five_to_four}


def _answer_days(baskets: pd.DataFrame, weeks: int, first_day, last_day) -> pd.DataFrame:
    """Per household, the days an answer may be dated so that it then buys within `weeks` weeks
    (buy: a basket, the answer dated up to `weeks` weeks before it, after the household's first) or does not (quiet_start,
    quiet_end: a range of days with no basket in the following weeks), inside the data."""
    window = timedelta(weeks=weeks)
    days = baskets[["customer_id", "basket_date"]].drop_duplicates().sort_values(["customer_id", "basket_date"])
    days["basket_date"] = pd.to_datetime(days["basket_date"])
    days["next_day"] = days.groupby("customer_id")["basket_date"].shift(-1)
    days["quiet_end"] = (days["next_day"].fillna(pd.Timestamp(last_day) + window + timedelta(days=1))
                         - window - timedelta(days=1)).clip(upper=pd.Timestamp(last_day) - window)
    quiet = days[days["quiet_end"] >= days["basket_date"]]
    first = days.groupby("customer_id")["basket_date"].transform("min")
    buy = days[days["basket_date"] > first + window]  # an answer day before it is after their first basket
    return quiet[["customer_id", "basket_date", "quiet_end"]], buy[["customer_id", "basket_date"]]


def survey_answers(baskets: pd.DataFrame, answers: int, effects: SurveyEffects = SurveyEffects(),
                   seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """`answers` synthetic survey answers of distinct real households, with the effects built in.

    Returns (answers: customer_id, answered_on, overall; ratings: one column per attribute of
    ATTRIBUTE_WEIGHTS, same rows; truth: the built-in repurchase rates, their 5-to-4 ratio, the true
    attribute means and weighted index of the generator)."""
    rng = np.random.default_rng(seed)
    first_day, last_day = pd.to_datetime(baskets["basket_date"]).min(), pd.to_datetime(baskets["basket_date"]).max()
    quiet, buy = _answer_days(baskets, effects.weeks, first_day, last_day)
    shares, rates = effects.score_shares, effects.rates()
    scores = rng.choice(list(shares), size=answers, p=list(shares.values()))
    buys_again = rng.random(answers) < np.array([rates[s] for s in scores])
    quiet_households = rng.permutation(quiet["customer_id"].unique())
    if (~buys_again).sum() > len(quiet_households):
        raise ValueError(f"only {len(quiet_households)} households have a quiet spell of {effects.weeks} weeks: "
                         f"ask for fewer answers than {answers}")
    quiet_ones = quiet_households[:(~buys_again).sum()]
    households = np.empty(answers, dtype=np.int64)
    households[~buys_again] = quiet_ones
    households[buys_again] = rng.choice(np.setdiff1d(buy["customer_id"].unique(), quiet_ones),
                                        size=buys_again.sum(), replace=False)
    answered_on = [_quiet_day(quiet, h, rng) if not again else _buy_day(buy, h, effects.weeks, rng)
                   for h, again in zip(households, buys_again)]
    table = pd.DataFrame({"customer_id": households, "answered_on": answered_on, "overall": scores})
    ratings, true_means = _ratings(scores, rng)
    weighted = sum(ATTRIBUTE_WEIGHTS[a] * true_means[a] for a in ATTRIBUTE_WEIGHTS) / sum(ATTRIBUTE_WEIGHTS.values())
    truth = {"rates": rates, "five_to_four": effects.five_to_four, "attribute_means": true_means,
             "weighted_index": weighted, "simple_mean": sum(true_means.values()) / len(true_means)}
    return table, ratings, truth


def _quiet_day(quiet: pd.DataFrame, household: int, rng: np.random.Generator):
    spells = quiet[quiet["customer_id"] == household]
    spell = spells.iloc[rng.integers(len(spells))]
    span = (spell["quiet_end"] - spell["basket_date"]).days
    return (spell["basket_date"] + timedelta(days=int(rng.integers(span + 1)))).date()


def _buy_day(buy: pd.DataFrame, household: int, weeks: int, rng: np.random.Generator):
    days = buy.loc[buy["customer_id"] == household, "basket_date"]
    day = days.iloc[rng.integers(len(days))]
    return (day - timedelta(days=int(rng.integers(1, weeks * 7 + 1)))).date()


def _ratings(scores: np.ndarray, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, float]]:
    """Attribute scores around the overall ones, and each attribute's true mean (the exact
    expectation given the score mix drawn)."""
    noise_values = np.arange(-2, 3)
    columns, means = {}, {}
    mix = np.bincount(scores, minlength=6)[1:] / len(scores)
    for name in ATTRIBUTE_WEIGHTS:
        probabilities = NOISE[name]
        columns[name] = np.clip(scores + rng.choice(noise_values, size=len(scores), p=probabilities), 1, 5)
        means[name] = float(sum(mix[s - 1] * sum(p * min(5, max(1, s + e)) for e, p in zip(noise_values, probabilities))
                                for s in range(1, 6)))
    return pd.DataFrame(columns).astype(float), means


def complaints(baskets: pd.DataFrame, count: int, seed: int = 0, repeat_share: float = 0.3) -> pd.DataFrame:
    """`count` complaints of real households on days they shopped (customer_id, received_on, cause,
    severity): a `repeat_share` of them by households that complain again."""
    rng = np.random.default_rng(seed)
    visits = baskets[["customer_id", "basket_date"]].drop_duplicates().reset_index(drop=True)
    repeaters = visits["customer_id"].drop_duplicates().sample(frac=0.1, random_state=seed)
    repeat_visits = visits[visits["customer_id"].isin(repeaters)].reset_index(drop=True)
    again = int(rng.binomial(count, repeat_share))
    picked = pd.concat([visits.iloc[rng.integers(len(visits), size=count - again)],
                        repeat_visits.iloc[rng.integers(len(repeat_visits), size=again)]])
    picked = picked.sample(frac=1, random_state=seed).reset_index(drop=True)
    return pd.DataFrame({
        "customer_id": picked["customer_id"], "received_on": picked["basket_date"],
        "cause": rng.choice(list(COMPLAINT_CAUSES), size=count, p=list(COMPLAINT_CAUSES.values())),
        "severity": rng.choice(["low", "medium", "high", "critical"], size=count, p=[0.4, 0.35, 0.2, 0.05])})


def exit_reasons(lapsed_customers: list[int], seed: int = 0) -> pd.DataFrame:
    """One exit reason per lapsed household (customer_id, reason), in EXIT_REASONS' shares."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"customer_id": lapsed_customers,
                         "reason": rng.choice(list(EXIT_REASONS), size=len(lapsed_customers),
                                              p=list(EXIT_REASONS.values()))})
