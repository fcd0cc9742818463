"""The ledger's (account, available_from) index carries the amount too (decision 0017).

Every balance (the checkout's answer, identify's greeting, a redemption's check) sums the amount
of every entry of one account. Without the amount in the index, PostgreSQL fetched one heap page
per entry: a member's history of weekly baskets lies on as many pages, so the sum cost grew with
the history (0.71 ms for 150 entries, against 0.11 ms from the index alone:
benchmarks/bench_ledger_balance.py). The amount is a third key column, not PostgreSQL's INCLUDE,
so SQLite's index covers the sum too.

On PostgreSQL:
- the new index is built `CONCURRENTLY` before the old one is dropped, so checkouts go on while a
  large ledger is indexed and always have an index to sum with. A build that failed halfway
  leaves an invalid index behind: running the migration again drops it and builds it anew.
- autovacuum visits the ledger after 1% of new entries instead of 20%: an index-only scan reads
  the heap for the entries on pages vacuum has not yet marked all-visible.
"""

from django.db import migrations, models

OLD, NEW = "loyalty_poi_account_b53be8_idx", "ledger_account_balance"
OLD_INDEX = models.Index(fields=["account", "available_from"], name=OLD)
NEW_INDEX = models.Index(fields=["account", "available_from", "amount"], name=NEW)
#: Autovacuum's insert trigger for the ledger: a share of its entries (PostgreSQL's default: 0.2).
VACUUM_INSERT_SCALE = "autovacuum_vacuum_insert_scale_factor"


def _build_concurrently(schema_editor, model, index: models.Index) -> None:
    """Build `index` without blocking writes, after dropping what a failed earlier build left (an
    index by that name that PostgreSQL marked invalid)."""
    quote = schema_editor.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in index.fields)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname = %s", [index.name])
        found = cursor.fetchone()
        if found and found[0]:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(index.name)}")
        cursor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(index.name)} "
                       f"ON {quote(model._meta.db_table)} ({columns})")


def _replace(apps, schema_editor, old: models.Index, new: models.Index, storage: str) -> None:
    """Index `new` in place of `old`; on PostgreSQL concurrently, then the ledger's `storage`."""
    model = apps.get_model("loyalty", "PointsEntry")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(model, new)
        schema_editor.remove_index(model, old)
        return
    _build_concurrently(schema_editor, model, new)
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(old.name)}")
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(model._meta.db_table)} {storage}")


def forwards(apps, schema_editor):
    _replace(apps, schema_editor, OLD_INDEX, NEW_INDEX, f"SET ({VACUUM_INSERT_SCALE} = 0.01)")


def backwards(apps, schema_editor):
    _replace(apps, schema_editor, NEW_INDEX, OLD_INDEX, f"RESET ({VACUUM_INSERT_SCALE})")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("loyalty", "0008_rules_version"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="pointsentry", name=OLD),
                migrations.AddIndex(model_name="pointsentry", index=NEW_INDEX),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
