"""The lake sees one customer per merged pair: the refresh reads the lines through the golden ids."""

from __future__ import annotations

import shutil

from identity_builders import make_member

from clientele.engine import connect
from clientele.identity.lake_export import export_golden_ids
from clientele.identity.merging import merge_members, unmerge
from clientele.lake.store import Lake
from clientele.refresh import RefreshOptions, _Run


def customers_seen_by_the_refresh(lake) -> int:
    run = _Run(connect("duckdb"), lake, None, RefreshOptions())
    return run.lines.filter(run.lines.customer_id.notnull()).customer_id.nunique().execute()


def test_given_two_merges_then_the_refresh_counts_exactly_two_customers_fewer(db, home, cj_slice_lake, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(cj_slice_lake, lake)
    before = customers_seen_by_the_refresh(lake)
    for number in (1, 7, 15, 42):
        make_member(number, cards=0)
    first = merge_members(1, 7, actor="t")
    merge_members(15, 42, actor="t")

    assert export_golden_ids(Lake(lake)) == 2
    assert customers_seen_by_the_refresh(lake) == before - 2

    unmerge(first.pk, actor="t")
    export_golden_ids(Lake(lake))
    assert customers_seen_by_the_refresh(lake) == before - 1
