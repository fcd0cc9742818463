"""Lift of a campaign against its random holdout, with 95% intervals (numpy/scipy, no Django).

Methods (docs/campaigns.md says why):
- a mean per member (spend, visits, basket value): Welch's t interval for the difference of means
  (unequal variances and group sizes, as a 10% holdout has), stratified as the holdout was drawn
  (the strata's differences weighted by their size); the relative lift's interval by the delta
  method on the ratio of the two means;
- a rate (repurchase, churn, reactivation, redemption): Newcombe's hybrid score interval (from the
  two Wilson intervals) for the difference, Katz's log interval for the ratio, and the pooled
  two-proportion z test for the p-value; under a stratified holdout, the same on the stratum-weighted
  rates with their variances (each Wilson interval on its effective size);
- the variance-reduced estimate (CUPED): each member's outcome minus theta x (their pre-campaign
  value minus its mean), theta = cov(outcome, pre) / var(pre) over both groups; then Welch as above.
Intent-to-treat: every assigned member counts, reached or not.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95
_Z = stats.norm.ppf(0.5 + LEVEL / 2)


@dataclass(frozen=True)
class Lift:
    """Treated minus holdout for one metric: the groups' values, the absolute difference and the
    relative lift (difference / holdout value) each with its 95% interval, and the p-value."""

    metric: str
    method: str
    treated: float
    holdout: float
    difference: float
    difference_low: float
    difference_high: float
    relative: float | None
    relative_low: float | None
    relative_high: float | None
    p_value: float
    treated_n: int
    holdout_n: int

    def as_dict(self) -> dict:
        return asdict(self)

    def covers(self, true_relative: float) -> bool:
        """True when the relative interval holds `true_relative`."""
        return self.relative_low is not None and self.relative_low <= true_relative <= self.relative_high


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def stratum_codes(strata) -> np.ndarray:
    """Each member's stratum as an integer code (0, 1, ...): integers kept as they come, labels
    (strings) numbered; only which members share a stratum matters."""
    strata = np.asarray(strata)
    if strata.dtype.kind in "iub":
        _, index = np.unique(strata, return_inverse=True)
    else:
        _, index = np.unique(strata.astype(str), return_inverse=True)
    return index.reshape(-1)


def mean_lift(metric: str, treated: np.ndarray, holdout: np.ndarray, method: str = "Welch t") -> Lift:
    """Lift of a mean per member (Welch's t for the difference, the delta method for the ratio)."""
    treated, holdout = np.asarray(treated, dtype=float), np.asarray(holdout, dtype=float)
    values = np.concatenate([treated, holdout])
    mask = np.concatenate([np.ones(len(treated), bool), np.zeros(len(holdout), bool)])
    return stratified_mean_lift(metric, values, mask, np.zeros(len(values), dtype=np.int64), method)


def stratified_mean_lift(metric: str, values: np.ndarray, treated: np.ndarray, strata: np.ndarray,
                         method: str = "Welch t, stratified") -> Lift:
    """Lift of a mean per member when the holdout was drawn within strata: the difference of means
    in each stratum weighted by the stratum's share of members (strata with fewer than two members
    in a group pooled together), its variance the weighted sum of the strata's Welch variances, the
    degrees of freedom by Satterthwaite; one stratum is plain Welch. Ignoring the strata would give
    intervals wider than they are (the draw already balanced the groups on them)."""
    values, treated = np.asarray(values, dtype=float), np.asarray(treated, dtype=bool)
    nt_all, nc_all = int(treated.sum()), int((~treated).sum())
    if nt_all < 2 or nc_all < 2:
        raise ValueError(f"{metric}: at least two members in each group are needed (treated {nt_all}, holdout {nc_all})")
    index = stratum_codes(strata)
    thin = (np.bincount(index, weights=treated) < 2) | (np.bincount(index, weights=~treated) < 2)
    index = np.where(thin[index], -1, index)
    groups = [(values[(index == s) & treated], values[(index == s) & ~treated]) for s in np.unique(index)]
    groups = [(t, c) for t, c in groups if len(t) >= 2 and len(c) >= 2]  # pooled thin strata still too small
    total = sum(len(t) + len(c) for t, c in groups)
    mean_t = mean_c = var_t = var_c = df_terms = 0.0
    for t, c in groups:
        weight = (len(t) + len(c)) / total
        a_t, a_c = weight ** 2 * t.var(ddof=1) / len(t), weight ** 2 * c.var(ddof=1) / len(c)
        mean_t, mean_c = mean_t + weight * t.mean(), mean_c + weight * c.mean()
        var_t, var_c = var_t + a_t, var_c + a_c
        df_terms += a_t ** 2 / (len(t) - 1) + a_c ** 2 / (len(c) - 1)
    se = math.sqrt(var_t + var_c)
    diff = mean_t - mean_c
    if se == 0:
        low = high = diff
        p = 1.0 if diff == 0 else 0.0
    else:
        df = (var_t + var_c) ** 2 / df_terms
        crit = stats.t.ppf(0.5 + LEVEL / 2, df)
        low, high = diff - crit * se, diff + crit * se
        p = float(2 * stats.t.sf(abs(diff) / se, df))
    relative = relative_low = relative_high = None
    if mean_c > 0:
        relative = diff / mean_c
        se_ratio = math.sqrt(var_t / mean_c ** 2 + mean_t ** 2 * var_c / mean_c ** 4)
        relative_low, relative_high = relative - _Z * se_ratio, relative + _Z * se_ratio
    return Lift(metric, method, float(mean_t), float(mean_c), float(diff), float(low), float(high),
                _nan_to_none(relative), _nan_to_none(relative_low), _nan_to_none(relative_high), p, nt_all, nc_all)


def cuped_lift(metric: str, outcome: np.ndarray, pre: np.ndarray, treated_mask: np.ndarray,
               strata: np.ndarray | None = None) -> Lift:
    """Lift of a mean per member adjusted by each member's pre-campaign value (CUPED), then Welch
    (stratified when `strata` are given). The relative lift is over the holdout's unadjusted mean."""
    outcome, pre = np.asarray(outcome, dtype=float), np.asarray(pre, dtype=float)
    treated_mask = np.asarray(treated_mask, dtype=bool)
    pre_var = pre.var()
    theta = 0.0 if pre_var == 0 else float(np.cov(outcome, pre, ddof=0)[0, 1] / pre_var)
    adjusted = outcome - theta * (pre - pre.mean())
    if strata is None:
        plain = mean_lift(metric, adjusted[treated_mask], adjusted[~treated_mask], method="CUPED + Welch t")
    else:
        plain = stratified_mean_lift(metric, adjusted, treated_mask, strata, method="CUPED + Welch t, stratified")
    holdout_mean = float(outcome[~treated_mask].mean())
    means = {"treated": float(outcome[treated_mask].mean()), "holdout": holdout_mean}  # as spent, not adjusted
    if holdout_mean <= 0:  # no relative lift over nothing
        return Lift(**{**plain.as_dict(), **means, "relative": None, "relative_low": None, "relative_high": None})
    scale = 1 / holdout_mean
    return Lift(**{**plain.as_dict(), **means, "relative": plain.difference * scale,
                   "relative_low": plain.difference_low * scale, "relative_high": plain.difference_high * scale})


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson's 95% score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    return _wilson(successes / n, n)


def _wilson(p: float, n: float) -> tuple[float, float]:
    """Wilson's 95% score interval of a proportion `p` observed on `n` (possibly effective) trials."""
    centre = (p + _Z ** 2 / (2 * n)) / (1 + _Z ** 2 / n)
    half = _Z * math.sqrt(p * (1 - p) / n + _Z ** 2 / (4 * n ** 2)) / (1 + _Z ** 2 / n)
    return centre - half, centre + half


def rate_lift(metric: str, treated_hits: int, treated_n: int, holdout_hits: int, holdout_n: int) -> Lift:
    """Lift of a rate (Newcombe's hybrid score interval of the difference, Katz's of the ratio)."""
    if treated_n == 0 or holdout_n == 0:
        raise ValueError(f"{metric}: both groups need members (treated {treated_n}, holdout {holdout_n})")
    pt, pc = treated_hits / treated_n, holdout_hits / holdout_n
    lt, ut = wilson(treated_hits, treated_n)
    lc, uc = wilson(holdout_hits, holdout_n)
    diff = pt - pc
    low = diff - math.sqrt((pt - lt) ** 2 + (uc - pc) ** 2)
    high = diff + math.sqrt((ut - pt) ** 2 + (pc - lc) ** 2)
    pooled = (treated_hits + holdout_hits) / (treated_n + holdout_n)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / treated_n + 1 / holdout_n))
    p = 1.0 if se0 == 0 else float(2 * stats.norm.sf(abs(diff) / se0))
    relative = relative_low = relative_high = None
    if 0 < treated_hits < treated_n and 0 < holdout_hits < holdout_n:  # Katz's interval needs 0 < rate < 1
        log_rr = math.log(pt / pc)
        se_log = math.sqrt(1 / treated_hits - 1 / treated_n + 1 / holdout_hits - 1 / holdout_n)
        relative = pt / pc - 1
        relative_low, relative_high = math.exp(log_rr - _Z * se_log) - 1, math.exp(log_rr + _Z * se_log) - 1
    return Lift(metric, "Newcombe hybrid score (difference), Katz log (ratio)", pt, pc, diff, low, high, relative,
                relative_low, relative_high, p, treated_n, holdout_n)


