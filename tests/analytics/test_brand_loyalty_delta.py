"""brand_loyalty's nine cells kept as a base and a night's delta (decisions 0124, 0141): the
untouched rows whose spend lies between a usage bound of the base and tonight's change tercile
though their keys were not touched; the delta must carry them, and the bounds found from the
base's spend distribution updated by the delta must be those of every row."""

from __future__ import annotations

import ibis
import pandas as pd

from clientele import analytics
from clientele.analytics.brand_loyalty import cells_delta, usage_bounds

COLUMNS = {"customer_id": "int64", "department": "string", "category": "string", "category_code": "int64",
           "category_spend": "float64", "store_brand_spend": "float64"}


def _table(rows: dict[tuple[int, int], float]) -> ibis.Table:
    """A category_spend table of {(customer_id, category_code): spend}, a tenth on the store brand."""
    return ibis.memtable([
        {"customer_id": customer, "department": "GROCERY", "category": f"CATEGORY {code}", "category_code": code,
         "category_spend": spend, "store_brand_spend": spend / 10} for (customer, code), spend in rows.items()
    ], schema=COLUMNS)


def _cells(table: pd.DataFrame) -> dict[tuple[int, str], tuple]:
    return {(r.customer_id, r.category): (r.category_spend, r.brand_loyalty, r.usage) for r in table.itertuples()}


def _sorted(table: pd.DataFrame) -> list[tuple]:
    return sorted(tuple(None if pd.isna(v) else v for v in row) for row in table.itertuples(index=False))


def _night(con, base: dict[tuple[int, int], float], night: dict[tuple[int, int], float]):
    """The night's cells as the refresh reads them (the base's cells less the keys the delta names,
    plus the delta's rows), the whole table's cells, and the delta's rows."""
    changed = {key for key in base.keys() | night.keys() if base.get(key) != night.get(key)}
    touched = ibis.memtable([{"customer_id": c, "category_code": k} for c, k in changed],
                            schema={"customer_id": "int64", "category_code": "int64"})
    present = _table({key: night[key] for key in changed if key in night})
    removed = _table({key: base[key] for key in changed if key in base})
    distribution = analytics.updated_distribution(analytics.spend_distribution(_table(base)), removed, present)
    bounds = usage_bounds(None, distribution)
    assert _sorted(con.execute(bounds)) == _sorted(con.execute(usage_bounds(_table(night))))
    rows, gone = cells_delta(_table(base), present, touched, bounds, usage_bounds(_table(base)))
    rows, gone = con.execute(rows), con.execute(gone)
    named = {(c, f"CATEGORY {k}") for c, k in changed}
    merged = {key: cells for key, cells in _cells(con.execute(analytics.nine_cells(_table(base)))).items()
              if key not in named} | _cells(rows)
    assert {(c, f"CATEGORY {k}") for c, k in zip(gone.customer_id, gone.category_code)} == {
        (c, f"CATEGORY {k}") for c, k in changed if night.get((c, k), 0) <= 0}
    return merged, _cells(con.execute(analytics.nine_cells(_table(night)))), len(rows)


def test_an_untouched_buyer_whose_spend_a_moved_bound_passes_changes_usage_in_the_delta(con):
    # category 1: 30 buyers spending 1..30: low up to 10, medium up to 20
    base = {(100 + i, 1): float(i) for i in range(1, 31)} | {(200 + i, 2): float(i) for i in range(1, 16)}
    night = dict(base)
    for i in range(6):  # six new smaller buyers: of 36, the untouched ones spending 7..10 and 19, 20 rise a tercile
        night[(300 + i, 1)] = 0.5
    # category 2 loses its smallest buyer and its third rises to the top: the bounds rise, the
    # untouched buyers spending 6, 7 fall to low and 11, 12 to medium
    del night[(201, 2)]
    night[(203, 2)] = 40.0
    merged, whole, delta_rows = _night(con, base, night)
    before = _cells(con.execute(analytics.nine_cells(_table(base))))
    crossed = sorted(key for key in before if key in whole and before[key] != whole[key])
    assert [c for c, category in crossed if category == "CATEGORY 1"] == [107, 108, 109, 110, 119, 120]
    assert [c for c, category in crossed if category == "CATEGORY 2"] == [203, 206, 207, 211, 212]
    assert merged == whole
    assert delta_rows < len(night)


def test_a_night_without_changes_gives_an_empty_delta(con):
    base = {(100 + i, 1): float(i) for i in range(1, 31)}
    merged, whole, delta_rows = _night(con, base, dict(base))
    assert merged == whole and delta_rows == 0
