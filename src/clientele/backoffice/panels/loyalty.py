"""The loyalty programme's panels: tier, points (available, pending), the ledger with each entry's
reason and rule versions, the rewards redeemed (at a till, or in the portal with a voucher, and
whether a till handed it over), and the baskets the tills posted, with their lines.

Kept here rather than in `clientele.loyalty` while that app's till code is being reworked."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from clientele.backoffice.selectors import one_to_one
from clientele.loyalty.ledger import balance
from clientele.loyalty.models import Basket, PointsEntry, Redemption

LEDGER_ROWS = 100
TILL_BASKETS = 20
REDEMPTIONS = 20


def _points(page) -> dict:
    account = one_to_one(page.member, "loyalty_account")
    if account is None:
        return {"account": None}
    entries = list(PointsEntry.objects.filter(account=account).select_related("rule")
                   .order_by("-created_at", "-id")[:LEDGER_ROWS])
    redemptions = list(Redemption.objects.filter(account=account).select_related("reward")
                       .order_by("-created_at", "-id")[:REDEMPTIONS])
    for redemption in redemptions:  # a voucher collects the reward: the page shows its end only
        redemption.voucher_end = redemption.voucher_code[-3:]
    return {"account": account, "balance": balance(account.pk), "entries": entries, "limit": LEDGER_ROWS,
            "redemptions": redemptions, "redemptions_limit": REDEMPTIONS}


def _till_baskets(page) -> dict:
    baskets = list(Basket.objects.filter(member=page.member).select_related("store")
                   .prefetch_related("lines__product").order_by("-transacted_at")[:TILL_BASKETS])
    return {"baskets": baskets, "limit": TILL_BASKETS}


register("customer_360", Panel("points", "Tier and points", "backoffice/panels/points.html", 40, _points))
register("customer_360", Panel("till_baskets", "Baskets from the tills", "backoffice/panels/till_baskets.html", 70,
                               _till_baskets))
