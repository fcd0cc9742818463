"""Cost against value per tier as machines read it: CSV and JSON rows (the CLI and the page share them)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.http import HttpResponse

COLUMNS = ("value_tier", "customers", "estimated_margin", "points_cost", "offers_cost", "service_cost", "total_cost",
           "net_value", "cost_share_of_margin")


def plain(rows: list[dict]) -> list[dict]:
    """The rows with money as strings (exact) and only the report's columns, in order."""
    return [{name: str(row[name]) if isinstance(row[name], Decimal) else row[name] for name in COLUMNS}
            for row in rows]


def cost_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(plain(rows))
    return out.getvalue()


def cost_csv_response(rows: list[dict]) -> HttpResponse:
    response = HttpResponse(cost_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cost-against-value.csv"'
    return response
