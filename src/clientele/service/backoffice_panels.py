"""The service desk's panel on the back office's customer 360: the member's complaints, their
status, lateness and what was given for each; a link to record a new one. Loaded by the back
office's panel registry (`backoffice.panels.load_contributed_panels`)."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from clientele.service import services


def _complaints(page) -> dict:
    return {"complaints": services.member_complaints(page.member), "member_number": page.member.customer_id}


register("customer_360", Panel("complaints", "Complaints", "service/panel_complaints.html", 45, _complaints,
                               permission="service.add_complaint"))
