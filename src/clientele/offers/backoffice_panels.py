"""The offers app's panel on the back office's customer 360: the member's current shopping list with
its items and their offers, the other offers the member may use today, and the latest redemptions.
Loaded by the back office's panel registry (`backoffice.panels.load_contributed_panels`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from clientele.backoffice.panels import Panel, register
from clientele.offers.evaluate import available
from clientele.offers.list_models import ShoppingList
from clientele.offers.lists import describe
from clientele.offers.redemption_models import OfferRedemption
from clientele.offers.services import member_view, offer_terms

REDEMPTIONS = 10


def _offers(page) -> dict:
    now = datetime.now(timezone.utc)
    member = page.member
    current = ShoppingList.objects.filter(member=member, status=ShoppingList.Status.CURRENT).first()
    items = list(current.items.select_related("product", "offer").order_by("position")) if current else []
    on_list = {item.offer_id for item in items if item.offer_id}
    in_window = current is not None and current.valid_from <= now.date() <= current.valid_until
    # the list read above gives the till's list factors (member_view would read it again)
    view = replace(member_view(member, with_list=False),
                   list_factors={offer: current.sizing_factor for offer in on_list} if in_window else {})
    usable = [terms for terms in offer_terms(now) if terms.offer_id not in on_list and available(terms, view, now)]
    redemptions = list(OfferRedemption.objects.filter(member=member).select_related("offer")
                       .order_by("-redeemed_at", "-id")[:REDEMPTIONS])
    return {"list": current, "items": items, "usable": [(terms, describe(terms)) for terms in usable],
            "redemptions": redemptions, "today": now.date()}


register("customer_360", Panel("offers", "Shopping list and offers", "offers/panel_offers.html", 60, _offers))
