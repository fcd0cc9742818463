"""Vouchers are offers for the one member (issue 21): a compensation keeps its offer, and the roles' goodwill
limits gain a voucher's amount and percent off (decision 0054)."""

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


#: role -> (largest voucher amount off, largest percent off) without a supervisor's approval
VOUCHER_LIMITS = {"service agent": (Decimal("10.00"), Decimal("10")), "service supervisor": (Decimal("50.00"), Decimal("25"))}


def voucher_limits(apps, schema_editor):
    limit = apps.get_model("service", "GoodwillLimit")
    for role, (amount, percent) in VOUCHER_LIMITS.items():
        limit.objects.filter(role=role).update(max_voucher_amount=amount, max_voucher_percent=percent)


class Migration(migrations.Migration):

    dependencies = [
        ('offers', '0002_value_sizing_defaults'),
        ('service', '0003_service_roles'),
    ]

    operations = [
        migrations.AddField(
            model_name='compensation',
            name='offer',
            field=models.OneToOneField(blank=True, help_text="The voucher's offer.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='complaint_compensation', to='offers.offer'),
        ),
        migrations.AddField(
            model_name='compensation',
            name='percent',
            field=models.DecimalField(blank=True, decimal_places=2, help_text="A voucher's percent off the basket.", max_digits=5, null=True),
        ),
        migrations.AddField(
            model_name='goodwilllimit',
            name='max_voucher_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), help_text='The largest voucher amount off the basket.', max_digits=10, validators=[django.core.validators.MinValueValidator(Decimal('0'))]),
        ),
        migrations.AddField(
            model_name='goodwilllimit',
            name='max_voucher_percent',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), help_text='The largest voucher percent off the basket.', max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))]),
        ),
        migrations.AddConstraint(
            model_name='compensation',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'voucher')), fields=('complaint',), name='voucher_once'),
        ),
        migrations.AddConstraint(
            model_name='compensation',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'voucher'), _negated=True), models.Q(('offer__isnull', False), models.Q(models.Q(('amount__isnull', False), ('percent__isnull', True)), models.Q(('amount__isnull', True), ('percent__gt', 0), ('percent__lte', 100)), _connector='OR')), _connector='OR'), name='voucher_is_an_offer'),
        ),
        migrations.AddConstraint(
            model_name='compensation',
            constraint=models.CheckConstraint(condition=models.Q(('kind', 'voucher'), models.Q(('offer__isnull', True), ('percent__isnull', True)), _connector='OR'), name='only_vouchers_have_offers'),
        ),
        migrations.RunPython(voucher_limits, migrations.RunPython.noop),
    ]
