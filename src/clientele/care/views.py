"""Customer care's back-office pages under /backoffice/care/: the after-sales call list, member
events with attendance, and cost against value per tier. Thin: each calls a service and shows its
refusal on the page."""

from __future__ import annotations

from datetime import date

from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render

from clientele.backoffice.masking import masked, may_see_personal_data
from clientele.backoffice.models import PersonalDataView
from clientele.care import errors, services
from clientele.care.models import FollowUpCall
from clientele.errors import RequestRefused


def _render(request, template: str, context: dict, status: int = 200):
    """A care page in the back office's look (the admin's header, user links and styles)."""
    return render(request, template, admin.site.each_context(request) | context, status=status)


@login_required
@permission_required("care.view_followupcall", raise_exception=True)
def follow_ups(request):
    """The after-sales calls to make, largest purchase first (?all=1: every call); POST records a
    call (call, outcome, notes) for a user who may change calls."""
    problem = None
    if request.method == "POST":
        if not request.user.has_perm("care.change_followupcall"):
            return _render(request, "backoffice/403.html", {"reason": "your role may not record calls",
                                                            "title": "Not allowed"}, status=403)
        try:
            services.record_follow_up(int(request.POST.get("call") or 0), request.user.get_username(),
                                      request.POST.get("outcome", ""), request.POST.get("notes", ""))
        except RequestRefused as refused:
            problem = refused.message
        else:
            return redirect("care:follow_ups")
    unmasked = may_see_personal_data(request.user)
    every = request.GET.get("all") == "1"
    calls = [{"call": call, "name": call.member.display_name if unmasked else f"Member {call.member.customer_id}",
              "phone": call.member.phone if unmasked else masked(call.member.phone)}
             for call in services.call_list(pending_only=not every)[:500]]
    if unmasked and calls:  # who saw which member's name and phone, as the 360 and the segment export log it
        PersonalDataView.objects.bulk_create([
            PersonalDataView(user=request.user, username=request.user.get_username(),
                             customer_id=row["call"].member.customer_id, channel="after-sales call list")
            for row in calls])
    rules = services.FollowUpRules.configured()
    return _render(request, "care/follow_ups.html", {
        "calls": calls, "every": every, "summary": services.follow_up_summary(), "rules": rules,
        "outcomes": FollowUpCall.Outcome.choices[1:], "problem": problem, "title": "After-sales calls",
        "may_record": request.user.has_perm("care.change_followupcall")}, status=422 if problem else 200)


@login_required
@permission_required("care.view_memberevent", raise_exception=True)
def events(request):
    """Member events with their attendance; POST `create` (programme administrators) defines an
    event, POST `attend` records a member's attendance (event, member_number)."""
    problem, done = None, None
    if request.method == "POST":
        action = request.POST.get("action")
        needed = "care.add_memberevent" if action == "create" else "care.add_eventattendance"
        if action not in ("create", "attend") or not request.user.has_perm(needed):
            return _render(request, "backoffice/403.html", {"reason": "your role may not do this",
                                                            "title": "Not allowed"}, status=403)
        try:
            if action == "create":
                held_on = _day(request.POST.get("held_on", ""))
                event = services.create_event(request.POST.get("code", "").strip(), request.POST.get("name", ""),
                                              held_on, _points(request.POST.get("bonus_points", "")))
                done = f"Event {event.code} created."
            else:
                answer = services.record_attendance(request.POST.get("event", ""), request.user.get_username(),
                                                    member_number=_member_number(request.POST.get("member_number")))
                done = (f"Member {answer['member_number']} already recorded for {answer['event']}: no new points."
                        if answer["replayed"] else
                        f"Member {answer['member_number']} took part in {answer['event']}: "
                        f"{answer['points_awarded']} points credited.")
        except RequestRefused as refused:
            problem = refused.message
    return _render(request, "care/events.html", {
        "events": services.events_with_attendance(), "problem": problem, "done": done, "title": "Member events",
        "may_create": request.user.has_perm("care.add_memberevent"),
        "may_attend": request.user.has_perm("care.add_eventattendance")}, status=422 if problem else 200)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidEvent(f"{value!r} is not a day (YYYY-MM-DD)", field="held_on") from None


def _points(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise errors.InvalidEvent(f"{value!r} is not a number of points", field="bonus_points") from None


def _member_number(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise errors.InvalidEvent(f"{value!r} is not a member number", field="member_number") from None


@login_required
@permission_required("care.view_cost_to_serve", raise_exception=True)
def cost(request):
    """Cost against value per value tier (?format=csv: the same table as CSV)."""
    rows = services.cost_by_tier()
    if request.GET.get("format") == "csv":
        from clientele.care.reports import cost_csv_response

        return cost_csv_response(rows)
    from clientele.config import settings

    shown = [row | {"cost_percent": "—" if row["cost_share_of_margin"] is None
                    else f"{row['cost_share_of_margin']:.2%}"} for row in rows]
    return _render(request, "care/cost.html", {"rows": shown, "margin_rate": settings().margin_rate,
                                               "title": "Customer cost against value"})
