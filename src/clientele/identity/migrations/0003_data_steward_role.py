"""The back office's data steward role: reviews candidate pairs, merges and unmerges members, and
sees the members' contact details to do it."""

from django.db import migrations

PERMISSIONS = [("identity", "review_pairs"), ("identity", "view_candidatepair"), ("identity", "view_merge"),
               ("backoffice", "view_customer_360"), ("backoffice", "view_personal_data"), ("backoffice", "view_all_stores"), ("members", "view_member")]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for label in ("identity", "backoffice", "members"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    permission = apps.get_model("auth", "Permission")
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name="data steward")
    group.permissions.add(*[permission.objects.get(content_type__app_label=label, codename=code)
                            for label, code in PERMISSIONS])


def revoke(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="data steward").delete()


class Migration(migrations.Migration):
    dependencies = [("identity", "0002_review_permission"), ("backoffice", "0002_roles_and_append_only_audit_log"),
                    ("members", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, revoke)]
