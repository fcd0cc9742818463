"""The manufacturer's report never exposes a group of fewer than k households, directly or by
subtraction: a property test searches for one over random populations."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from clientele.analytics.manufacturer_report import COLUMNS, report

LEVELS = ["VIP", "major", "medium", "small"]
STAGES = ["exploration", "formation", "stability", "decline"]
CATEGORIES = ["COLD CEREAL", "SOAP", "FLUID MILK"]
CELLS = [("national", "high"), ("national", "low"), ("switcher", "medium"), ("store", "low")]

buyer = st.tuples(st.sampled_from(LEVELS), st.sampled_from(STAGES),
                  st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(CELLS),
                                     st.integers(1, 5), st.floats(0.5, 80, allow_nan=False)),
                           min_size=1, max_size=3, unique_by=lambda row: row[0]))


def frames(population):
    """The report's inputs for a population of (level, stage, [(category, cell, baskets, sales)])."""
    buyers, groups, cells = [], [], []
    for customer_id, (level, stage, bought) in enumerate(population, start=1):
        groups.append({"customer_id": customer_id, "pyramid_level": level, "lifecycle_stage": stage})
        for category, (loyalty, usage), baskets, sales in bought:
            buyers.append({"customer_id": customer_id, "category": category, "baskets": baskets,
                           "units": float(baskets), "sales": round(sales, 2), "category_sales": round(sales * 2, 2)})
            cells.append({"customer_id": customer_id, "category": category, "brand_loyalty": loyalty,
                          "usage": usage})
    return pd.DataFrame(buyers), pd.DataFrame(groups), pd.DataFrame(cells)


def parent_row(table: pd.DataFrame, section: str, parent: str) -> pd.Series:
    if section == "brand_cell":
        return table[(table.section == "category") & (table.group == parent)].iloc[0]
    return table[table.section == "total"].iloc[0]


@settings(max_examples=100, deadline=None)
@given(st.lists(buyer, min_size=1, max_size=60), st.integers(2, 12))
def test_no_group_under_k_is_shown_or_derivable(population, k):
    table = report(*frames(population), shoppers=500, k=k)
    assert list(table.columns) == list(COLUMNS)  # no customer identifier
    shown = table[~table.suppressed]
    assert (shown.households >= k).all(), shown[shown.households < k]
    for (section, parent), cells in table[table.section != "total"].groupby(["section", "parent"]):
        hidden = cells[cells.suppressed]
        if len(hidden) == 1 and not parent_row(table, section, parent).suppressed:
            # the parent minus the cells shown would give the one suppressed cell's sales
            raise AssertionError(f"{section}/{hidden.iloc[0].group} derivable from {parent}")


def test_a_small_group_is_suppressed_with_its_complement_and_the_rest_shown():
    population = [("VIP", "stability", [("SOAP", ("national", "high"), 2, 10.0)])] * 3 + \
                 [("major", "stability", [("SOAP", ("national", "high"), 1, 5.0)])] * 12 + \
                 [("small", "decline", [("SOAP", ("store", "low"), 1, 2.0)])] * 20
    table = report(*frames(population), shoppers=100, k=10).set_index(["section", "group"])
    assert table.loc[("total", "all"), "households"] == 35 and table.loc[("total", "all"), "penetration"] == 0.35
    assert table.loc[("pyramid_level", "VIP"), "suppressed"]  # 3 households
    assert table.loc[("pyramid_level", "major"), "suppressed"]  # the complement: the next smallest
    assert table.loc[("pyramid_level", "small"), "sales"] == 40.0
    assert not table.loc[("lifecycle_stage", "stability"), "suppressed"]
    assert table.loc[("total", "all"), "repeat_rate"] == round(3 / 35, 4)
