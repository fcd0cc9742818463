"""The data protection officer's page (/backoffice/privacy/): access exports, erasure requests
and their approval by a second person. Thin: every rule is in `privacy.access` and `privacy.erasure`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from clientele.backoffice.services import record_personal_data_view
from clientele.backoffice.views import _render
from clientele.privacy import access, erasure
from clientele.privacy.errors import PrivacyError
from clientele.privacy.models import ErasureRequest

EXPORT = "privacy.export_member_data"
REQUEST = "privacy.add_erasurerequest"
APPROVE = "privacy.approve_erasure"


def _member_number(request) -> int | None:
    number = request.POST.get("member", "").strip()
    if not number.isdigit():
        messages.error(request, f"member number: {number!r} is not a number")
        return None
    return int(number)


@login_required
@permission_required("privacy.view_erasurerequest", raise_exception=True)
def privacy_page(request):
    requests = ErasureRequest.objects.all()[:100]
    return _render(request, "privacy/privacy.html", {"title": "Personal data", "requests": requests,
                                                     "can_export": request.user.has_perm(EXPORT),
                                                     "can_request": request.user.has_perm(REQUEST),
                                                     "can_approve": request.user.has_perm(APPROVE)})


@require_POST
@login_required
@permission_required(EXPORT, raise_exception=True)
def export_view(request):
    number = _member_number(request)
    if number is None:
        return redirect("privacy:page")
    try:
        archive = access.export_member(number)
    except PrivacyError as error:
        messages.error(request, str(error))
        return redirect("privacy:page")
    record_personal_data_view(request.user, archive.customer_id, "access export")
    return FileResponse(archive.path.open("rb"), as_attachment=True, filename=archive.path.name)


@require_POST
@login_required
@permission_required(REQUEST, raise_exception=True)
def request_view(request):
    number = _member_number(request)
    if number is not None:
        try:
            answer = erasure.request_erasure(number, reason=request.POST.get("reason", ""),
                                             requested_by=request.user.get_username())
            messages.success(request, f"Erasure request {answer.request_id} for member {answer.customer_id}: "
                                      f"{answer.status}")
        except PrivacyError as error:
            messages.error(request, str(error))
    return redirect("privacy:page")


@require_POST
@login_required
@permission_required(APPROVE, raise_exception=True)
def approve_view(request, request_id: int):
    """The second person approves, and the erasure is carried out at once."""
    try:
        erasure.approve_erasure(request_id, approved_by=request.user.get_username())
        answer = erasure.carry_out(request_id)
        messages.success(request, f"Member {answer.customer_id} erased (request {answer.request_id})")
    except PrivacyError as error:
        messages.error(request, str(error))
    return redirect("privacy:page")
