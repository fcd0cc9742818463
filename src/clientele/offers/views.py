"""The back office's offers pages: a member's current shopping list (for the staff who may see a
member), and a manufacturer's own anonymised report (for a manufacturer's login, and only its own).

A manufacturer's user is linked to one `ManufacturerAccount` (`ManufacturerLogin`); the report page
takes no manufacturer from the request, so no URL shows another's. Decision 0046.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render

from clientele.offers import lists
from clientele.offers.errors import OfferError
from clientele.offers.models import ManufacturerLogin

#: The report's default period: this many weeks to the lake's last day.
DEFAULT_WEEKS = 13


def _render(request, template: str, context: dict, status: int = 200):
    return render(request, template, admin.site.each_context(request) | context, status=status)


@login_required
def member_list(request, customer_id: int):
    """The member's current shopping list as printed (items by department, offers, barcode)."""
    if not request.user.has_perm("backoffice.view_customer_360"):
        raise PermissionDenied("a member's shopping list is for the staff who may see members")
    try:
        shopping_list = lists.current_list(customer_id)
    except OfferError as error:
        return _render(request, "offers/member_list.html", {"title": f"Shopping list of member {customer_id}",
                                                            "error": error.message}, status=error.status)
    return _render(request, "offers/member_list.html", {
        "title": f"Shopping list of member {customer_id}", "list": lists.list_document(shopping_list),
        "print_url": f"/admin/offers/shoppinglist/{shopping_list.number}/print/",
        "barcode": lists.ean13_svg(shopping_list.number)})


def _own_account(request):
    if not request.user.has_perm("backoffice.view_anonymised_reports"):
        raise PermissionDenied("the anonymised reports are for manufacturers' accounts")
    login = ManufacturerLogin.objects.select_related("account").filter(user=request.user).first()
    if login is None:
        raise PermissionDenied("this user is not linked to a manufacturer's account")
    return login.account


def _period(request) -> tuple[date, date]:
    try:
        until = date.fromisoformat(request.GET["to"]) if request.GET.get("to") else _lake_last_day()
        since = (date.fromisoformat(request.GET["from"]) if request.GET.get("from")
                 else until - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1))
    except ValueError:
        raise PermissionDenied("give the period's days as YYYY-MM-DD") from None
    return since, until


def _lake_last_day() -> date:
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines

    last = basket_lines(connect()).transaction_ts.max().execute()
    return last.date() if last is not None else date.today()


@login_required
def manufacturer_report(request):
    """The signed-in manufacturer's anonymised report for a period (`from`, `to`; default the lake's
    last 13 weeks), as a page, or as CSV or Parquet (`format`)."""
    from clientele.config import settings
    from clientele.engine import connect
    from clientele.offers import reports

    account = _own_account(request)
    since, until = _period(request)
    table = reports.build(account.manufacturer_id, since, until, settings().report_min_households, connect())
    fmt = request.GET.get("format")
    if fmt in ("csv", "parquet"):
        with tempfile.TemporaryDirectory() as folder:
            out = reports.write(table, Path(folder) / f"report.{fmt}", fmt)
            body = out.read_bytes()
        response = HttpResponse(body, content_type="text/csv" if fmt == "csv" else "application/vnd.apache.parquet")
        response["Content-Disposition"] = (f'attachment; filename="report-{account.manufacturer_id}-{since}-{until}'
                                           f'.{fmt}"')
        return response
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return _render(request, "offers/manufacturer_report.html", {
        "title": f"Anonymised report: {account.name}", "account": account, "since": since, "until": until,
        "columns": list(table.columns), "rows": rows, "k": settings().report_min_households})
