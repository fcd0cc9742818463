"""A manufacturer's anonymised report: the lake's sales and buyers of its products by customer group
(`analytics.manufacturer_report`) and the redemptions of the offers it funds, every cell of fewer
than k households suppressed; written as CSV or Parquet."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import ibis
import pandas as pd

from clientele.analytics import manufacturer_report
from clientele.analytics.results import read_result
from clientele.lake.reader import basket_lines, read_table
from clientele.offers.models import OfferRedemption
from clientele.offers.statements import account


def build(manufacturer: int | str, since: date, until: date, k: int, con: ibis.BaseBackend,
          lake: Path | None = None) -> pd.DataFrame:
    """The manufacturer's report for [since, until] (columns `manufacturer_report.COLUMNS`): its
    products' sales, buyers, penetration, repeat rate, share of category, by pyramid level,
    lifecycle stage, category and brand cell, and its offers' redemptions; no customer identifier,
    no figure from fewer than `k` households."""
    funder = account(manufacturer)
    lines, products = basket_lines(con, lake), read_table(con, "products", lake)
    buyers = manufacturer_report.buyer_figures(lines, products, funder.manufacturer_id, since, until)
    profiles = read_result(con, "customer_profiles", lake).select("customer_id", "pyramid_level", "lifecycle_stage")
    cells = read_result(con, "brand_loyalty", lake).select("customer_id", "category", "brand_loyalty", "usage")
    wanted = ibis.memtable(buyers[["customer_id"]].drop_duplicates(), schema={"customer_id": "int64"})
    end = ibis.timestamp((until + timedelta(days=1)).isoformat())
    period = lines.filter((lines.transaction_ts >= ibis.timestamp(since.isoformat())) & (lines.transaction_ts < end))
    shoppers = int(period.customer_id.nunique().execute())
    sales = manufacturer_report.report(
        buyers, profiles.semi_join(wanted, "customer_id").to_pandas(),
        cells.semi_join(wanted, "customer_id").to_pandas(), shoppers, k)
    return pd.concat([sales, _redemptions(funder, since, until, k)], ignore_index=True)


def _redemptions(funder, since: date, until: date, k: int) -> pd.DataFrame:
    """One cell per offer the manufacturer funds: households that redeemed it, redemptions net of
    reversals, discount given (as `sales`), suppressed as the sales cells."""
    start = datetime.combine(since, time.min, tzinfo=timezone.utc)
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=timezone.utc)
    rows = OfferRedemption.objects.filter(funder=funder, redeemed_at__gte=start, redeemed_at__lt=end).values_list(
        "offer__code", "member_id", "uses", "discount")
    frame = pd.DataFrame(list(rows), columns=["offer", "member", "uses", "discount"])
    if frame.empty:
        return pd.DataFrame(columns=list(manufacturer_report.COLUMNS))
    frame["discount"] = frame.discount.astype(float)
    cells = frame.groupby("offer").agg(households=("member", "nunique"), baskets=("uses", "sum"),
                                       sales=("discount", "sum")).reset_index()
    table = pd.DataFrame({"section": "offer_redemptions", "parent": "all", "group": cells.offer,
                          "households": cells.households, "baskets": cells.baskets, "units": None,
                          "sales": cells.sales.round(2), "repeat_rate": None, "penetration": None,
                          "category_share": None})
    # the offers do not partition anything reported: a cell under k is suppressed alone
    table["suppressed"] = table.households < k
    for column in manufacturer_report.FIGURES:
        table[column] = table[column].astype(object).where(~table.suppressed, None)
    return table[list(manufacturer_report.COLUMNS)]


def write(table: pd.DataFrame, out: Path, fmt: str) -> Path:
    """The report written to `out` as CSV or Parquet; returns the path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        table.astype({"households": "Int64", "baskets": "Int64"}).to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    return out
