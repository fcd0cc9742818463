"""The programme dashboard page and its tables as CSV downloads."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse

from clientele.backoffice.dashboard import Period, dashboard
from clientele.backoffice.views import _render

DASHBOARD = "backoffice.view_dashboard"
MAX_PERIOD_DAYS = 3 * 366


def _period(request) -> tuple[Period, str | None]:
    """The period typed in the selector, or the default period and what was wrong with the input."""
    default = Period.default()
    try:
        start = date.fromisoformat(request.GET["from"]) if request.GET.get("from") else default.start
        end = date.fromisoformat(request.GET["to"]) if request.GET.get("to") else default.end
    except ValueError:
        return default, "dates are written YYYY-MM-DD; showing the default period"
    if end < start:
        return default, "the period ends before it starts; showing the default period"
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        return default, f"a period is at most {MAX_PERIOD_DAYS} days; showing the default period"
    return Period(start, end), None


@login_required
@permission_required(DASHBOARD, raise_exception=True)
def dashboard_page(request):
    period, error = _period(request)
    figures = dashboard(period, date.today())
    charts = {name: rows for name, rows in figures["tables"].items() if name not in ("gone_top_customers", "campaigns", "refresh_flows")}
    return _render(request, "backoffice/dashboard.html", figures | {
        "error": error, "charts": charts, "title": "Programme dashboard",
        "query": f"from={period.start}&to={period.end}"})


@login_required
@permission_required(DASHBOARD, raise_exception=True)
def dashboard_csv(request, table: str):
    period, _ = _period(request)
    figures = dashboard(period, date.today())
    if table == "figures":
        rows = [{"figure": f"members.{k}", "value": v} for k, v in figures["members"].items()]
        rows += [{"figure": f"points.{k}", "value": v} for k, v in figures["points"].items() if k != "liability"]
        rows += [{"figure": f"liability.{k}", "value": v} for k, v in figures["points"]["liability"].items()]
    elif table in figures["tables"]:
        rows = figures["tables"][table]
    else:
        raise Http404(f"the dashboard has no table {table!r}")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table}-{period.start}-{period.end}.csv"'
    if rows:
        writer = csv.DictWriter(response, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return response
