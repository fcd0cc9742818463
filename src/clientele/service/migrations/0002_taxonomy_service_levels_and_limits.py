"""The starting data a manager may then change: the complaint causes, the service levels per
severity and the goodwill limits per role."""

from django.db import migrations

CAUSES = [("price", "Price"), ("product_quality", "Product quality"), ("service", "Service"), ("staff", "Staff"),
          ("availability", "Availability"), ("checkout", "Checkout"), ("policy", "Policy"), ("other", "Other")]
#: severity -> (hours to the first answer, hours to resolution)
SERVICE_LEVELS = {"low": (72, 240), "medium": (24, 120), "high": (8, 48), "critical": (2, 24)}
GOODWILL_LIMITS = {"service agent": 500, "service supervisor": 5000}


def seed(apps, schema_editor):
    apps.get_model("service", "ComplaintCause").objects.bulk_create(
        apps.get_model("service", "ComplaintCause")(code=code, name=name) for code, name in CAUSES)
    level = apps.get_model("service", "ServiceLevel")
    level.objects.bulk_create(level(severity=severity, first_answer_hours=answer, resolution_hours=resolve)
                              for severity, (answer, resolve) in SERVICE_LEVELS.items())
    limit = apps.get_model("service", "GoodwillLimit")
    limit.objects.bulk_create(limit(role=role, max_points=points) for role, points in GOODWILL_LIMITS.items())


class Migration(migrations.Migration):
    dependencies = [("service", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
