"""Customer care's permissions given to the back office's roles (groups of backoffice 0002):
service agents work the after-sales call list and record event attendance; store managers record
attendance; programme administrators define events; marketers, analysts and store managers see
cost against value. Permissions a fresh database does not have yet (Django creates them after the
migrations) are created first."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "service agent": ["view_followupcall", "change_followupcall", "view_memberevent", "add_eventattendance"],
    "service supervisor": ["view_followupcall", "change_followupcall", "view_memberevent", "add_eventattendance"],
    "store manager": ["view_memberevent", "add_eventattendance", "view_cost_to_serve"],
    "programme administrator": ["view_memberevent", "add_memberevent", "change_memberevent"],
    "marketer": ["view_cost_to_serve"],
    "analyst": ["view_cost_to_serve"],
}


def give(apps, schema_editor):
    care = apps.get_app_config("care")
    had_models = getattr(care, "models_module", None)
    care.models_module = had_models or True
    create_permissions(care, apps=apps, verbosity=0)
    care.models_module = had_models
    group_model, permission_model = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.add(*permission_model.objects.filter(content_type__app_label="care", codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [("care", "0001_initial"), ("service", "0003_service_roles"),
                    ("backoffice", "0002_roles_and_append_only_audit_log"),
                    ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(give, migrations.RunPython.noop)]
