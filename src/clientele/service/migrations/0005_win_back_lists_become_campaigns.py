import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0004_assignment_customer_index'),
        ('members', '0004_member_search_indexes'),
        ('service', '0004_vouchers_are_offers'),
    ]

    operations = [
        migrations.AddField(
            model_name='winbackentry',
            name='group',
            field=models.CharField(blank=True, choices=[('treated', 'Treated (called)'), ('holdout', 'Holdout (never called)')], help_text="The member's group in the list's campaign; empty before one.", max_length=7),
        ),
        migrations.AddField(
            model_name='winbacklist',
            name='campaign',
            field=models.OneToOneField(blank=True, help_text='The campaign whose random holdout splits the list (decision 0055).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='win_back_list', to='campaigns.campaign'),
        ),
        migrations.AddConstraint(
            model_name='winbackentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('group', 'holdout'), _negated=True), models.Q(('called_at__isnull', True), ('outcome', 'pending')), _connector='OR'), name='win_back_holdout_never_called'),
        ),
    ]
