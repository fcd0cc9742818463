"""The back office's roles (groups with their permissions) and the audit log made append-only by
the database: a trigger refuses every UPDATE and DELETE of an entry."""

from django.db import migrations

TABLE = "backoffice_personaldataview"
MESSAGE = "the personal-data audit log is append-only"

#: vendor -> (statements making the log append-only, statements undoing it)
TRIGGERS = {
    "postgresql": (
        [f"""CREATE FUNCTION backoffice_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$""",
         f"""CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {TABLE}
             FOR EACH ROW EXECUTE FUNCTION backoffice_audit_append_only()"""],
        [f"DROP TRIGGER audit_log_append_only ON {TABLE}", "DROP FUNCTION backoffice_audit_append_only()"],
    ),
    "sqlite": (
        [f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON {TABLE} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
         for verb in ("UPDATE", "DELETE")],
        ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    ),
}


def create_roles(apps, schema_editor):
    from clientele.backoffice.roles import create_roles as create

    create(apps)


def _run(schema_editor, index: int) -> None:
    for statement in TRIGGERS[schema_editor.connection.vendor][index]:
        schema_editor.execute(statement)


def append_only(apps, schema_editor):
    _run(schema_editor, 0)


def allow_changes(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("loyalty", "0009_ledger_balance_index_covers_amount"),
        ("members", "0004_member_search_indexes"),
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(append_only, allow_changes),
    ]
