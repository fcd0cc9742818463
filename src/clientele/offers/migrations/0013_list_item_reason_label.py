"""The label of a list item's reason "due": since decisions 0113-0114 a list holds the member's
likeliest forecast products, some expected after the list's end; the label says so (the stored value
and the API's "due" are unchanged). No SQL: choices live in the model only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('offers', '0012_redemption_indexes_without_nulls'),
    ]

    operations = [
        migrations.AlterField(
            model_name='shoppinglistitem',
            name='reason',
            field=models.CharField(choices=[('due', 'Likely to buy soon (forecast)'), ('cross_sell', 'Chosen for the member (brand cell, traits)')], default='due', max_length=10),
        ),
    ]
