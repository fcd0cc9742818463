"""The identity app's panel on the customer 360: the profile's completeness and the fields it
misses, the last purchase, contact and change and whether the record is stale, the member
numbers merged into this one (with the merge that can undo each), and what the merges mean for the
nightly profile shown. Loaded by the panel registry."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from clientele.backoffice.selectors import one_to_one
from clientele.identity.merging import merged_numbers
from clientele.identity.models import Merge
from clientele.identity.quality import member_quality


def profile_notes(member, merges: list[Merge]) -> list[str]:
    """What the merges in force into `member` mean for its nightly profile (decision 0106): whose
    profile it is when a merge moved it here, or that it was computed before a merge (the next
    refresh describes the combined customer)."""
    profile = one_to_one(member, "profile")
    notes = []
    for merge in merges:
        absorbed = merge.absorbed.customer_id
        if profile is not None and (merge.moved or {}).get("elsewhere", {}).get("described", {}).get(
                "profile") == profile.pk:
            notes.append(f"the nightly profile is member {absorbed}'s, moved by merge {merge.pk} "
                         f"(this member had none)")
        elif profile is None or profile.refreshed_on <= merge.merged_at.date():
            notes.append(f"the nightly profile was computed before merge {merge.pk} of member {absorbed}: "
                         f"the next refresh describes the combined customer")
    return notes


def _data_quality(page) -> dict:
    member = page.member
    merges = list(Merge.objects.filter(survivor=member, undone_at__isnull=True).select_related("absorbed")
                  .order_by("pk"))
    absorbed_by = Merge.objects.filter(absorbed=member, undone_at__isnull=True).select_related("survivor").first()
    return {"quality": member_quality(member), "merged_numbers": merged_numbers(member.customer_id),
            "merges": merges, "absorbed_by": absorbed_by, "profile_notes": profile_notes(member, merges)}


register("customer_360", Panel("data_quality", "Data quality and merges", "identity/panel_data_quality.html", 15,
                               _data_quality))
