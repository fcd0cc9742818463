"""The ledger's (account, available_from) index carries the amount too (PostgreSQL's INCLUDE).

Every balance (the checkout's answer, identify's greeting, a redemption's check) sums the amount
of every entry of one account. Without the amount in the index, PostgreSQL fetched one heap page
per entry: a member's history of weekly baskets lies on as many pages, so the sum cost grew with
the history (0.62 ms for 150 entries, against 0.10 ms from the index alone:
benchmarks/bench_ledger_balance.py). SQLite has no INCLUDE: its index stays as it was.

On PostgreSQL the new index is built `CONCURRENTLY` before the old one is dropped, so checkouts
go on while a large ledger is indexed and always have an index to sum with.
"""

from django.db import migrations, models

OLD, NEW = "loyalty_poi_account_b53be8_idx", "ledger_account_balance"


def _index(name: str, **options) -> models.Index:
    return models.Index(fields=["account", "available_from"], name=name, **options)


def _swap(old: models.Index, new: models.Index):
    def run(apps, schema_editor):
        model = apps.get_model("loyalty", "PointsEntry")
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, new, concurrently=True)
            schema_editor.remove_index(model, old, concurrently=True)
        else:
            schema_editor.add_index(model, new)
            schema_editor.remove_index(model, old)
    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("loyalty", "0008_rules_version"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="pointsentry", name=OLD),
                migrations.AddIndex(model_name="pointsentry", index=_index(NEW, include=["amount"])),
            ],
            database_operations=[
                migrations.RunPython(_swap(_index(OLD), _index(NEW, include=["amount"])),
                                     _swap(_index(NEW, include=["amount"]), _index(OLD)), elidable=False),
            ],
        ),
    ]
