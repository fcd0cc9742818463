"""The customers' purchase history kept between nights (decision 0133): rolled forward day by day,
it gives the history features of every basket read again, to the last bit, whatever the day's
phase in the 4-week blocks of `months_with_purchase`."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clientele.engine import connect
from clientele.forecasting.churn import features_of_history, history_features
from clientele.forecasting.history_state import BLOCK_DAYS, history_of_state, history_state, phase, roll_history_state
from clientele.forecasting.history_state import rolled_days

START = dt.date(2024, 1, 1)


@pytest.fixture
def duckdb_con():
    return connect("duckdb")


def _baskets(rows: list[tuple[int, dt.date, float]]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series([r[0] for r in rows], dtype="int64"),
                         "date": pd.to_datetime([r[1] for r in rows]),
                         "spend": pd.Series([r[2] for r in rows], dtype="float64")})


def _kept(con, table, folder, night: int):
    """`table` written as the refresh keeps it (Parquet) and read back."""
    path = folder / f"night-{night}.parquet"
    con.to_parquet(table, path)
    return con.read_parquet(path)


def _features_from_kept(con, baskets: pd.DataFrame, first: dt.date, nights: list[dt.date], folder):
    """Per night, the features read from the history kept at `first` and rolled night by night."""
    path = folder / "baskets.parquet"
    baskets.to_parquet(path)
    table = con.read_parquet(path)
    state, kept_at, seen = _kept(con, history_state(table, first), folder, 0), first, {}
    for night, day in enumerate(nights, start=1):
        state = _kept(con, roll_history_state(state, rolled_days(table, kept_at, day), kept_at, day), folder, night)
        seen[day], kept_at = features_of_history(history_of_state(state, day), day), day
    return seen


def test_a_history_rolled_night_by_night_gives_every_baskets_features_on_each_phase(duckdb_con, tmp_path):
    """Random baskets of 150 customers (several a day, some spanning many blocks): rolled over 30
    nights (every phase of the blocks, and two nights of several days, longer than a block), each
    night's features equal the full query's."""
    rng = np.random.default_rng(3)
    count = 4_000
    days = [START + dt.timedelta(days=int(d)) for d in rng.integers(0, 320, count)]
    baskets = _baskets(list(zip(rng.integers(1, 150, count).tolist(), days,
                                np.round(rng.uniform(0.01, 90.0, count), 2).tolist())))
    nights, day = [], dt.date(2024, 9, 1)
    for step in [1] * 28 + [30, 45]:
        day += dt.timedelta(days=step)
        nights.append(day)
    assert len({phase(d) for d in nights}) == BLOCK_DAYS
    rolled = _features_from_kept(duckdb_con, baskets, dt.date(2024, 9, 1), nights, tmp_path)
    for day in nights:
        pd.testing.assert_frame_equal(rolled[day], history_features(baskets, cutoff=day), check_exact=True,
                                      obj=str(day))


def test_a_purchase_on_the_day_a_block_boundary_moves_and_a_first_purchase_on_the_new_day(duckdb_con, tmp_path):
    """Customer 1 bought on 8 and 30 August: from the cutoff of 4 September the two days are in
    one 4-week block, from the 5th in two (the block boundary moved between them), and they buy
    on the 5th, which is in the block of the 30th from the 5th on. Customer 2's first purchase
    is on the new day. Customer 3 bought twice on the same day (one purchase day)."""
    baskets = _baskets([
        (1, dt.date(2024, 8, 8), 12.5), (1, dt.date(2024, 8, 30), 7.1), (1, dt.date(2024, 9, 5), 3.3),
        (2, dt.date(2024, 9, 5), 20.0), (3, dt.date(2024, 6, 1), 0.1), (3, dt.date(2024, 6, 1), 0.2),
        (3, dt.date(2024, 9, 5), 0.3),
    ])
    nights = [dt.date(2024, 9, 5), dt.date(2024, 9, 6), dt.date(2024, 10, 3)]
    rolled = _features_from_kept(duckdb_con, baskets, dt.date(2024, 9, 4), nights, tmp_path)
    before = history_features(baskets, cutoff=dt.date(2024, 9, 4))
    assert before.loc[1, "months_with_purchase"] == 1 and 2 not in before.index
    night = rolled[dt.date(2024, 9, 5)]
    assert night.loc[1, "months_with_purchase"] == 2 and night.loc[1, "frequency"] == 2
    assert night.loc[2, "frequency"] == 0 and night.loc[2, "T"] == 0.0
    assert night.loc[3, "mean_spend"] == 0.3  # 0.1 + 0.2 on 1 June, in cents: 0.3 a day
    for day in nights:
        pd.testing.assert_frame_equal(rolled[day], history_features(baskets, cutoff=day), check_exact=True,
                                      obj=str(day))
