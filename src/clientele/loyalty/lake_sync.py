"""`clientele lake sync`: the till's baskets and returns reach the lake exactly once.

Each run claims the unsynced baskets and returns under a new import id (committed before any
file is written), stages their lines through `Lake`, publishes them, then marks them synced. A run
that dies in between is finished by the next one: a claimed import already in the lake's log is
only marked synced; one that is not is staged again from scratch under the same id.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction
from django.db.models import Q

from clientele.lake.schema import BASKET_LINE_SCHEMA, BASKET_LINES, PROFILING_REFUSAL_SCHEMA, PROFILING_REFUSALS
from clientele.lake.store import ImportRecord, Lake
from clientele.loyalty.ledger import now_utc
from clientele.loyalty.models import Basket, BasketLine, BasketReturn, ReturnLine
from clientele.members.models import Member

SOURCE = "till-api"
BATCH = 50_000



def lake_basket_id(store_id: int, till_id: str, receipt_number: str) -> str:
    """The lake's basket_id of a till basket: store/till/receipt with each part percent-encoded, so
    that till "A/B" receipt "C" and till "A" receipt "B/C" (both allowed by the till API) stay two
    baskets in the lake ("1/A%2FB/C" and "1/A/B%2FC"); parts without "/", ":" or "%" read as before."""
    return "/".join(quote(str(part), safe="-._") for part in (store_id, till_id, receipt_number))


def _local(moment: datetime, zone: str) -> datetime:
    """Store-local wall-clock time, as the lake keeps it (naive)."""
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _lines(import_id: str) -> list[dict]:
    """The lake rows of every basket line and returned line claimed by `import_id`."""
    rows = []
    sold = BasketLine.objects.filter(basket__lake_import_id=import_id).values(
        "line_no", "product_id", "quantity", "sales_value", "discount", "basket__store_id", "basket__till_id",
        "basket__receipt_number", "basket__transacted_at", "basket__store__timezone", "basket__member__customer_id",
        "basket__card__barcode", "basket__channel").order_by("basket_id", "line_no")
    for line in sold.iterator():
        rows.append(_row(
            lake_basket_id(line["basket__store_id"], line["basket__till_id"], line["basket__receipt_number"]),
            line["line_no"],
            line["basket__member__customer_id"], line["basket__card__barcode"], line["basket__store_id"],
            _local(line["basket__transacted_at"], line["basket__store__timezone"]), line["product_id"],
            line["quantity"], line["sales_value"], line["discount"], line["basket__channel"], import_id))
    returned = ReturnLine.objects.filter(basket_return__lake_import_id=import_id).values(
        "quantity", "refund", "basket_line__line_no", "basket_line__product_id", "basket_return__return_key",
        "basket_return__store_id", "basket_return__store__timezone", "basket_return__returned_at",
        "basket_return__basket__member__customer_id", "basket_return__basket__channel").order_by("id")
    for line in returned.iterator():
        rows.append(_row(
            line["basket_return__return_key"], line["basket_line__line_no"],
            line["basket_return__basket__member__customer_id"], None, line["basket_return__store_id"],
            _local(line["basket_return__returned_at"], line["basket_return__store__timezone"]),
            line["basket_line__product_id"], -line["quantity"], -line["refund"], Decimal(0),
            line["basket_return__basket__channel"], import_id))
    return rows


def _row(basket_id, line_no, customer_id, barcode, store_id, local_ts, product_id, quantity, sales_value,
         discount, channel, import_id) -> dict:
    return {"basket_id": basket_id, "line_no": line_no, "customer_id": customer_id, "card_barcode": barcode,
            "store_id": store_id, "transaction_ts": local_ts, "product_id": product_id, "quantity": quantity,
            "sales_value": sales_value, "retail_disc": discount, "coupon_disc": Decimal(0),
            "coupon_match_disc": Decimal(0), "channel": channel, "source_file": SOURCE, "import_id": import_id}


def _publish(lake: Lake, import_id: str) -> int:
    """Stage and publish the claimed lines; returns how many lines reached the lake."""
    lake.discard(import_id)  # a run that died mid-way may have left staged files: start them again
    rows = _lines(import_id)
    record = ImportRecord(import_id=import_id, source=SOURCE, file="operational database", sha256="",
                          started_at=now_utc().isoformat(timespec="seconds"))
    if rows:
        con = lake.connect()
        con.register("till_lines", pa.Table.from_pylist(rows, schema=BASKET_LINE_SCHEMA))
        lake.write_basket_lines(con, "SELECT * FROM till_lines", import_id)
        con.close()
    record.rows_read = record.rows_loaded = len(rows)
    record.tables = {BASKET_LINES: len(rows)}
    lake.publish(record)
    return len(rows)


def _mark_synced(import_id: str) -> None:
    with transaction.atomic():
        moment = now_utc()
        Basket.objects.filter(lake_import_id=import_id).update(synced_at=moment)
        BasketReturn.objects.filter(lake_import_id=import_id).update(synced_at=moment)


def _claim(batch: int) -> str | None:
    """Give the next unsynced baskets and returns an import id; None when there is nothing left."""
    with transaction.atomic():
        # Unclaimed baskets are unsynced: the (synced_at, id) index finds them in order (the one on
        # lake_import_id holds only claimed baskets, so that a checkout writes no entry in it).
        baskets = list(Basket.objects.filter(synced_at__isnull=True, lake_import_id="").order_by("id")
                       .values_list("id", flat=True)[:batch])
        returns = list(BasketReturn.objects.filter(lake_import_id="").order_by("id").values_list("id", flat=True)[:batch])
        if not baskets and not returns:
            return None
        import_id = uuid.uuid4().hex[:16]
        Basket.objects.filter(id__in=baskets).update(lake_import_id=import_id)
        BasketReturn.objects.filter(id__in=returns).update(lake_import_id=import_id)
    return import_id


def export_profiling_refusals(lake: Lake) -> int:
    """Write the lake's `profiling_refusals` table whole: the customer ids of the members who refused
    profiling or whose personal data were erased (an erased member is nobody to profile), so the
    refresh (which never reads the operational database) leaves them out. Staged and swapped in,
    so a refresh never reads half a list. Returns how many members are left out."""
    left_out = Member.objects.filter(Q(profiling_consent=False) | Q(status=Member.Status.ERASED))
    refused = sorted(left_out.values_list("customer_id", flat=True))
    folder = lake.table_dir(PROFILING_REFUSALS)
    staged = lake.root / "_staging" / f"{PROFILING_REFUSALS}-{uuid.uuid4().hex[:8]}"
    staged.mkdir(parents=True)
    table = pa.Table.from_pydict({"customer_id": refused}, schema=PROFILING_REFUSAL_SCHEMA)
    pq.write_table(table, staged / f"{PROFILING_REFUSALS}.parquet")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staged, folder)
    return len(refused)


def sync_lake(lake: Lake | None = None, batch: int = BATCH) -> dict[str, int]:
    """Append every basket and return not yet in the lake, exactly once, finishing any interrupted
    run first, then write the list of members who refused profiling (`export_profiling_refusals`).
    Returns the number of imports published and of lines appended."""
    lake = lake or Lake()
    published = {entry["import_id"] for entry in lake.imports() if entry["source"] == SOURCE}
    interrupted = set(Basket.objects.filter(synced_at__isnull=True).exclude(lake_import_id="")
                      .values_list("lake_import_id", flat=True)) | set(
        BasketReturn.objects.filter(synced_at__isnull=True).exclude(lake_import_id="")
        .values_list("lake_import_id", flat=True))
    imports = lines = 0
    for import_id in sorted(interrupted):
        if import_id not in published:
            lines += _publish(lake, import_id)
            imports += 1
        _mark_synced(import_id)
    while (import_id := _claim(batch)) is not None:
        lines += _publish(lake, import_id)
        imports += 1
        _mark_synced(import_id)
    export_profiling_refusals(lake)
    return {"imports": imports, "lines": lines}
