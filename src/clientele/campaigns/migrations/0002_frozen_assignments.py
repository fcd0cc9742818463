"""The database keeps the holdout honest: an assignment is never updated, and no contact is ever
recorded for a member of the holdout (triggers on SQLite and PostgreSQL)."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER campaigns_assignment_frozen BEFORE UPDATE ON campaigns_assignment
       BEGIN SELECT RAISE(ABORT, 'a campaign assignment is drawn once and never changed'); END""",
    """CREATE TRIGGER campaigns_holdout_never_contacted BEFORE INSERT ON campaigns_contact
       WHEN (SELECT "group" FROM campaigns_assignment WHERE id = NEW.assignment_id) = 'holdout'
       BEGIN SELECT RAISE(ABORT, 'a holdout member is never contacted'); END""",
]
SQLITE_REVERSE = ["DROP TRIGGER campaigns_assignment_frozen", "DROP TRIGGER campaigns_holdout_never_contacted"]

POSTGRESQL = [
    """CREATE FUNCTION campaigns_assignment_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'a campaign assignment is drawn once and never changed'; END $$""",
    """CREATE TRIGGER campaigns_assignment_frozen BEFORE UPDATE ON campaigns_assignment
       FOR EACH ROW EXECUTE FUNCTION campaigns_assignment_frozen()""",
    """CREATE FUNCTION campaigns_holdout_never_contacted() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF (SELECT "group" FROM campaigns_assignment WHERE id = NEW.assignment_id) = 'holdout' THEN
           RAISE EXCEPTION 'a holdout member is never contacted';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER campaigns_holdout_never_contacted BEFORE INSERT OR UPDATE ON campaigns_contact
       FOR EACH ROW EXECUTE FUNCTION campaigns_holdout_never_contacted()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER campaigns_holdout_never_contacted ON campaigns_contact",
    "DROP FUNCTION campaigns_holdout_never_contacted()",
    "DROP TRIGGER campaigns_assignment_frozen ON campaigns_assignment",
    "DROP FUNCTION campaigns_assignment_frozen()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
                             _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE})),
    ]