def stratified_rate_lift(metric: str, hit: np.ndarray, treated: np.ndarray, strata: np.ndarray) -> Lift:
    """Lift of a rate when the holdout was drawn within strata: each group's rate is the strata's
    rates weighted by the stratum's share of members (strata with fewer than two members in a group
    pooled together, as for means), with the variance of that weighted rate; Newcombe's hybrid score
    interval is then taken on the weighted rates, each group's Wilson interval computed on its
    effective size p(1 - p) / variance (stratified Wilson, Yan & Su 2010). The ratio's interval is
    Katz's log interval with the same variances, the p-value the stratified z test (each stratum's
    pooled rate under no effect). One stratum gives exactly `rate_lift`."""
    hit, treated = np.asarray(hit, dtype=bool), np.asarray(treated, dtype=bool)
    nt_all, nc_all = int(treated.sum()), int((~treated).sum())
    if nt_all == 0 or nc_all == 0:
        raise ValueError(f"{metric}: both groups need members (treated {nt_all}, holdout {nc_all})")
    index = stratum_codes(strata)
    thin = (np.bincount(index, weights=treated) < 2) | (np.bincount(index, weights=~treated) < 2)
    index = np.where(thin[index], -1, index)
    _, index = np.unique(index, return_inverse=True)
    n_t = np.bincount(index, weights=treated)
    n_c = np.bincount(index, weights=~treated)
    keep = (n_t >= 1) & (n_c >= 1)
    if not keep.any():
        return rate_lift(metric, int((hit & treated).sum()), nt_all, int((hit & ~treated).sum()), nc_all)
    x_t = np.bincount(index, weights=hit & treated)[keep]
    x_c = np.bincount(index, weights=hit & ~treated)[keep]
    n_t, n_c = n_t[keep], n_c[keep]
    weight = (n_t + n_c) / (n_t + n_c).sum()
    p_ts, p_cs = x_t / n_t, x_c / n_c
    pt, pc = float(weight @ p_ts), float(weight @ p_cs)
    var_t = float((weight ** 2 * p_ts * (1 - p_ts) / n_t).sum())
    var_c = float((weight ** 2 * p_cs * (1 - p_cs) / n_c).sum())

    def effective(p: float, var: float, n: float) -> float:
        return n if var <= 0 or p <= 0 or p >= 1 else p * (1 - p) / var

    lt, ut = _wilson(pt, effective(pt, var_t, n_t.sum()))
    lc, uc = _wilson(pc, effective(pc, var_c, n_c.sum()))
    diff = pt - pc
    low = diff - math.sqrt((pt - lt) ** 2 + (uc - pc) ** 2)
    high = diff + math.sqrt((ut - pt) ** 2 + (pc - lc) ** 2)
    pooled = (x_t + x_c) / (n_t + n_c)
    se0 = math.sqrt(float((weight ** 2 * pooled * (1 - pooled) * (1 / n_t + 1 / n_c)).sum()))
    p = 1.0 if se0 == 0 else float(2 * stats.norm.sf(abs(diff) / se0))
    relative = relative_low = relative_high = None
    if 0 < pt < 1 and 0 < pc < 1 and var_t > 0 and var_c > 0:  # Katz's interval needs 0 < rate < 1
        log_rr = math.log(pt / pc)
        se_log = math.sqrt(var_t / pt ** 2 + var_c / pc ** 2)
        relative = pt / pc - 1
        relative_low, relative_high = math.exp(log_rr - _Z * se_log) - 1, math.exp(log_rr + _Z * se_log) - 1
    method = ("Newcombe hybrid score on stratum-weighted rates (difference), Katz log (ratio)" if len(weight) > 1
              else "Newcombe hybrid score (difference), Katz log (ratio)")
    return Lift(metric, method, pt, pc, diff, low, high, relative, relative_low, relative_high, p, nt_all, nc_all)


