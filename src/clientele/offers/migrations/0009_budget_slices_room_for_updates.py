"""What a checkout with offers writes, made cheaper to write (decision 0097), PostgreSQL only:

- The budgets' slices kept a page each few (fillfactor 10): every checkout that applies an offer
  updates one slice, and an update finds room on its own page for the row's new version (a HOT
  update: no index entry written, the old version pruned by the next reader) instead of moving
  to another page with three new index entries, as on full pages, where the slices' table and
  its indexes swelled with dead versions under a till's load. The table is rewritten once
  (CLUSTER) so the rows already there get the room too.

(The basket's stored answer compressed with lz4 is the loyalty app's table's: loyalty 0018.)"""

from django.db import migrations


def make_room(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE offers_offerbudgetslice SET (fillfactor = 10)")
    schema_editor.execute("CLUSTER offers_offerbudgetslice USING offer_budget_slice_once")


def leave_as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE offers_offerbudgetslice RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ('offers', '0008_list_items_without_own_list_index'),
    ]

    operations = [migrations.RunPython(make_room, leave_as_before)]
