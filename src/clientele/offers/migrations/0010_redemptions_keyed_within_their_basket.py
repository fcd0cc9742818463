"""A redemption's key unique within its basket (every key names its basket), by one index led by the
basket that also serves the basket's foreign key and its look-ups: one index fewer written per
offer applied at a till (decision 0097). The budgets' slices likewise found by (budget, slice) alone:
the till probes a basket's slice by both."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0016_redemption_at_a_till_or_a_voucher'),
        ('members', '0005_till_context'),
        ('offers', '0009_budget_slices_room_for_updates'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='offerredemption',
            constraint=models.UniqueConstraint(fields=('basket', 'redemption_key'), name='redemption_once_per_key_of_basket'),
        ),
        migrations.RemoveConstraint(
            model_name='offerredemption',
            name='redemption_once_per_key',
        ),
        migrations.AlterField(
            model_name='offerredemption',
            name='basket',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='offer_redemptions', to='loyalty.basket'),
        ),
        migrations.AlterField(
            model_name='offerbudgetslice',
            name='budget',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='parts', to='offers.offerbudget'),
        ),
    ]
