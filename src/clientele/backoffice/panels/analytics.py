"""The analytics' panels (from the refresh's result tables in the lake): brand cells, categories
where the member is a top customer, traits, the products likely bought next and the lifecycle."""

from __future__ import annotations

from clientele.backoffice.panels import Panel, register
from clientele.catalog.models import Product


def _habits(page) -> dict:
    return {"cells": page.results["brand_loyalty"], "top_categories": page.results["category_pyramid"],
            "traits": page.results["traits"]}


def _next_purchases(page) -> dict:
    likely = page.results["next_purchases"]
    products = Product.objects.in_bulk([row["product_id"] for row in likely])
    return {"likely": [row | {"product": products.get(row["product_id"])} for row in likely],
            "next_visit": (page.results["next_visits"] or [None])[0]}


def _lifecycle(page) -> dict:
    return {"months": page.results["lifecycle_history"]}


register("customer_360", Panel("habits", "Brand habits and traits", "backoffice/panels/habits.html", 50, _habits))
register("customer_360", Panel("next_purchases", "Next visit and products likely bought next",
                               "backoffice/panels/next_purchases.html", 55, _next_purchases))
register("customer_360", Panel("lifecycle", "Lifecycle, month by month", "backoffice/panels/lifecycle.html", 58,
                               _lifecycle))
