"""The migrations describe the models: a model change without its migration would reach a database
as a schema that the code does not expect (or never reach it)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as missing:  # --check exits 1 when a migration is missing
        pytest.fail(f"models changed without a migration (exit {missing.code}):\n{out.getvalue()}")
