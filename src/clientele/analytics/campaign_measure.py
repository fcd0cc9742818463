"""Measure a campaign over the lake: each assigned member's outcomes, then lift against the holdout.

`member_outcomes` is an Ibis expression (DuckDB or Spark): per assigned member, spend and visits
(distinct baskets) in the measurement window and in the pre-campaign period of the same length
before it. `measure` turns those outcomes (a pyarrow table) into the lifts of `analytics.lift`,
per metric, per stratum and as ROI. No Django here: the operational side passes the assignments,
who redeemed and the costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import ibis
import numpy as np
import pyarrow as pa

from clientele.campaign_metrics import METRICS
from clientele.analytics.lift import (Lift, Roi, cuped_lift, mean_lift, roi, sentence, stratified_mean_lift,
                                     stratified_rate_lift)


ASSIGNMENT_SCHEMA = pa.schema([("customer_id", pa.int64()), ("treated", pa.bool_()), ("stratum", pa.string())])


def member_outcomes(lines: ibis.Table, assignments: ibis.Table, window_start: date, window_end: date,
                    pre_days: int) -> ibis.Table:
    """Per assigned member (customer_id, treated, stratum): spend and visits in the window
    [window_start, window_end] and pre_spend, pre_visits in the `pre_days` days before it (zero when
    they did not buy). Spend in currency units (float), visits in baskets."""
    start = datetime.combine(window_start, time())
    end = datetime.combine(window_end + timedelta(days=1), time())
    pre_start = start - timedelta(days=pre_days)
    bought = lines.filter(lines.customer_id.notnull())

    def per_member(since: datetime, until: datetime, prefix: str) -> ibis.Table:
        period = bought.filter((bought.transaction_ts >= since) & (bought.transaction_ts < until))
        return period.group_by("customer_id").aggregate(
            **{f"{prefix}spend": period.sales_value.sum().cast("float64"),
               f"{prefix}visits": period.basket_id.nunique().cast("int64")})

    window = per_member(start, end, "")
    pre = per_member(pre_start, start, "pre_")
    joined = assignments.left_join(window, "customer_id").left_join(pre, "customer_id")
    return joined.select(
        "customer_id", "treated", "stratum",
        spend=joined.spend.fill_null(0.0), visits=joined.visits.fill_null(0),
        pre_spend=joined.pre_spend.fill_null(0.0), pre_visits=joined.pre_visits.fill_null(0),
    )


@dataclass
class Measurement:
    """A campaign's measured effect: lifts per metric (plain and variance-reduced), per stratum,
    the ROI, the goal's progress and the sentences a marketer reads."""

    goal_metric: str
    goal_target: float
    lifts: dict[str, Lift]
    adjusted: dict[str, Lift]
    per_stratum: dict[str, Lift]
    roi: Roi | None
    sentences: list[str] = field(default_factory=list)
    progress: float | None = None

    def as_dict(self) -> dict:
        return {
            "goal_metric": self.goal_metric, "goal_target": self.goal_target, "progress": self.progress,
            "lifts": {name: lift.as_dict() for name, lift in self.lifts.items()},
            "adjusted": {name: lift.as_dict() for name, lift in self.adjusted.items()},
            "per_stratum": {name: lift.as_dict() for name, lift in self.per_stratum.items()},
            "roi": self.roi.as_dict() if self.roi else None, "sentences": self.sentences,
        }


