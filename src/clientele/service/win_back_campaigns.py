"""A win-back list becomes a campaign with a control group, and its win-back rate is measured treated
against holdout. Decision 0055.

The campaigns app is used only through its public services: `create_campaign` (audience: the
segment the win-back list is drawn from, the lapsed; the usual random holdout, stratified by pyramid
level and lifecycle stage, from the campaign's stored seed), `launch` (the draw, stored once),
`get_campaign`, `end_campaign` (a duplicate from a race) and the campaign's stored assignments.
Each listed member takes the group the campaign drew for them: agents call the treated, never the
holdout, and the rate of return of both groups is compared.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef

from clientele.analytics.lift import rate_lift, wilson
from clientele.campaigns import services as campaigns
from clientele.campaigns.errors import CampaignError
from clientele.loyalty import ledger
from clientele.loyalty.models import Basket
from clientele.service import errors
from clientele.service.churn_models import WinBackEntry, WinBackList

#: the segment (analytics.segments) of the customers a win-back list ranks: `churn.LAPSED` in words
WIN_BACK_AUDIENCE = "lifecycle=lapsed OR lifecycle=decline OR at_risk"
#: the campaign's goal: customers coming back, relative to the holdout
GOAL_METRIC, GOAL_TARGET = "reactivation_rate", Decimal("0.10")


def _win_back_list(list_id: int, lock: bool = False) -> WinBackList:
    rows = WinBackList.objects.select_for_update() if lock else WinBackList.objects
    found = rows.filter(pk=list_id).first()
    if found is None:
        raise errors.InvalidWinBack(f"no win-back list {list_id}", field="list")
    return found


def win_back_campaign(list_id: int, actor: str, days: int = 28, holdout_share: Decimal | None = None):
    """Make the win-back list a campaign: created and launched through the campaigns app (audience
    the lapsed, its usual random holdout), each listed member given the group drawn for them, the
    holdout never to be called. Once per list: asked again, the list's campaign is answered. Returns
    the campaign."""
    win_back = _win_back_list(list_id)
    if win_back.campaign_id is not None:
        return win_back.campaign
    if not 1 <= days <= 365:
        raise errors.InvalidWinBack(f"a win-back campaign runs 1 to 365 days, not {days}", field="days")
    if win_back.entries.exclude(called_at=None).exists():
        raise errors.InvalidWinBack(f"win-back list {list_id} has calls already: a control group drawn now would "
                                    "not be comparable; make a new list", field="list")
    today = ledger.now_utc().date()
    try:
        campaign = campaigns.create_campaign(campaigns.CampaignIn(
            name=f"Win-back: {win_back.name}", owner=actor, goal_metric=GOAL_METRIC, goal_target=GOAL_TARGET,
            window_start=today, window_end=today + timedelta(days=days - 1), audience=WIN_BACK_AUDIENCE,
            holdout_share=holdout_share, message=f"Win-back calls of list {win_back.pk} ({win_back.name})"))
        campaigns.launch(campaign.pk)
        campaign = campaigns.get_campaign(campaign.pk)  # as launched
    except CampaignError as refused:
        raise errors.InvalidWinBack(f"the campaign was refused: {refused.message}", field="campaign") from None
    groups = dict(campaign.assignments.values_list("customer_id", "group"))
    with transaction.atomic():
        win_back = _win_back_list(list_id, lock=True)
        if win_back.campaign_id is not None:  # another request linked one meanwhile
            campaigns.end_campaign(campaign.pk)
            return win_back.campaign
        win_back.campaign = campaign
        win_back.save(update_fields=["campaign"])
        entries = list(win_back.entries.select_related("member"))
        for entry in entries:
            entry.group = groups.get(entry.member.customer_id, "")
        WinBackEntry.objects.bulk_update(entries, ["group"], batch_size=1000)
    return campaign


def win_back_by_group(list_id: int) -> dict:
    """The list's win-back rate, treated against holdout (intent-to-treat: every listed member of a
    group counts, called or not): per group members, how many came back (a till basket after the
    campaign's launch) and the rate with its 95% interval; the difference with its interval
    (Newcombe). Members the campaign did not draw (no nightly result) are counted apart."""
    win_back = _win_back_list(list_id)
    if win_back.campaign_id is None:
        raise errors.InvalidWinBack(f"win-back list {list_id} has no campaign: make it one first", field="list")
    since = win_back.campaign.launched_at
    came_back = Exists(Basket.objects.filter(member=OuterRef("member"), transacted_at__gt=since))
    counted = {"treated": [0, 0], "holdout": [0, 0], "": [0, 0]}
    for group, back in win_back.entries.annotate(back=came_back).values_list("group", "back"):
        counted[group][0] += 1
        counted[group][1] += int(back)
    groups = {}
    for group in ("treated", "holdout"):
        members, back = counted[group]
        low, high = wilson(back, members)
        groups[group] = {"members": members, "came_back": back,
                         "win_back_rate": round(back / members, 4) if members else None,
                         "low": round(low, 4), "high": round(high, 4)}
    result = {"list": win_back.pk, "campaign": win_back.campaign_id, "since": since, **groups,
              "not_drawn": counted[""][0], "difference": None}
    if groups["treated"]["members"] and groups["holdout"]["members"]:
        lift = rate_lift("win_back_rate", groups["treated"]["came_back"], groups["treated"]["members"],
                         groups["holdout"]["came_back"], groups["holdout"]["members"])
        result["difference"] = {"value": round(lift.difference, 4), "low": round(lift.difference_low, 4),
                                "high": round(lift.difference_high, 4)}
    return result
