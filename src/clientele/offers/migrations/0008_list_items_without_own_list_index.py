"""The list items' own index on their list dropped: the unique (list, position) serves the list's
look-ups, and a generation writes one index less per item (decision 0090, by i19)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("offers", "0007_budget_slices"),
    ]

    operations = [
        migrations.AlterField(
            model_name="shoppinglistitem",
            name="shopping_list",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="items",
                                    to="offers.shoppinglist"),
        ),
    ]
