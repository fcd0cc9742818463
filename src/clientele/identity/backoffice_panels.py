"""The identity app's panel on the customer 360: the profile's completeness and the fields it
misses, the last purchase, contact and change and whether the record is stale, and the member
numbers merged into this one (with the merge that can undo each). Loaded by the panel registry."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from clientele.identity.merging import merged_numbers
from clientele.identity.models import Merge
from clientele.identity.quality import member_quality


def _data_quality(page) -> dict:
    member = page.member
    merges = (Merge.objects.filter(survivor=member, undone_at__isnull=True).select_related("absorbed")
              .order_by("pk"))
    absorbed_by = Merge.objects.filter(absorbed=member, undone_at__isnull=True).select_related("survivor").first()
    return {"quality": member_quality(member), "merged_numbers": merged_numbers(member.customer_id),
            "merges": list(merges), "absorbed_by": absorbed_by}


register("customer_360", Panel("data_quality", "Data quality and merges", "identity/panel_data_quality.html", 15,
                               _data_quality))
