"""The nightly check that no row of the till's write path lost its parent (docs/integrity.md).

The database's foreign keys make an orphan impossible by any path (migration loyalty 0011); this
check, run by the nightly refresh, is the alarm that says so every night, and names what broke
if a restore, a manual repair or a future migration ever gets round them.
"""

from __future__ import annotations

from django.db import connection

from clientele.errors import ClienteleError

#: Each kind of orphan, and the query counting them: rows whose reference names no parent.
_ORPHANS = {
    "ledger entries without their points account": (
        "loyalty_pointsentry", "account_id", "loyalty_loyaltyaccount", "id"),
    "ledger entries without their basket": ("loyalty_pointsentry", "basket_id", "loyalty_basket", "id"),
    "baskets without their store": ("loyalty_basket", "store_id", "catalog_store", "store_id"),
    "baskets without their member": ("loyalty_basket", "member_id", "members_member", "id"),
    "baskets without their card": ("loyalty_basket", "card_id", "members_card", "id"),
    "basket lines without their basket": ("loyalty_basketline", "basket_id", "loyalty_basket", "id"),
    "basket lines without their product": ("loyalty_basketline", "product_id", "catalog_product", "product_id"),
    "points accounts without their member": ("loyalty_loyaltyaccount", "member_id", "members_member", "id"),
}


class OrphansFound(ClienteleError):
    """Rows of the operational database reference a parent that no longer exists."""


def orphans() -> dict[str, int]:
    """How many orphans of each kind the operational database holds (only the kinds it has)."""
    found = {}
    with connection.cursor() as cursor:
        for kind, (table, column, parent, key) in _ORPHANS.items():
            cursor.execute(f"SELECT count(*) FROM {table} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "
                           f"(SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})")
            (count,) = cursor.fetchone()
            if count:
                found[kind] = count
    return found


def check_no_orphans() -> None:
    """Raise OrphansFound, naming each kind and its count, when any row lost its parent."""
    found = orphans()
    if found:
        listed = "; ".join(f"{count:,} {kind}" for kind, count in found.items())
        raise OrphansFound(f"the operational database holds orphans: {listed} (see docs/integrity.md)")