@dataclass(frozen=True)
class Roi:
    """Return on the campaign's costs: (incremental gross margin - costs) / costs, with its interval
    from the interval of the incremental spend (costs taken as known). Money in currency units."""

    incremental_revenue: float
    incremental_revenue_low: float
    incremental_revenue_high: float
    incremental_margin: float
    incremental_margin_low: float
    incremental_margin_high: float
    costs: float
    roi: float | None
    roi_low: float | None
    roi_high: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def roi(spend_lift: Lift, treated_n: int, margin_rate: float, costs: float) -> Roi:
    """The campaign's ROI from the lift of spend per member over the `treated_n` treated members."""
    revenue = [spend_lift.difference * treated_n, spend_lift.difference_low * treated_n,
               spend_lift.difference_high * treated_n]
    margin = [value * margin_rate for value in revenue]
    ratios = [(value - costs) / costs if costs > 0 else None for value in margin]
    return Roi(*revenue, *margin, costs, *ratios)


def sentence(lift: Lift, label: str, target: float | None = None) -> str:
    """The lift as a marketer reads it: "spend per member rose 3.1% (95% interval 0.4% to 5.8%),
    the goal was 5%"."""
    if lift.relative is None:
        text = f"{label} changed by {lift.difference:+.3g} (95% interval {lift.difference_low:+.3g} to " \
               f"{lift.difference_high:+.3g})"
    else:
        verb = "rose" if lift.relative >= 0 else "fell"
        text = (f"{label} {verb} {abs(lift.relative):.1%} (95% interval {lift.relative_low:.1%} to "
                f"{lift.relative_high:.1%})")
    significance = "" if lift.p_value < 0.05 else "; not distinguishable from no effect at the 5% level"
    goal = "" if target is None else f", the goal was {target:.1%}"
    return text + goal + significance
