"""Offers' budgets split into slices that tills take from in parallel (decision 0091, by i19): each
budget's given and left carried into its one first slice (re-split at the offer's next save)."""

import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


def slice_the_budgets(apps, schema_editor):
    budgets = apps.get_model("offers", "OfferBudget")
    slices = apps.get_model("offers", "OfferBudgetSlice")
    slices.objects.bulk_create([
        slices(budget=budget, slice=0, given_money=budget.given_money, given_count=budget.given_count,
               money_left=None if budget.budget_money is None else budget.budget_money - budget.given_money,
               count_left=None if budget.budget_count is None else budget.budget_count - budget.given_count)
        for budget in budgets.objects.all()])


class Migration(migrations.Migration):

    dependencies = [
        ('offers', '0006_offer_activation'),
    ]

    operations = [
        migrations.CreateModel(
            name='OfferBudgetSlice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slice', models.PositiveSmallIntegerField()),
                ('money_left', models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ('count_left', models.IntegerField(null=True)),
                ('given_money', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14)),
                ('given_count', models.IntegerField(default=0)),
            ],
            options={
                'ordering': ['budget', 'slice'],
            },
        ),
        migrations.AddField(
            model_name='offerbudget',
            name='slices',
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddConstraint(
            model_name='offerbudget',
            constraint=models.CheckConstraint(condition=models.Q(('slices__gte', 1), ('slices__lte', 16)), name='offer_budget_slices_1_16'),
        ),
        migrations.AddField(
            model_name='offerbudgetslice',
            name='budget',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='parts', to='offers.offerbudget'),
        ),
        migrations.AddConstraint(
            model_name='offerbudgetslice',
            constraint=models.UniqueConstraint(fields=('budget', 'slice'), name='offer_budget_slice_once'),
        ),
        migrations.AddConstraint(
            model_name='offerbudgetslice',
            constraint=models.CheckConstraint(condition=models.Q(('money_left__isnull', True), ('money_left__gte', 0), _connector='OR'), name='offer_budget_money_never_exceeded'),
        ),
        migrations.AddConstraint(
            model_name='offerbudgetslice',
            constraint=models.CheckConstraint(condition=models.Q(('count_left__isnull', True), ('count_left__gte', 0), _connector='OR'), name='offer_budget_count_never_exceeded'),
        ),
        migrations.AddConstraint(
            model_name='offerbudgetslice',
            constraint=models.CheckConstraint(condition=models.Q(('given_count__gte', 0), ('given_money__gte', 0)), name='offer_given_not_negative'),
        ),
        migrations.RunPython(slice_the_budgets, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='offerbudget',
            name='offer_budget_money_never_exceeded',
        ),
        migrations.RemoveConstraint(
            model_name='offerbudget',
            name='offer_budget_count_never_exceeded',
        ),
        migrations.RemoveConstraint(
            model_name='offerbudget',
            name='offer_given_not_negative',
        ),
        migrations.RemoveField(
            model_name='offerbudget',
            name='given_count',
        ),
        migrations.RemoveField(
            model_name='offerbudget',
            name='given_money',
        ),
    ]
