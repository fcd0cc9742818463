"""PostgreSQL: `clientele_refuse(code)`, raising `code` as an error, so the till's one-statement
write (`loyalty.basket_store.OneStatementStore`) can refuse itself, and roll back whole, when an
offer's budget or a member's limit could not be taken (decision 0045)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION clientele_refuse(code text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = code;
END $$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS clientele_refuse(text)")


class Migration(migrations.Migration):
    dependencies = [("offers", "0002_value_sizing_defaults")]
    operations = [migrations.RunPython(create, drop)]
