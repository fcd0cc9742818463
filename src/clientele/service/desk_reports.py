"""The service desk's analysis pages: the complaint analysis of a period, a survey's results with
its satisfaction-loyalty curve, and a win-back list an agent works through. Thin over the services."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect

from clientele.errors import ClienteleError
from clientele.service import errors, services
from clientele.service.churn_models import ChurnReason, WinBackEntry, WinBackList
from clientele.service.complaints import now_utc
from clientele.service.desk_views import AGENT, render_page
from clientele.service.models import Survey


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        raise errors.ServiceError(f"{value!r} is not a date (YYYY-MM-DD)", field="start") from None


@login_required
@permission_required(AGENT, raise_exception=True)
def complaint_report(request):
    """The complaint analysis of ?start=&end= (default: the last 365 days)."""
    today = now_utc().date()
    try:
        start, end = _day(request.GET.get("start"), today - timedelta(days=364)), _day(request.GET.get("end"), today)
        report, problem = services.complaint_report(start, end), None
    except errors.ServiceError as refused:
        start, end, report, problem = today - timedelta(days=364), today, None, refused.message
    return render_page(request, "service/report.html", {"report": report, "start": start, "end": end, "problem": problem,
                                                    "title": "Complaint analysis"}, status=422 if problem else 200)


@login_required
@permission_required("service.add_survey", raise_exception=True)
def survey_results(request, code: str):
    """A survey's simple mean and weighted index side by side, and its satisfaction-loyalty curve
    (when the lake has baskets)."""
    try:
        results = services.survey_results(code)
    except errors.UnknownSurvey as unknown:
        raise Http404(unknown.message) from None
    try:
        curve, curve_problem = services.satisfaction_loyalty(code, int(request.GET.get("weeks", "8"))), None
    except (ClienteleError, ValueError) as missing:
        curve, curve_problem = None, str(missing)
    return render_page(request, "service/survey_results.html", {
        "survey": Survey.objects.get(code=code), "results": results, "curve": curve, "curve_problem": curve_problem,
        "title": f"Survey {code}"})


@login_required
@permission_required("service.change_winbackentry", raise_exception=True)
def win_back(request, list_id: int):
    """A win-back list, rank 1 first; POST records a call (entry, reached, outcome, reason)."""
    problem = None
    if request.method == "POST":
        try:
            services.record_call(int(request.POST.get("entry", "0")), request.user.get_username(),
                                 request.POST.get("reached") == "yes", request.POST.get("outcome", ""),
                                 request.POST.get("reason", ""))
        except errors.ServiceError as refused:
            problem = refused.message
        else:
            return redirect("service:win_back", list_id=list_id)
    chosen = WinBackList.objects.filter(pk=list_id).first()
    if chosen is None:
        raise Http404(f"no win-back list {list_id}")
    by_group = services.win_back_by_group(list_id) if chosen.campaign_id else None
    return render_page(request, "service/win_back.html", {
        "win_back": chosen, "results": services.win_back_results(list_id), "problem": problem, "by_group": by_group,
        "entries": WinBackEntry.objects.filter(win_back_list=chosen).select_related("member"),
        "reasons": ChurnReason.choices, "outcomes": WinBackEntry.Outcome.choices[1:],
        "title": chosen.name}, status=422 if problem else 200)
