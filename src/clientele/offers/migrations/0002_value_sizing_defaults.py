"""The value sizing a chain starts from (PRODUCT.md §5): the heavier the customer, the larger the
offer, and a loyal customer's list worth 30-40; a marketer changes the rows in the back office."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = [("VIP", "3.00", "40.00"), ("major", "2.00", "30.00"), ("medium", "1.50", "15.00"),
            ("small", "1.00", "8.00")]


def add_defaults(apps, schema_editor):
    sizing = apps.get_model("offers", "ValueSizing")
    for level, factor, most in DEFAULTS:
        sizing.objects.get_or_create(pyramid_level=level,
                                     defaults={"factor": Decimal(factor), "max_list_value": Decimal(most)})


class Migration(migrations.Migration):
    dependencies = [("offers", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
