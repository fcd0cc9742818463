"""category_pyramid's levels found per distinct spend and kept as a base and a delta (decision
0128): the same levels and ranks as ranking every row, on the whole table and on a night's delta
merged on the base, where buyers cross a cut either way, tie at a cut, and categories gain or lose
buyers so that the cuts move."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import ibis
import pandas as pd
import pytest

from clientele import analytics
from clientele.analytics.pyramid import PyramidCutoffs

COLUMNS = {"customer_id": "int64", "department": "string", "category": "string", "category_code": "int64",
           "category_spend": "float64", "store_brand_spend": "float64"}
SHARES = (("VIP", 0.01), ("major", 0.05), ("medium", 0.20))


def _table(rows: dict[tuple[int, int], float]) -> ibis.Table:
    """A category_spend table of {(customer_id, category_code): spend}."""
    return ibis.memtable([
        {"customer_id": customer, "department": "GROCERY", "category": f"CATEGORY {code}", "category_code": code,
         "category_spend": spend, "store_brand_spend": 0.0} for (customer, code), spend in rows.items()
    ], schema=COLUMNS)


def _expected(rows: dict[tuple[int, int], float]) -> dict[tuple[int, int], tuple[int, str]]:
    """Per key, (rank, level) by the rule itself: every row of a category numbered in the order
    spend descending, customer id ascending; a level is the first round(n x share) rows, halves up."""
    found = {}
    for code in {c for _, c in rows}:
        ordered = sorted(((-spend, customer) for (customer, c), spend in rows.items() if c == code))
        cuts = [(name, int((len(ordered) * Decimal(str(share))).to_integral_value(ROUND_HALF_UP)))
                for name, share in SHARES]
        for rank, (_, customer) in enumerate(ordered, start=1):
            found[(customer, code)] = (rank, next((name for name, last in cuts if rank <= last), "small"))
    return found


def _got(table: pd.DataFrame) -> dict[tuple[int, int], tuple[int, str]]:
    return {(r.customer_id, r.category_code): (r.category_rank, r.category_level) for r in table.itertuples()}


def _category(code: int, buyers: int, first_customer: int = 1) -> dict[tuple[int, int], float]:
    """`buyers` customers of one category with distinct spends, the first customer the best."""
    return {(first_customer + i, code): 1000.0 - i for i in range(buyers)}


def test_levels_are_cut_at_round_n_times_share_with_ties_at_a_cut_ordered_by_customer_id(con):
    rows = _category(1, 100, first_customer=10)
    # three customers tie at the top across the VIP cut (1 of 100) and the major cut (5 of 100)
    # falls in a tie of four: customer 3 is the VIP, 7 and 9 major; of the four, 1 and 2 are major
    rows |= {(9, 1): 5000.0, (3, 1): 5000.0, (7, 1): 5000.0}
    rows |= {(customer, 1): 2000.0 for customer in (4, 2, 1, 5)}
    rows |= _category(2, 20, first_customer=500)  # 1% of 20 rounds to no VIP; 5% is one major
    rows |= _category(3, 50, first_customer=600)  # 1% of 50 is a half: rounded up, one VIP
    got = _got(con.execute(analytics.category_pyramid(_table(rows))))
    assert got == _expected(rows)
    assert got[(3, 1)] == (1, "VIP") and got[(7, 1)] == (2, "major") and got[(9, 1)] == (3, "major")
    assert [got[(c, 1)] for c in (1, 2, 4, 5)] == [(4, "major"), (5, "major"), (6, "medium"), (7, "medium")]
    assert "VIP" not in {level for (_, code), (_, level) in got.items() if code == 2}
    assert got[(600, 3)] == (1, "VIP")


def _sorted(table: pd.DataFrame) -> list[tuple]:
    return sorted(tuple(None if pd.isna(v) else v for v in row) for row in table.itertuples(index=False))


def _night(con, base: dict[tuple[int, int], float], night: dict[tuple[int, int], float]):
    """The base's levels, and the night's levels as the refresh reads them: the base less the keys
    the delta names, plus the delta's rows, ranked when read. Also the delta's size."""
    base_levels = con.execute(analytics.category_levels(_table(base)))
    touched = [key for key in base.keys() | night.keys() if base.get(key) != night.get(key)]
    touched = ibis.memtable([{"customer_id": c, "category_code": k} for c, k in touched],
                            schema={"customer_id": "int64", "category_code": "int64"})
    spend = _table(night)
    present = _table({key: spend for key, spend in night.items() if base.get(key) != spend})
    # the cuts as the night finds them: from the base's distribution less the touched keys' base
    # rows plus their rows tonight (decision 0141), the same as from every row of tonight's table
    removed = _table({key: spend for key, spend in base.items() if base.get(key) != night.get(key)})
    distribution = analytics.updated_distribution(analytics.spend_distribution(_table(base)), removed, present)
    assert _sorted(con.execute(distribution)) == _sorted(con.execute(analytics.spend_distribution(spend)))
    cuts = analytics.category_cuts(spend, distribution=distribution)
    assert _sorted(con.execute(cuts)) == _sorted(con.execute(analytics.category_cuts(spend)))
    rows, gone = analytics.category_levels_delta(_table(base), present, touched, cuts,
                                                 analytics.category_cuts(_table(base)))
    rows, gone = con.execute(rows), con.execute(gone)
    named = set(zip(rows.customer_id, rows.category_code)) | set(zip(gone.customer_id, gone.category_code))
    kept = base_levels[[(c, k) not in named for c, k in zip(base_levels.customer_id, base_levels.category_code)]]
    merged = pd.concat([kept, rows[list(base_levels.columns)]], ignore_index=True)
    read = con.execute(analytics.pyramid.with_category_rank(ibis.memtable(merged)))
    return _got(read), len(rows), set(zip(gone.customer_id, gone.category_code))


def test_a_nights_delta_merged_on_the_base_gives_the_whole_tables_levels_and_ranks(con):
    base = _category(1, 100) | _category(2, 149, 1000) | _category(3, 151, 2000) | _category(4, 40, 3000)
    base |= _category(5, 100, 4000)
    # seven tie across category 5's major cut (5 of 106): at ranks 5 to 11, only 4090 is major
    base |= {(4100 + i, 5): 996.5 for i in range(6)} | {(4090, 5): 996.5}
    night = dict(base)
    night[(50, 1)] = 1500.0            # crosses the VIP cut upwards: customer 1 falls to major, untouched
    night[(3, 1)] = 10.0               # a major buyer falls to small; customer 6 rises to major, untouched
    for i in range(2):                 # category 2 gains two buyers: 151, so 2 VIPs and 8 majors (1 and 7 before)
        night[(1500 + i, 2)] = 1.0
    del night[(2100, 3)], night[(2101, 3)]   # category 3 loses two: 149, one VIP (2000) and 7 majors
    for i in range(10):                # category 4 gains ten: 50, half a VIP rounds up to one
        night[(3500 + i, 4)] = 0.5
    night[(4001, 5)] = 5.0             # category 5's tie moves up one place: 4100 is major too, untouched
    del night[(5, 1)]                  # a key gone
    got, delta_rows, gone = _night(con, base, night)
    assert got == _expected(night)
    assert gone == {(5, 1), (2100, 3), (2101, 3)}
    expected_before = _expected(base)
    assert expected_before[(1, 1)][1] == "VIP" and got[(1, 1)][1] == "major"
    assert expected_before[(6, 1)][1] == "medium" and got[(6, 1)][1] == "major"
    assert expected_before[(1001, 2)][1] == "major" and got[(1001, 2)][1] == "VIP"
    assert expected_before[(2001, 3)][1] == "VIP" and got[(2001, 3)][1] == "major"
    assert expected_before[(3000, 4)][1] == "major" and got[(3000, 4)][1] == "VIP"
    moved_in_tie = [c for c in (4090, *range(4100, 4106)) if expected_before[(c, 5)][1] != got[(c, 5)][1]]
    assert moved_in_tie == [4100]  # the tie's smallest id outside the cut before, and no other
    # the delta is the touched keys and the rows near a moved cut, not the table
    assert delta_rows < len(night) / 4


def test_a_night_without_changes_gives_an_empty_delta(con):
    base = _category(1, 100) | _category(2, 30, 500)
    got, delta_rows, gone = _night(con, base, dict(base))
    assert got == _expected(base) and delta_rows == 0 and gone == set()


@pytest.mark.parametrize("cutoffs", [PyramidCutoffs(vip=0.02, major=0.1, medium=0.3)])
def test_the_cuts_follow_the_cutoffs(cutoffs):
    rows = _category(1, 100)
    levels = analytics.category_levels(_table(rows), cutoffs).to_pandas()
    assert levels.category_level.value_counts().to_dict() == {"small": 70, "medium": 20, "major": 8, "VIP": 2}
