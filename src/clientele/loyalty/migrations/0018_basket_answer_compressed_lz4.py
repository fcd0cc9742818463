"""A basket's stored answer compressed with lz4 (when the server has it) rather than pglz, on
PostgreSQL: the answer of a basket with 20 offers is about 4 kB of JSON, compressed at every
checkout (decision 0097). Setting it again where it was set is harmless."""

from django.db import migrations


def compress_with_lz4(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        if cursor.fetchone()[0]:
            cursor.execute("ALTER TABLE loyalty_basket ALTER COLUMN result SET COMPRESSION lz4")


def compress_as_the_server_does(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE loyalty_basket ALTER COLUMN result SET COMPRESSION DEFAULT")


class Migration(migrations.Migration):

    dependencies = [
        ("loyalty", "0017_voucher_collected_at_a_till"),
    ]

    operations = [migrations.RunPython(compress_with_lz4, compress_as_the_server_does)]
