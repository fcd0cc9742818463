"""The items of shopping lists that ended long ago, deleted (decision 0118): what a member was
expected to buy is personal data, kept `CLIENTELE_RETENTION_LIST_DAYS` after the list's end. The
list itself stays (its number, member, validity and offers' value), for the redemptions that name it.

On PostgreSQL the items are partitioned by generation (decision 0096): a partition whose every
list ended before the cut-off is dropped whole, so the partitions stay as many as the lists kept,
not one more every 14 days for ever; items left in other partitions (the default one, the items
written before the partitioning) are deleted row by row. SQLite deletes the rows.
"""

from __future__ import annotations

import re
from datetime import date

from django.db import connection

from clientele.offers.list_models import ShoppingList, ShoppingListItem

#: A generation's partition: the range of its lists' ids, FROM (first) TO (last + 1).
_RANGE = re.compile(r"FOR VALUES FROM \('?(\d+)'?\) TO \('?(\d+)'?\)")


def ended_items(cutoff: date) -> int:
    """Items still held of the lists whose validity ended before `cutoff`."""
    return ShoppingListItem.objects.filter(shopping_list__valid_until__lt=cutoff).count()


def delete_ended_items(cutoff: date) -> int:
    """Delete the items of the lists that ended before `cutoff`, in the caller's transaction.
    Returns how many were deleted."""
    deleted = 0
    if connection.vendor == "postgresql":
        deleted += _drop_ended_partitions(cutoff)
    count, _ = ShoppingListItem.objects.filter(shopping_list__valid_until__lt=cutoff).delete()
    return deleted + count


def _drop_ended_partitions(cutoff: date) -> int:
    """Drop each generation's partition none of whose lists runs on or after `cutoff`; its rows."""
    items, lists = ShoppingListItem._meta.db_table, ShoppingList._meta.db_table
    dropped = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                       "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass", [items])
        for name, bound in cursor.fetchall():
            found = _RANGE.fullmatch(bound or "")
            if not found:  # the default partition, or the items from before the partitioning (MINVALUE)
                continue
            first, end = int(found[1]), int(found[2])
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {lists} WHERE id >= %s AND id < %s "
                           "AND valid_until >= %s)", [first, end, cutoff])
            if cursor.fetchone()[0]:
                continue
            cursor.execute(f"SELECT count(*) FROM {name}")
            dropped += cursor.fetchone()[0]
            cursor.execute(f"DROP TABLE {name}")
    return dropped
