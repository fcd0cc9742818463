"""The service desk's back-office pages: the complaints queue (late first), the complaint form with
the eight questions, and a complaint's page (workflow, goodwill points). Thin: each calls a service
and shows its refusal on the page."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render

from clientele.service import errors, services
from clientele.service.complaints import is_late, now_utc
from clientele.service.forms import ComplaintForm
from clientele.service.models import Complaint

AGENT = "service.add_complaint"


def render_page(request, template: str, context: dict, status: int = 200):
    """A service desk page in the back office's look (the admin's header, user links and styles)."""
    return render(request, template, admin.site.each_context(request) | context, status=status)


@login_required
@permission_required(AGENT, raise_exception=True)
def complaint_queue(request):
    """The open complaints, late first; the follow-up calls due today."""
    now = now_utc()
    rows = [(c, is_late(c, now)) for c in services.queue(now=now)]
    return render_page(request, "service/queue.html", {"rows": rows, "follow_ups": services.follow_ups(now.date()),
                                                   "title": "Complaints"})


@login_required
@permission_required(AGENT, raise_exception=True)
def new_complaint(request):
    """GET: the form (member number from ?member=); POST: record it, or show each field's problem."""
    form = ComplaintForm(request.POST or None, initial={"member_number": request.GET.get("member")})
    if request.method == "POST" and form.is_valid():
        try:
            complaint = services.record_complaint(services.ComplaintIn(**form.cleaned_data),
                                                  actor=request.user.get_username())
        except errors.ServiceError as refused:
            for field, problem in (refused.fields or {"member_number": refused.message}).items():
                form.add_error(field if field in form.fields else None, problem)
        else:
            return redirect("service:complaint", complaint_id=complaint.pk)
    status = 422 if request.method == "POST" else 200
    return render_page(request, "service/complaint_form.html", {"form": form, "title": "Record a complaint"}, status)


@login_required
@permission_required(AGENT, raise_exception=True)
def complaint_page(request, complaint_id: int):
    """A complaint: its answers, deadlines, changes and compensation; POST moves it in the workflow
    (`status`), gives goodwill points (`points`) or a voucher (`voucher_value`, `voucher_unit`)."""
    complaint = (Complaint.objects.select_related("member", "cause", "store", "product", "assigned_to")
                 .filter(pk=complaint_id).first())
    if complaint is None:
        raise Http404(f"no complaint {complaint_id}")
    problem = None
    if request.method == "POST":
        try:
            if "status" in request.POST:
                services.change_status(complaint_id, request.POST["status"], request.user.get_username(),
                                       request.POST.get("note", ""))
            elif "points" in request.POST:
                points = request.POST["points"]
                if not points.isdigit():
                    raise errors.InvalidComplaint(f"points: {points!r} is not a whole number", field="points")
                services.give_goodwill(complaint_id, int(points), request.user, note=request.POST.get("note", ""))
            elif "voucher_value" in request.POST:
                _give_voucher(complaint_id, request)
        except errors.ServiceError as refused:
            problem = refused.message
        else:
            return redirect("service:complaint", complaint_id=complaint_id)
    amount_limit, percent_limit = services.voucher_limits(request.user)
    context = {"complaint": complaint, "events": complaint.events.all(), "problem": problem,
               "compensations": complaint.compensations.select_related("offer"), "late": is_late(complaint, now_utc()),
               "next_statuses": sorted(services.TRANSITIONS.get(complaint.status, ())),
               "limit": services.goodwill_limit(request.user), "voucher_amount_limit": amount_limit,
               "voucher_percent_limit": percent_limit, "title": f"Complaint {complaint.pk}"}
    return render_page(request, "service/complaint.html", context, status=409 if problem else 200)


def _give_voucher(complaint_id: int, request) -> None:
    """The voucher form: a value, amount or percent, and the days it stays valid."""
    value, unit = request.POST["voucher_value"].strip(), request.POST.get("voucher_unit", "amount")
    days = request.POST.get("valid_days", "").strip() or "30"
    if unit not in ("amount", "percent"):
        raise errors.InvalidComplaint(f"a voucher is an amount or a percent off, not {unit!r}", field="voucher_unit")
    if not days.isdigit():
        raise errors.InvalidComplaint(f"valid days: {days!r} is not a whole number", field="valid_days")
    services.give_voucher(complaint_id, request.user, **{unit: value}, valid_days=int(days),
                          note=request.POST.get("note", ""))
