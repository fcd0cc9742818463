"""The back office's marketer role runs campaigns: it may view, create and change them."""

from django.db import migrations

PERMISSIONS = ["view_campaign", "add_campaign", "change_campaign"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("campaigns")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name="marketer")
    group.permissions.add(*apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="campaigns", codename__in=PERMISSIONS))


def revoke(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name="marketer").first()
    if group:
        group.permissions.remove(*group.permissions.filter(content_type__app_label="campaigns"))


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0002_frozen_assignments"), ("backoffice", "0002_roles_and_append_only_audit_log"),
                    ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, revoke)]
