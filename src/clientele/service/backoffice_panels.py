"""The service desk's panels on the back office's customer 360: the member's complaints, their
status, lateness and what was given for each, with a link to record a new one; the satisfaction
surveys the member was invited to and their answers. Loaded by the back office's panel registry
(`backoffice.panels.load_contributed_panels`)."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from django.utils import timezone

from clientele.service import services
from clientele.service.survey_models import Invitation


def _complaints(page) -> dict:
    return {"complaints": services.member_complaints(page.member), "member_number": page.member.customer_id}


register("customer_360", Panel("complaints", "Complaints", "service/panel_complaints.html", 45, _complaints,
                               permission="service.add_complaint"))


def _surveys(page) -> dict:
    invitations = (Invitation.objects.filter(member=page.member).select_related("survey", "answer", "answer__store")
                   .prefetch_related("answer__ratings__attribute").order_by("-sent_at", "-id"))
    return {"invitations": list(invitations), "now": timezone.now()}


register("customer_360", Panel("surveys", "Satisfaction surveys", "service/panel_surveys.html", 47, _surveys))
