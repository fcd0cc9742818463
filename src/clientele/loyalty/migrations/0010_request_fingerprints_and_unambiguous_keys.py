"""Idempotency that cannot be fooled (issue 16): a basket's credit keyed by the basket's own id
(`ledger.basket_credit_key`) instead of "earn:store/till/receipt", which two baskets could share
when a till or receipt id holds a "/"; a till id as long as the API accepts (64); the fingerprint
of redemptions and returns; the first answers of enrolments and card replacements."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0009_ledger_balance_index_covers_amount'),
    ]

    operations = [
        migrations.AddField(
            model_name='basketreturn',
            name='request_hash',
            field=models.CharField(blank=True, help_text='Tells a genuine replay from a reused return id (empty before 2026-12-06).', max_length=64),
        ),
        migrations.AddField(
            model_name='redemption',
            name='request_hash',
            field=models.CharField(blank=True, help_text='Tells a genuine replay from a reused redemption id (empty before 2026-12-06).', max_length=64),
        ),
        migrations.AlterField(
            model_name='basket',
            name='till_id',
            field=models.CharField(max_length=64),
        ),
        migrations.CreateModel(
            name='TillRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('call', models.CharField(max_length=20)),
                ('key', models.CharField(max_length=200)),
                ('request_hash', models.CharField(max_length=64)),
                ('result', models.JSONField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('call', 'key'), name='till_request_once')],
            },
        ),
        # The same statement on SQLite and PostgreSQL; there is nothing to undo it to.
        migrations.RunSQL(
            "UPDATE loyalty_pointsentry SET idempotency_key = 'earn:' || basket_id "
            "WHERE kind = 'points_earned' AND basket_id IS NOT NULL",
            migrations.RunSQL.noop),
    ]
