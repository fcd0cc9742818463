"""Integrity the database enforces (issue 16): the foreign keys of the till's write path, dropped
for speed by migrations 0004-0007, restored: basket to store, member and card; basket line to
basket and product; ledger entry to account and basket. No path (an admin delete racing a
checkout, raw SQL, a merge, an erasure) can leave an orphan (docs/integrity.md). Adding them
checks every existing row, under a lock that holds the till's writes back meanwhile."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0001_initial'),
        ('loyalty', '0010_request_fingerprints_and_unambiguous_keys'),
        ('members', '0003_member_number_sequence'),
    ]

    operations = [
        migrations.AlterField(
            model_name='basket',
            name='card',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, to='members.card'),
        ),
        migrations.AlterField(
            model_name='basket',
            name='member',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='baskets', to='members.member'),
        ),
        migrations.AlterField(
            model_name='basket',
            name='store',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, to='catalog.store'),
        ),
        migrations.AlterField(
            model_name='basketline',
            name='basket',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='loyalty.basket'),
        ),
        migrations.AlterField(
            model_name='basketline',
            name='product',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, to='catalog.product'),
        ),
        migrations.AlterField(
            model_name='pointsentry',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='loyalty.loyaltyaccount'),
        ),
        migrations.AlterField(
            model_name='pointsentry',
            name='basket',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='loyalty.basket'),
        ),
    ]
