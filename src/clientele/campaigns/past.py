"""The Complete Journey's own campaigns as past campaigns, for the page and the CLI: computed by
`analytics.past_campaigns` once per state of the lake's tables and kept as JSON under
<home>/campaigns/ (the comparison reads the whole lake 27 times: tens of seconds, too slow for a page)."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

from clientele.config import settings
from clientele.lake.reader import table_path

TABLES = ("basket_lines", "campaigns", "campaign_descriptions", "coupon_redemptions")


def lake_state() -> str:
    """A key that changes when any table the comparison reads changes (its files' names, sizes, times)."""
    digest = hashlib.sha256()
    for name in TABLES:
        folder = table_path(name)
        for path in sorted(folder.rglob("*.parquet")) if folder.exists() else []:
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def past_campaign_rows(engine: str | None = None, recompute: bool = False) -> dict:
    """{"computed_at", "rows"}: the past campaigns (see `analytics.past_campaigns.past_campaigns`),
    from the cache when the lake has not changed since they were computed. Raises LakeTableMissing
    when the lake holds no campaign tables (nothing imported from the Complete Journey)."""
    from clientele.analytics.past_campaigns import past_campaigns
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines, read_table

    folder = settings().home.resolve() / "campaigns"
    path = folder / f"past-{lake_state()}.json"
    if path.exists() and not recompute:
        return json.loads(path.read_text())
    con = connect(engine)
    rows = past_campaigns(basket_lines(con), read_table(con, "campaigns"), read_table(con, "campaign_descriptions"),
                          read_table(con, "coupon_redemptions"))
    result = {"computed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": rows}
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("past-*.json"):
        stale.unlink(missing_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps(result, default=_plain))
    partial.replace(path)
    return json.loads(path.read_text())


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__}")
