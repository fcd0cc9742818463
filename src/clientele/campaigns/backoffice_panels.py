"""The campaigns app's panel on the back office's customer 360: every campaign the member was drawn
into, treated or holdout, and the messages sent. Loaded by the back office's panel registry."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from clientele.campaigns.models import Assignment


def _campaigns(page) -> dict:
    assignments = (Assignment.objects.filter(customer_id=page.member.customer_id).select_related("campaign")
                   .prefetch_related("contacts").order_by("-assigned_at", "-id"))
    return {"assignments": list(assignments)}


register("customer_360", Panel("campaigns", "Campaigns", "campaigns/panel_campaigns.html", 62, _campaigns))
