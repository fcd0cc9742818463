"""The Complete Journey's own campaigns, shown as past campaigns (numpy/Ibis, no Django).

No random holdout was kept for them, so their effect is only *observational*: per campaign, the
targeted households' spend per household in the campaign's dates against untargeted households of
the same pre-campaign behaviour (subclassification: quintile of spend x band of visits in the as
many days before the start), compared within those cells (`analytics.lift.stratified_mean_lift`).
Targeting chose households for reasons the cells do not see, so the difference is not a causal lift.
"""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pyarrow as pa

from clientele.analytics.campaign_measure import ASSIGNMENT_SCHEMA, member_outcomes
from clientele.analytics.lift import stratified_mean_lift, wilson

VISIT_BANDS = (1, 3, 6, 12)  # pre-campaign visits: 0, 1-2, 3-5, 6-11, 12 or more


def matching_cells(pre_spend: np.ndarray, pre_visits: np.ndarray) -> np.ndarray:
    """Per household, its cell: quintile of pre-campaign spend x band of pre-campaign visits."""
    quintiles = np.searchsorted(np.quantile(pre_spend, [0.2, 0.4, 0.6, 0.8]), pre_spend, side="right")
    return quintiles * 10 + np.searchsorted(VISIT_BANDS, pre_visits, side="right")


def past_campaigns(lines: ibis.Table, campaigns: ibis.Table, descriptions: ibis.Table,
                   redemptions: ibis.Table) -> list[dict]:
    """Per past campaign: id, type, start, end, targeted households, redeeming households, the
    redemption rate and its Wilson 95% interval, and the observational comparison of spend per
    household over the campaign's dates (targeted, matched untargeted, difference, its 95%
    interval), labelled observational."""
    households = lines.filter(lines.customer_id.notnull()).select("customer_id").distinct().to_pyarrow()
    every = households.column("customer_id").to_numpy()
    targeted_by = _groups(campaigns.select("campaign_id", "customer_id").to_pyarrow())
    redeemed_by = _groups(redemptions.select("campaign_id", "customer_id").distinct().to_pyarrow())
    rows = []
    for described in descriptions.order_by("campaign_id").to_pyarrow().to_pylist():
        campaign_id = described["campaign_id"]
        start, end = _day(described["start_date"]), _day(described["end_date"])
        targeted = np.isin(every, targeted_by.get(campaign_id, []))
        redeemers = len(set(redeemed_by.get(campaign_id, [])) & set(every[targeted]))
        low, high = wilson(redeemers, int(targeted.sum()))
        row = {"campaign_id": campaign_id, "campaign_type": described["campaign_type"], "start": start, "end": end,
               "targeted": int(targeted.sum()), "redeemers": redeemers,
               "redemption_rate": redeemers / targeted.sum() if targeted.any() else None,
               "redemption_low": low, "redemption_high": high, "comparison": None,
               "label": "observational: no random holdout was kept; targeted against untargeted households "
                        "matched on pre-campaign spend and visits"}
        if 2 <= targeted.sum() <= len(every) - 2:
            groups = pa.table({"customer_id": every, "treated": targeted, "stratum": [""] * len(every)},
                              schema=ASSIGNMENT_SCHEMA)
            outcomes = member_outcomes(lines, ibis.memtable(groups), start, end, (end - start).days + 1).to_pyarrow()
            columns = {name: outcomes.column(name).to_numpy() for name in outcomes.column_names}
            cells = matching_cells(columns["pre_spend"], columns["pre_visits"])
            row["comparison"] = stratified_mean_lift("spend", columns["spend"], columns["treated"], cells,
                                                     method="matched cells (observational)").as_dict()
        rows.append(row)
    return rows


def _groups(table: pa.Table) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    for campaign_id, customer_id in zip(table.column("campaign_id").to_pylist(), table.column("customer_id").to_pylist()):
        grouped.setdefault(campaign_id, []).append(customer_id)
    return grouped


def _day(value) -> date:
    return value.date() if hasattr(value, "date") else value