def measure(outcomes: pa.Table, goal_metric: str, goal_target: float, redeemers: set[int] | frozenset = frozenset(),
            margin_rate: float = 0.3, costs: float = 0.0) -> Measurement:
    """The campaign's lifts from the members' outcomes (intent-to-treat: every assigned member).
    `goal_target` is the relative lift aimed at (0.05 = +5%; negative for churn); `redeemers` the
    customer ids who redeemed the campaign's offers in the window; `costs` the offer and contact
    costs in currency units, `margin_rate` the gross margin share of incremental revenue."""
    if goal_metric not in METRICS:
        raise ValueError(f"unknown goal metric {goal_metric!r}; valid: {', '.join(METRICS)}")
    columns = {name: outcomes.column(name).to_numpy(zero_copy_only=False)
               for name in outcomes.column_names if name != "stratum"}
    treated = columns["treated"].astype(bool)
    # the strata as integer codes (labels numbered once by Arrow): millions of members compared as numbers
    labelled = outcomes.column("stratum").cast(pa.string()).fill_null("").dictionary_encode().combine_chunks()
    strata = labelled.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    labels = labelled.dictionary.to_pylist()
    lifts, adjusted = _lifts(columns, treated, strata, redeemers)
    per_stratum = {}
    order = np.argsort(strata, kind="stable")
    bounds = np.searchsorted(strata[order], np.arange(len(labels) + 1))
    for code in sorted(range(len(labels)), key=labels.__getitem__):
        members = order[bounds[code]:bounds[code + 1]]
        in_group = treated[members]
        if in_group.sum() >= 2 and (~in_group).sum() >= 2:
            spend = columns["spend"][members]
            per_stratum[labels[code]] = mean_lift("spend", spend[in_group], spend[~in_group])
    best_spend = adjusted.get("spend", lifts["spend"])
    result_roi = roi(best_spend, int(treated.sum()), margin_rate, costs) if costs > 0 else None
    goal = adjusted.get(goal_metric) or lifts.get(goal_metric)
    if goal is None:
        raise ValueError(f"{METRICS[goal_metric]} cannot be measured: fewer than two members of each group qualify")
    progress = goal.relative / goal_target if goal.relative is not None and goal_target else None
    sentences = [sentence(goal, METRICS[goal_metric], goal_target)]
    sentences += [sentence(adjusted.get(name, lift), METRICS[name]) for name, lift in lifts.items() if name != goal_metric]
    if result_roi and result_roi.roi is not None:
        sentences.append(f"ROI {result_roi.roi:.0%} (95% interval {result_roi.roi_low:.0%} to {result_roi.roi_high:.0%}) "
                         f"on costs of {result_roi.costs:,.2f}")
    return Measurement(goal_metric, goal_target, lifts, adjusted, per_stratum, result_roi, sentences, progress)


def _lifts(columns: dict[str, np.ndarray], treated: np.ndarray, strata: np.ndarray, redeemers) -> tuple[dict, dict]:
    spend, visits = columns["spend"].astype(float), columns["visits"].astype(float)
    bought, bought_before = visits > 0, columns["pre_visits"] > 0
    lifts = {
        "spend": stratified_mean_lift("spend", spend, treated, strata),
        "visits": stratified_mean_lift("visits", visits, treated, strata),
    }
    adjusted = {
        "spend": cuped_lift("spend", spend, columns["pre_spend"], treated, strata),
        "visits": cuped_lift("visits", visits, columns["pre_visits"], treated, strata),
    }
    basket_value = np.divide(spend, visits, out=np.zeros_like(spend), where=bought)
    if (bought & treated).sum() >= 2 and (bought & ~treated).sum() >= 2:
        lifts["basket_value"] = mean_lift("basket_value", basket_value[bought & treated], basket_value[bought & ~treated])
    everyone = np.ones_like(bought)
    lifts["repurchase_rate"] = _rate("repurchase_rate", bought, treated, everyone, strata)
    lifts["churn_rate"] = _rate("churn_rate", ~bought, treated, everyone, strata)
    if (~bought_before & treated).any() and (~bought_before & ~treated).any():
        lifts["reactivation_rate"] = _rate("reactivation_rate", bought, treated, ~bought_before, strata)
    redeemed = np.isin(columns["customer_id"], np.fromiter(redeemers, dtype=np.int64, count=len(redeemers)))
    lifts["redemption_rate"] = _rate("redemption_rate", redeemed, treated, everyone, strata)
    return lifts, adjusted


def _rate(metric: str, hit: np.ndarray, treated: np.ndarray, among: np.ndarray, strata: np.ndarray) -> Lift:
    """A rate's lift among the members `among`, stratified as the holdout was drawn."""
    return stratified_rate_lift(metric, hit[among], treated[among], strata[among])
