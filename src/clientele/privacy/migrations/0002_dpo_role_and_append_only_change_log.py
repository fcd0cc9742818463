"""The data protection officer's permissions (consent, access exports, erasure approval, the
change log), and django-auditlog's change log made append-only by the database: no DELETE, and an
UPDATE only of an entry's label to "Member N" (an erasure removing a name from it, decision 0068).
On SQLite the database refuses the UPDATE; a DELETE is refused by the application."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

TABLE = "auditlog_logentry"
MESSAGE = "the change log is append-only (an erasure may only relabel an entry as Member N)"
DPO = {"privacy": ["view_consentevent", "add_consentevent", "view_erasurerequest", "add_erasurerequest",
                   "approve_erasure", "export_member_data"],
       "auditlog": ["view_logentry"]}


def give(apps, schema_editor):
    for label in DPO:
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    group_model, permission_model = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    dpo, _ = group_model.objects.get_or_create(name="data protection officer")
    for label, codenames in DPO.items():
        dpo.permissions.add(*permission_model.objects.filter(content_type__app_label=label, codename__in=codenames))


def append_only(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, TABLE)]
    kept = [c for c in columns if c != "object_repr"]
    if connection.vendor == "postgresql":
        changed = " OR ".join(f'NEW."{c}" IS DISTINCT FROM OLD."{c}"' for c in kept)
        schema_editor.execute(f"""CREATE FUNCTION privacy_change_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'DELETE' OR {changed} OR NEW.object_repr NOT LIKE 'Member %' THEN
                RAISE EXCEPTION '{MESSAGE}';
              END IF;
              RETURN NEW;
            END $$""", params=None)
        schema_editor.execute(f"""CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON {TABLE}
            FOR EACH ROW EXECUTE FUNCTION privacy_change_log_append_only()""", params=None)
    else:
        # No DELETE trigger on SQLite: the test database's flush empties every table with DELETE;
        # deletion is refused by the application there (`privacy.audit.refuse_deletion`).
        changed = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in kept)
        schema_editor.execute(f"CREATE TRIGGER change_log_only_relabel BEFORE UPDATE ON {TABLE} "
                              f"WHEN {changed} OR NEW.object_repr NOT LIKE 'Member %' "
                              f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END", params=None)


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER change_log_append_only ON {TABLE}")
        schema_editor.execute("DROP FUNCTION privacy_change_log_append_only()")
    else:
        schema_editor.execute("DROP TRIGGER change_log_only_relabel")


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial"), ("auditlog", "0017_add_actor_email"),
                    ("backoffice", "0002_roles_and_append_only_audit_log"),
                    ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(give, migrations.RunPython.noop),
                  migrations.RunPython(append_only, allow_changes)]
