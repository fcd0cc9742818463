"""The earning rules' version, kept by PostgreSQL itself (decision 0016).

Every statement that changes `loyalty_earningrule` (an insert, update, delete or truncate, from
Django or from anywhere else) sets the one row of `loyalty_rulesversion` to a new number from a
sequence. The row changes with the transaction that changed the rules, so a checkout sees the new
number exactly when it can see the new rules; the sequence never gives a number twice, even when
that transaction is rolled back, so a number always stands for one content of the rules. On
SQLite there is no version: the checkout reads the rules each time.
"""

from django.db import migrations

CREATE = """
CREATE SEQUENCE loyalty_rules_version_seq;
CREATE TABLE loyalty_rulesversion (
    id integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO loyalty_rulesversion VALUES (1, nextval('loyalty_rules_version_seq'));
CREATE FUNCTION loyalty_rules_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE loyalty_rulesversion SET version = nextval('loyalty_rules_version_seq') WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER loyalty_rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON loyalty_earningrule
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_rules_changed();
"""

DROP = """
DROP TRIGGER loyalty_rules_changed ON loyalty_earningrule;
DROP FUNCTION loyalty_rules_changed();
DROP TABLE loyalty_rulesversion;
DROP SEQUENCE loyalty_rules_version_seq;
"""


def on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("loyalty", "0007_ledger_basket_without_constraint_partial_indexes"),
    ]

    operations = [
        migrations.RunPython(on_postgresql(CREATE), on_postgresql(DROP), elidable=False),
    ]
