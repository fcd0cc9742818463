"""The lake's basket history of the member (the refresh's baskets table, one row per basket); each
basket's lines open on their own page, read from that basket's month of the lake."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register


def _lake_baskets(page) -> dict:
    baskets = page.results["baskets"]
    return {"baskets": baskets, "member": page.member}


register("customer_360", Panel("lake_baskets", "Basket history (the lake, as of the last refresh)",
                               "backoffice/panels/lake_baskets.html", 80, _lake_baskets))
