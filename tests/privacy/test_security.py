"""Security settings a deployment relies on: Django's deployment check clean in production, till
keys stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def test_the_production_settings_pass_django_s_deployment_check_with_no_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIENTELE_", "DJANGO_"))}
    env |= {"CLIENTELE_ENVIRONMENT": "production", "CLIENTELE_SECRET_KEY": "k" * 10 + "-production-" + "x" * 40,
            "CLIENTELE_HOME": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "clientele.site.settings",
            "PYTHONPATH": str(SRC)}
    check = subprocess.run([sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "System check identified no issues (0 silenced)." in check.stdout


def test_a_till_key_is_stored_only_as_its_sha256(db):
    from django.db import connection

    from clientele.catalog.models import Store
    from clientele.loyalty.identity import issue_api_key

    key, raw = issue_api_key(Store.objects.create(store_id=3), "till 3")
    secret = raw.rsplit("_", 1)[1]
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM loyalty_apikey")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert secret not in stored and raw not in stored
