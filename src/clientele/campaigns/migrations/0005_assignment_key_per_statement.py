"""An assignment's campaign is checked once per statement, not once per row (decision 0050).

Launching a campaign of 3M members inserts 3M assignments in one COPY; PostgreSQL's foreign key
checked each row at commit (about 50 s of the launch) and Django's own index on campaign_id repeated
the unique (campaign, customer_id) index's prefix. The key stays enforced by the database:
- PostgreSQL: an AFTER INSERT statement trigger over the inserted rows (a transition table) refuses
  any assignment whose campaign does not exist (locking the campaigns it names, as a key would), and
  a BEFORE DELETE/UPDATE OF id trigger refuses to remove or renumber a campaign that has assignments;
- SQLite: the same checks as row triggers (SQLite has no statement triggers; its per-row check is cheap).
"""

from django.db import migrations, models

POSTGRESQL = [
    """CREATE FUNCTION campaigns_assignment_campaign_exists() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE named bigint[]; found integer;
       BEGIN
         SELECT array_agg(DISTINCT campaign_id) INTO named FROM new_rows;
         SELECT count(*) INTO found FROM (SELECT id FROM campaigns_campaign WHERE id = ANY(named) FOR KEY SHARE) c;
         IF found < coalesce(array_length(named, 1), 0) THEN
           RAISE EXCEPTION 'an assignment names a campaign that does not exist' USING ERRCODE = 'foreign_key_violation';
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER campaigns_assignment_campaign_exists AFTER INSERT ON campaigns_assignment
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION campaigns_assignment_campaign_exists()""",
    """CREATE FUNCTION campaigns_campaign_kept_while_assigned() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM campaigns_assignment WHERE campaign_id = OLD.id) THEN
           RAISE EXCEPTION 'campaign %% has assignments: it cannot be removed or renumbered', OLD.id
             USING ERRCODE = 'foreign_key_violation';
         END IF;
         RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
       END $$""",
    """CREATE TRIGGER campaigns_campaign_kept_while_assigned BEFORE DELETE OR UPDATE OF id ON campaigns_campaign
       FOR EACH ROW EXECUTE FUNCTION campaigns_campaign_kept_while_assigned()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER campaigns_campaign_kept_while_assigned ON campaigns_campaign",
    "DROP FUNCTION campaigns_campaign_kept_while_assigned()",
    "DROP TRIGGER campaigns_assignment_campaign_exists ON campaigns_assignment",
    "DROP FUNCTION campaigns_assignment_campaign_exists()",
]
# SQLite rebuilds the table for the altered key: migration 0002's triggers are dropped before (the
# contacts' trigger names the table being renamed) and made again after.
SQLITE_BEFORE = ["DROP TRIGGER IF EXISTS campaigns_holdout_never_contacted",
                 "DROP TRIGGER IF EXISTS campaigns_assignment_frozen"]
SQLITE = [
    """CREATE TRIGGER campaigns_assignment_frozen BEFORE UPDATE ON campaigns_assignment
       BEGIN SELECT RAISE(ABORT, 'a campaign assignment is drawn once and never changed'); END""",
    """CREATE TRIGGER campaigns_holdout_never_contacted BEFORE INSERT ON campaigns_contact
       WHEN (SELECT "group" FROM campaigns_assignment WHERE id = NEW.assignment_id) = 'holdout'
       BEGIN SELECT RAISE(ABORT, 'a holdout member is never contacted'); END""",
    """CREATE TRIGGER campaigns_assignment_campaign_exists BEFORE INSERT ON campaigns_assignment
       WHEN NOT EXISTS (SELECT 1 FROM campaigns_campaign WHERE id = NEW.campaign_id)
       BEGIN SELECT RAISE(ABORT, 'an assignment names a campaign that does not exist'); END""",
    """CREATE TRIGGER campaigns_campaign_kept_while_assigned BEFORE DELETE ON campaigns_campaign
       WHEN EXISTS (SELECT 1 FROM campaigns_assignment WHERE campaign_id = OLD.id)
       BEGIN SELECT RAISE(ABORT, 'a campaign with assignments cannot be removed'); END""",
    """CREATE TRIGGER campaigns_campaign_kept_renumbered BEFORE UPDATE OF id ON campaigns_campaign
       WHEN OLD.id <> NEW.id AND EXISTS (SELECT 1 FROM campaigns_assignment WHERE campaign_id = OLD.id)
       BEGIN SELECT RAISE(ABORT, 'a campaign with assignments cannot be renumbered'); END""",
]
SQLITE_REVERSE = SQLITE_BEFORE + ["DROP TRIGGER campaigns_assignment_campaign_exists", "DROP TRIGGER campaigns_campaign_kept_while_assigned",
                  "DROP TRIGGER campaigns_campaign_kept_renumbered"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0004_assignment_customer_index")]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE_BEFORE}), _run({"sqlite": SQLITE[:2]})),
        migrations.AlterField(
            model_name="assignment", name="campaign",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=models.deletion.PROTECT,
                                    related_name="assignments", to="campaigns.campaign"),
        ),
        migrations.RunPython(_run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
                             _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE})),
    ]
