"""The back office's marketer role runs the offers: it may view, create and change offers and the
manufacturer accounts that fund them, change the value sizing of the lists, and view the lists and
the redemptions (their billing records). Before this only a superuser could make an offer."""

from django.db import migrations

PERMISSIONS = [
    "view_offer", "add_offer", "change_offer",
    "view_manufactureraccount", "add_manufactureraccount", "change_manufactureraccount",
    "view_valuesizing", "change_valuesizing",
    "view_shoppinglist", "view_offerredemption",
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("offers")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name="marketer")
    found = apps.get_model("auth", "Permission").objects.filter(content_type__app_label="offers",
                                                               codename__in=PERMISSIONS)
    missing = set(PERMISSIONS) - {permission.codename for permission in found}
    if missing:
        raise LookupError(f"the marketer role names offers permissions that do not exist: {sorted(missing)}")
    group.permissions.add(*found)


def revoke(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name="marketer").first()
    if group:
        group.permissions.remove(*group.permissions.filter(content_type__app_label="offers",
                                                           codename__in=PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [("offers", "0013_list_item_reason_label"), ("backoffice", "0002_roles_and_append_only_audit_log"),
                    ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, revoke)]
