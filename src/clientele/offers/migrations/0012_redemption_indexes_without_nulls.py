"""The redemptions' indexes on their nullable references (funder, member, list) leave out the NULLs,
which nothing reads by them: a retailer-funded offer applied at a till writes one index entry fewer,
an anonymous basket's general offer two fewer (decision 0115).

On PostgreSQL the new indexes are built `CONCURRENTLY` before the old ones are dropped (as loyalty
0009 does for the ledger): tills go on recording redemptions while a large table is indexed, and a
reader always has an index. A build that failed halfway leaves an invalid index behind: running the
migration again drops it and builds it anew.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q

#: (the index before, the index after); the foreign keys' own indexes are named by Django's rule.
FUNDER = (models.Index(fields=["funder", "redeemed_at"], name="offers_offe_funder__e91d95_idx"),
          models.Index(fields=["funder", "redeemed_at"], condition=Q(funder__isnull=False),
                       name="redemption_by_funder"))
MEMBER = (models.Index(fields=["member"], name="offers_offerredemption_member_id_e145e7d2"),
          models.Index(fields=["member"], condition=Q(member__isnull=False), name="redemption_by_member"))
LIST = (models.Index(fields=["shopping_list"], name="offers_offerredemption_shopping_list_id_a15bff32"),
        models.Index(fields=["shopping_list"], condition=Q(shopping_list__isnull=False), name="redemption_by_list"))


def _replace(apps, schema_editor, pairs: list[tuple[models.Index, models.Index]]) -> None:
    """Each pair's second index in place of its first; on PostgreSQL concurrently."""
    model = apps.get_model("offers", "OfferRedemption")
    concurrently = schema_editor.connection.vendor == "postgresql"
    options = {"concurrently": True} if concurrently else {}  # PostgreSQL's schema editor only
    for old, new in pairs:
        if concurrently:
            with schema_editor.connection.cursor() as cursor:
                cursor.execute("SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                               "WHERE c.relname = %s", [new.name])
                found = cursor.fetchone()
            if found and found[0]:  # left invalid by a build that failed: built anew
                schema_editor.remove_index(model, new, concurrently=True)
            if found and not found[0]:
                continue  # built by an earlier run that failed further on
        schema_editor.add_index(model, new, **options)
    for old, new in pairs:
        schema_editor.remove_index(model, old, **options)


def forwards(apps, schema_editor):
    _replace(apps, schema_editor, [FUNDER, MEMBER, LIST])


def backwards(apps, schema_editor):
    _replace(apps, schema_editor, [(new, old) for old, new in (FUNDER, MEMBER, LIST)])


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ('loyalty', '0018_basket_answer_compressed_lz4'),
        ('members', '0005_till_context'),
        ('offers', '0011_list_items_partitioned_by_generation'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name='offerredemption', name=FUNDER[0].name),
                migrations.AlterField(
                    model_name='offerredemption',
                    name='member',
                    field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                            to='members.member'),
                ),
                migrations.AlterField(
                    model_name='offerredemption',
                    name='shopping_list',
                    field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                            to='offers.shoppinglist'),
                ),
                migrations.AddIndex(model_name='offerredemption', index=FUNDER[1]),
                migrations.AddIndex(model_name='offerredemption', index=MEMBER[1]),
                migrations.AddIndex(model_name='offerredemption', index=LIST[1]),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
