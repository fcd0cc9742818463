"""A manufacturer's statement: what the offers it funds gave in a period, offer by offer, to the cent."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from clientele.offers.errors import UnknownManufacturer
from clientele.offers.models import ManufacturerAccount, OfferRedemption


@dataclass(frozen=True)
class StatementLine:
    """One offer's redemptions in the period: count and discount net of reversals (currency units)."""

    offer: str
    name: str
    redemptions: int
    reversals: int
    discount: Decimal
    bonus_points: int


@dataclass(frozen=True)
class Statement:
    """What a manufacturer owes the retailer for [start, end): one line per offer and the totals."""

    manufacturer: str
    start: datetime
    end: datetime
    lines: list[StatementLine]

    @property
    def redemptions(self) -> int:
        return sum(line.redemptions - line.reversals for line in self.lines)

    @property
    def discount(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal("0"))

    @property
    def bonus_points(self) -> int:
        return sum(line.bonus_points for line in self.lines)

    def as_dict(self) -> dict:
        return {"manufacturer": self.manufacturer, "start": self.start, "end": self.end,
                "lines": [asdict(line) for line in self.lines], "redemptions": self.redemptions,
                "discount": self.discount, "bonus_points": self.bonus_points}


def account(manufacturer: int | str) -> ManufacturerAccount:
    """The manufacturer's account, by its number or its name; UnknownManufacturer otherwise."""
    if str(manufacturer).isdigit():
        found = ManufacturerAccount.objects.filter(manufacturer_id=int(manufacturer)).first()
    else:
        found = ManufacturerAccount.objects.filter(name=manufacturer).first()
    if found is None:
        raise UnknownManufacturer(f"no manufacturer account {manufacturer!r}")
    return found


def statement(manufacturer: int | str, start: datetime, end: datetime) -> Statement:
    """The statement of the manufacturer (its number or account name) for redemptions and reversals
    recorded in [start, end); sums are exact Decimals, so they reconcile with the tills to the cent."""
    funder = account(manufacturer)
    rows = (OfferRedemption.objects.filter(funder=funder, redeemed_at__gte=start, redeemed_at__lt=end)
            .values_list("offer__code", "offer__name", "kind", "discount", "bonus_points").order_by("offer__code"))
    lines: dict[str, dict] = {}
    for code, name, kind, discount, points in rows:
        line = lines.setdefault(code, {"offer": code, "name": name, "redemptions": 0, "reversals": 0,
                                       "discount": Decimal("0"), "bonus_points": 0})
        line["redemptions" if kind == OfferRedemption.Kind.REDEEMED else "reversals"] += 1
        line["discount"] += discount
        line["bonus_points"] += points
    return Statement(funder.name, start, end, [StatementLine(**line) for line in lines.values()])
