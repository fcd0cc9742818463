"""The back office's pages: thin views that check the role, call a selector and render panels."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from clientele.analytics.customer_view import basket_lines_of
from clientele.backoffice import panels, selectors, services
from clientele.backoffice.customer import CustomerPage
from clientele.backoffice.models import PersonalDataView
from clientele.catalog.models import Product

CUSTOMER_360 = "backoffice.view_customer_360"

#: The back office's pages, as the home page lists them: (title, url name, permission).
PAGES = [
    ("Find a member (customer 360)", "backoffice:search", CUSTOMER_360),
    ("Programme dashboard", "backoffice:dashboard", "backoffice.view_dashboard"),
    ("Segments", "backoffice:segments", "backoffice.view_segments"),
    ("Campaigns against a holdout", "campaigns:list", "campaigns.view_campaign"),
    ("One customer, one ID: review queue and merges", "identity:queue", "identity.review_pairs"),
    ("Personal-data audit log", "backoffice:audit_log", "backoffice.view_audit_log"),
    ("Personal data: access and erasure", "privacy:page", "privacy.view_erasurerequest"),
    ("After-sales calls to high-value customers", "care:follow_ups", "care.view_followupcall"),
    ("Member events and their bonus", "care:events", "care.view_memberevent"),
    ("Customer cost against value", "care:cost", "care.view_cost_to_serve"),
]


def _render(request, template: str, context: dict, status: int = 200):
    """A back-office page in the admin's look (header, user links, styles)."""
    return render(request, template, admin.site.each_context(request) | context, status=status)


def forbidden(request, exception=None):
    """403: what the user may not see and why, in the back office's look, never a traceback."""
    reason = str(exception) if exception and str(exception) else "your role does not include this page"
    if not request.user.is_authenticated:
        return HttpResponseForbidden("Log in first: /admin/login/")
    return _render(request, "backoffice/403.html", {"reason": reason, "title": "Not allowed"}, status=403)


@login_required
def home(request):
    pages = [(title, name) for title, name, permission in PAGES if request.user.has_perm(permission)]
    return _render(request, "backoffice/home.html", {"pages": pages, "title": "Back office",
                                                     "can_search": request.user.has_perm(CUSTOMER_360)})


@login_required
@permission_required(CUSTOMER_360, raise_exception=True)
def search(request):
    query = request.GET.get("q", "")
    members, error = [], None
    if query.strip():
        try:
            members = selectors.find_members(request.user, query)
        except selectors.MalformedSearch as problem:
            error = str(problem)
        if len(members) == 1:
            return redirect("backoffice:customer_360", customer_id=members[0].customer_id)
    pages = [(m, CustomerPage(m, request.user).title) for m in members]
    return _render(request, "backoffice/search.html", {"query": query, "results": pages, "error": error,
                                                       "title": "Find a member", "searched": bool(query.strip())})


@login_required
@permission_required(CUSTOMER_360, raise_exception=True)
def customer_360(request, customer_id: int):
    page = CustomerPage(selectors.member_for(request.user, customer_id), request.user).read_results_ahead()
    if page.unmasked:
        services.record_personal_data_view(request.user, customer_id, "customer 360 page")
    blocks = [(panel, render_to_string(panel.template, panel.context(page) | {"page": page}, request=request))
              for panel in panels.panels_for("customer_360", request.user)]
    return _render(request, "backoffice/customer_360.html", {"page": page, "blocks": blocks, "title": page.title})


@login_required
@permission_required(CUSTOMER_360, raise_exception=True)
def lake_basket(request, customer_id: int, basket_id: str):
    page = CustomerPage(selectors.member_for(request.user, customer_id), request.user)
    basket = next((b for b in page.results["baskets"] if b["basket_id"] == basket_id), None)
    if basket is None:
        raise Http404(f"member {customer_id} has no basket {basket_id} in the lake's last refresh")
    lines = basket_lines_of(basket_id, basket["basket_date"])
    products = Product.objects.in_bulk([line["product_id"] for line in lines])
    return _render(request, "backoffice/lake_basket.html", {
        "page": page, "basket": basket, "title": f"Basket {basket_id}",
        "lines": [line | {"product": products.get(line["product_id"])} for line in lines]})


@login_required
def audit_log(request):
    if not request.user.has_perm("backoffice.view_audit_log"):
        raise PermissionDenied("the audit log is for the data protection officer")
    entries = PersonalDataView.objects.all()
    member = request.GET.get("member", "").strip()
    if member.isdigit():
        entries = entries.filter(customer_id=int(member))
    listing = Paginator(entries, 100).get_page(request.GET.get("page"))
    return _render(request, "backoffice/audit_log.html", {"listing": listing, "member": member,
                                                          "title": "Personal-data audit log"})

