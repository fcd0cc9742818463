"""The campaigns app's panel on the back office's customer 360: every campaign the member was drawn
into, treated or holdout, and the messages sent (with those of the numbers merged into it). Loaded by the back office's panel registry."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from clientele.campaigns.models import Assignment


def _campaigns(page) -> dict:
    # a merged member's assignments stay frozen under the number it was drawn as (a holdout stays
    # honest); the survivor's page shows them, with that number
    from clientele.identity.merging import merged_numbers

    number = page.member.customer_id
    assignments = (Assignment.objects.filter(customer_id__in=[number, *merged_numbers(number)])
                   .select_related("campaign").prefetch_related("contacts").order_by("-assigned_at", "-id"))
    return {"assignments": list(assignments), "number": number}


register("customer_360", Panel("campaigns", "Campaigns", "campaigns/panel_campaigns.html", 62, _campaigns))
