"""RFM: how recently, how often and how much each customer bought, scored and named.

Scores are 1-5 by rank (quintiles, see `ranked_scores`): 5 is the most recent, the most frequent,
the biggest spender. The named segment is read from a grid of the recency score (R, rows) and the
frequency-monetary score FM = ceil((F + M) / 2) (columns):

    R \\ FM   1-2                  3                    4                 5
    5        New (FM 1),          Potential loyalists  Champions         Champions
             Potential loyalists (FM 2)
    4        Promising (FM 1),    Potential loyalists  Loyal             Loyal
             Potential loyalists (FM 2)
    3        About to sleep       Need attention       Loyal             Loyal
    2        Hibernating          At risk              At risk           Can't lose them
    1        Lost                 At risk              At risk           Can't lose them

The grid is data (`SegmentGrid`): a marketer may redraw it; it is validated to name every one of
the 25 cells exactly once, so every customer lands in exactly one segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis

from clientele.analytics.baskets import days_between, in_window, ranked_scores
from clientele.sums import money_total

SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential loyalists",
    "New",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
)


def _default_cells() -> dict[str, list[tuple[int, int]]]:
    return {
        "Champions": [(5, 4), (5, 5)],
        "Loyal": [(4, 4), (4, 5), (3, 4), (3, 5)],
        "Potential loyalists": [(5, 2), (5, 3), (4, 2), (4, 3)],
        "New": [(5, 1)],
        "Promising": [(4, 1)],
        "Need attention": [(3, 3)],
        "About to sleep": [(3, 1), (3, 2)],
        "At risk": [(2, 3), (2, 4), (1, 3), (1, 4)],
        "Can't lose them": [(2, 5), (1, 5)],
        "Hibernating": [(2, 1), (2, 2)],
        "Lost": [(1, 1), (1, 2)],
    }


@dataclass(frozen=True)
class SegmentGrid:
    """Segment name -> the (R score, FM score) cells it covers."""

    cells: dict[str, list[tuple[int, int]]] = field(default_factory=_default_cells)

    def __post_init__(self) -> None:
        named = [cell for cells in self.cells.values() for cell in cells]
        every_cell = {(r, fm) for r in range(1, 6) for fm in range(1, 6)}
        if len(named) != len(set(named)) or set(named) != every_cell:
            missing = sorted(every_cell - set(named))
            twice = sorted({cell for cell in named if named.count(cell) > 1})
            raise ValueError(f"the RFM grid must name each (R, FM) cell once: missing {missing}, twice {twice}")

    def segment(self, r_score: ibis.Value, fm_score: ibis.Value) -> ibis.Value:
        """The segment name of each (R, FM) pair, as an expression."""
        cell = r_score * 10 + fm_score
        return ibis.cases(
            *[(cell.isin([r * 10 + fm for r, fm in cells]), name) for name, cells in self.cells.items()],
            else_=None,
        )


def rfm(baskets: ibis.Table, as_of: date, window_days: int = 365, grid: SegmentGrid = SegmentGrid()) -> ibis.Table:
    """Each customer who bought in the `window_days` days up to `as_of`, one row each.

    Columns: customer_id, recency_days (days from the last basket to `as_of`; 0 = bought that day),
    frequency (baskets in the window), monetary (spend in the window, currency units), r_score,
    f_score, m_score, fm_score (1-5, 5 best) and rfm_segment (a name of `SEGMENTS`).
    """
    window = in_window(baskets, as_of, window_days)
    per_customer = window.group_by("customer_id").aggregate(
        last_basket=window.basket_date.max(),
        frequency=window.count(),  # one row per basket
        monetary=money_total(window.spend),
    )
    measured = per_customer.mutate(recency_days=days_between(per_customer.last_basket, as_of))
    # fewer days since the last basket is better: rank the negated recency
    scored = ranked_scores(
        measured.mutate(_recentness=-measured.recency_days),
        {"r_score": "_recentness", "f_score": "frequency", "m_score": "monetary"}, 5,
    )
    with_fm = scored.mutate(fm_score=((scored.f_score + scored.m_score + 1) / 2).floor().cast("int32"))
    return with_fm.mutate(rfm_segment=grid.segment(with_fm.r_score, with_fm.fm_score)).select(
        "customer_id", "recency_days", "frequency", "monetary",
        "r_score", "f_score", "m_score", "fm_score", "rfm_segment",
    )


def segment_grid_counts(scored: ibis.Table) -> ibis.Table:
    """Customers per (r_score, fm_score) cell, with the cell's segment: the RFM grid to display."""
    return scored.group_by(["r_score", "fm_score", "rfm_segment"]).aggregate(customers=scored.count())
