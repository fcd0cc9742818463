"""The service desk's permissions given to the back office's roles (groups of backoffice 0002):
service agents work complaints and win-back calls, marketers run surveys; a "service supervisor"
role (the agents' permissions, a higher goodwill limit) is created. Permissions a fresh database
does not have yet (Django creates them after the migrations) are created first."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT = ["add_complaint", "view_complaint", "change_winbackentry", "view_winbacklist", "add_exitreason"]
ROLES = {"service agent": AGENT, "service supervisor": AGENT, "marketer": ["add_survey", "view_survey"]}


def give(apps, schema_editor):
    service = apps.get_app_config("service")
    service.models_module = True
    create_permissions(service, apps=apps, verbosity=0)
    service.models_module = None
    group_model, permission_model = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    agents, _ = group_model.objects.get_or_create(name="service agent")
    supervisors, created = group_model.objects.get_or_create(name="service supervisor")
    if created:  # what an agent may see in the back office, and more goodwill (service 0002)
        supervisors.permissions.add(*agents.permissions.all())
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.add(*permission_model.objects.filter(content_type__app_label="service",
                                                               codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [("service", "0002_taxonomy_service_levels_and_limits"),
                    ("backoffice", "0002_roles_and_append_only_audit_log"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(give, migrations.RunPython.noop)]
