"""The points ledger append-only by the database's word (PostgreSQL): a statement that updates or
deletes entries is refused, whatever path sends it; a correction is a new entry (docs/integrity.md).
A statement-level trigger: nothing runs for the checkout's inserts."""

from django.db import migrations

CREATE = """
CREATE FUNCTION loyalty_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the points ledger is append-only: %% refused, add a correcting entry instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON loyalty_pointsentry
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_ledger_append_only();
"""
DROP = "DROP TRIGGER ledger_append_only ON loyalty_pointsentry; DROP FUNCTION loyalty_ledger_append_only();"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [("loyalty", "0011_write_path_foreign_keys")]

    operations = [migrations.RunPython(create, drop)]
