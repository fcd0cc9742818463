"""Customer care's panel on the back office's customer 360: the member's cost against their value.
Loaded by the back office's panel registry (`backoffice.panels.load_contributed_panels`)."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from clientele.care import services


def _cost(page) -> dict:
    margin = (page.results["customer_margin"] or [None])[0]
    return {"cost": services.cost_against_value(page.member, margin)}


register("customer_360", Panel("cost_against_value", "Cost against value", "care/panel_cost.html", 48, _cost,
                               permission="care.view_cost_to_serve"))
