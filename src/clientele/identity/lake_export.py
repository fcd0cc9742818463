"""The golden ids in the lake: every merged member's customer_id -> the customer_id it now is,
written whole (staged, then swapped in, so a refresh never reads half of it). The nightly refresh
reads the basket lines through it (`refresh._as_golden_customers`)."""

from __future__ import annotations

import os
import shutil
import uuid

from clientele.identity.merging import golden_ids
from clientele.lake.schema import GOLDEN_IDS
from clientele.lake.store import Lake


def export_golden_ids(lake: Lake | None = None) -> int:
    """Write the lake's golden_ids table from the merges in force; returns how many members map."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    lake = lake or Lake()
    mapping = sorted(golden_ids().items())
    folder = lake.table_dir(GOLDEN_IDS)
    staged = lake.root / "_staging" / f"{GOLDEN_IDS}-{uuid.uuid4().hex[:8]}"
    staged.mkdir(parents=True)
    schema = pa.schema([pa.field("customer_id", pa.int64(), nullable=False),
                        pa.field("golden_customer_id", pa.int64(), nullable=False)])
    table = pa.Table.from_pydict({"customer_id": [m for m, _ in mapping], "golden_customer_id": [g for _, g in mapping]},
                                 schema=schema)
    pq.write_table(table, staged / f"{GOLDEN_IDS}.parquet")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staged, folder)
    return len(mapping)
