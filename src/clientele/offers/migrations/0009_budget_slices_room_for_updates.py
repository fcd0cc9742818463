"""The budgets' slices kept a page each few (fillfactor 10, decision 0097): every checkout that
applies an offer updates one slice, and an update finds room on its own page for the row's new
version (a HOT update: no index entry written, the old version pruned by the next reader) instead
of moving to another page with three new index entries, as on full pages, where the slices' table
and its indexes swelled with dead versions under a till's load. PostgreSQL only; the table is
rewritten once (CLUSTER) so the rows already there get the room too."""

from django.db import migrations


def make_room(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE offers_offerbudgetslice SET (fillfactor = 10)")
    schema_editor.execute("CLUSTER offers_offerbudgetslice USING offer_budget_slice_once")


def leave_full(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE offers_offerbudgetslice RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ('offers', '0008_list_items_without_own_list_index'),
    ]

    operations = [migrations.RunPython(make_room, leave_full)]
