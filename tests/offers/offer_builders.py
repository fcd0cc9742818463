"""Builders shared by the offers scenarios (imported by name: pytest's conftest is not a module to import)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from clientele.offers import services
from clientele.offers.models import Offer

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
CEREAL_NATIONAL, CEREAL_STORE, MILK, SOAP = 2001, 2002, 2003, 2004
#: The day the Complete Journey slice is refreshed to (its lists run from the day after).
AS_OF = date(2017, 12, 17)


def make_offer(code: str = "cereal-50c", **fields) -> Offer:
    """An offer saved through the service: by default 0.50 off each national cereal, funded by the retailer."""
    products = fields.pop("product_ids", None)
    audience = fields.pop("audience", None)
    values = {"name": code, "target": "brand", "manufacturer_id": 69, "brand_type": "National",
              "benefit": "amount_off", "amount": Decimal("0.50"), "valid_from": NOW - timedelta(days=1),
              "valid_until": NOW + timedelta(days=13)} | fields
    return services.save_offer(Offer(code=code, **values), product_ids=products, audience=audience)
