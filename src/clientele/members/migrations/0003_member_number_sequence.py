"""Member numbers from a sequence on PostgreSQL (issue 16): sixteen tills enrolling at once all
get a number, none waits for another, none is refused (`members.till.next_member_number`)."""

from django.db import migrations


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite serialises writers: the highest number plus one is safe there
    schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS members_member_number")
    schema_editor.execute("SELECT setval('members_member_number', COALESCE(MAX(customer_id), 0) + 1, false) "
                          "FROM members_member")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS members_member_number")


class Migration(migrations.Migration):

    dependencies = [("members", "0002_forecasts_in_customer_profile")]

    operations = [migrations.RunPython(create_sequence, drop_sequence)]
