"""A manufacturer's anonymised report: its products' sales and buyers, by customer group, with no
customer identifier and no figure computed from fewer than k households (PRODUCT.md §5).

Every row is a cell of one partition of the manufacturer's buyers: the total, the buyers by
pyramid level, by lifecycle stage, by category, and within each category by brand cell (brand
loyalty x usage). A cell of fewer than k households is suppressed (its figures empty); when a
partition would then have exactly one suppressed cell, the next smallest cell is suppressed too,
so no suppressed cell can be derived as its parent minus the cells shown.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pandas as pd

#: The report's columns (no customer identifier among them).
COLUMNS = ("section", "parent", "group", "households", "baskets", "units", "sales", "repeat_rate",
           "penetration", "category_share", "suppressed")
#: The figures emptied in a suppressed cell.
FIGURES = ("households", "baskets", "units", "sales", "repeat_rate", "penetration", "category_share")


def buyer_figures(lines: ibis.Table, products: ibis.Table, manufacturer_id: int, since: date, until: date) -> pd.DataFrame:
    """Per buyer of the manufacturer's products in [since, until]: customer_id, category, baskets,
    units, sales, and the buyer's spend in that category on every brand (`category_sales`), one
    row per buyer and category: the input of `report` (kept inside the analytics, never exported)."""
    end = ibis.timestamp((until + timedelta(days=1)).isoformat())
    period = lines.filter((lines.transaction_ts >= ibis.timestamp(since.isoformat())) & (lines.transaction_ts < end)
                          & lines.customer_id.notnull())
    catalogue = products.select("product_id", "category", "manufacturer_id")
    bought = period.join(catalogue, "product_id")
    own = bought.filter(bought.manufacturer_id == manufacturer_id)
    categories = own.select("category").distinct()
    per_buyer = own.group_by(["customer_id", "category"]).aggregate(
        baskets=own.basket_id.nunique(), units=own.quantity.sum().cast("float64"),
        sales=own.sales_value.sum().cast("float64"))
    in_category = bought.semi_join(categories, "category").semi_join(per_buyer.select("customer_id"), "customer_id")
    category_sales = in_category.group_by(["customer_id", "category"]).aggregate(
        category_sales=in_category.sales_value.sum().cast("float64"))
    return per_buyer.join(category_sales, ["customer_id", "category"]).to_pandas()


def report(buyers: pd.DataFrame, groups: pd.DataFrame, cells: pd.DataFrame, shoppers: int, k: int = 10) -> pd.DataFrame:
    """The anonymised report (columns COLUMNS) from `buyer_figures`, each buyer's `groups`
    (customer_id, pyramid_level, lifecycle_stage), their brand `cells` (customer_id, category,
    brand_loyalty, usage) and the number of households that shopped in the period (`shoppers`).
    Cells of fewer than `k` households are suppressed, with their complement."""
    if k < 2:
        raise ValueError("k is at least 2: a cell of one household names that household")
    per_buyer = buyers.groupby("customer_id", as_index=False).agg(
        baskets=("baskets", "sum"), units=("units", "sum"), sales=("sales", "sum"),
        category_sales=("category_sales", "sum"))
    per_buyer = per_buyer.merge(groups, on="customer_id", how="left")
    rows = [_cell("total", "", "all", per_buyer, shoppers)]
    for section, column in (("pyramid_level", "pyramid_level"), ("lifecycle_stage", "lifecycle_stage")):
        for value, members in per_buyer.groupby(per_buyer[column].fillna("unknown")):
            rows.append(_cell(section, "all", str(value), members, shoppers))
    by_category = buyers.merge(cells, on=["customer_id", "category"], how="left")
    for category, members in by_category.groupby("category"):
        rows.append(_cell("category", "all", category, members, shoppers))
        cell_names = members.brand_loyalty.fillna("unknown") + "/" + members.usage.fillna("unknown")
        for cell, in_cell in members.groupby(cell_names):
            rows.append(_cell("brand_cell", category, cell, in_cell, shoppers))
    table = pd.DataFrame(rows, columns=list(COLUMNS[:-1]))
    return suppress(table, k)


def _cell(section: str, parent: str, group: str, members: pd.DataFrame, shoppers: int) -> dict:
    households = int(members.customer_id.nunique())
    sales = float(members.sales.sum())
    return {"section": section, "parent": parent, "group": group, "households": households,
            "baskets": int(members.baskets.sum()), "units": round(float(members.units.sum()), 3),
            "sales": round(sales, 2), "repeat_rate": round(float((members.groupby("customer_id").baskets.sum() >= 2)
                                                                 .mean()), 4) if households else None,
            "penetration": round(households / shoppers, 4) if shoppers else None,
            "category_share": round(sales / float(members.category_sales.sum()), 4)
            if members.category_sales.sum() else None}


def suppress(table: pd.DataFrame, k: int) -> pd.DataFrame:
    """`table` with every cell of fewer than `k` households emptied (`suppressed` true), and in each
    partition (section, parent) with exactly one such cell, the next smallest cell emptied too;
    a partition whose parent total is itself suppressed keeps its cells suppressed whole."""
    table = table.copy()
    table["suppressed"] = table.households < k
    partitions = table[table.section != "total"].groupby(["section", "parent"])
    # the partitions of the total first: a category suppressed there hides its brand cells after
    for (section, parent), cells in sorted(partitions, key=lambda item: item[0][1] != "all"):
        parent_hidden = _parent_suppressed(table, section, parent)
        if parent_hidden:
            table.loc[cells.index, "suppressed"] = True
            continue
        hidden = table.loc[cells.index, "suppressed"]
        if hidden.sum() == 1 and len(cells) > 1:
            shown = cells[~hidden]
            table.loc[shown.households.idxmin(), "suppressed"] = True
    for column in FIGURES:
        table[column] = table[column].astype(object).where(~table.suppressed, None)
    return table[list(COLUMNS)].reset_index(drop=True)


def _parent_suppressed(table: pd.DataFrame, section: str, parent: str) -> bool:
    """Whether the row the partition adds up to is suppressed (the total, or a category's row)."""
    if parent == "all":
        return bool(table.loc[table.section == "total", "suppressed"].any())
    return bool(table.loc[(table.section == "category") & (table.group == parent), "suppressed"].any())
