"""Offers a member activates ("clips") before shopping, in the member portal: an offer saved with
`requires_activation` applies at the till only to the members who activated it (`evaluate.available`
reads the member's activations, `till.member_offers` fetches them with the checkout's other reads).

One row per member and offer (`OfferActivation`, its constraint): activating twice is one activation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum

from clientele.members.models import Member
from clientele.offers.errors import OfferError, UnknownOffer
from clientele.offers.evaluate import available
from clientele.offers.models import Offer, OfferActivation, OfferRedemption
from clientele.offers.services import member_view, offer_terms


class NotActivable(OfferError):
    """The offer cannot be activated by this member now (ended, not for them, or needs no activation)."""

    code, status, default_field = "offer_not_activable", 409, "code"


@dataclass(frozen=True)
class ActivableOffer:
    """An offer the member may clip, as the portal shows it."""

    code: str
    name: str
    description: str
    valid_until: datetime
    activated: bool


def _describe(terms) -> str:
    """What the offer gives, in a few words (\"20.00% off\")."""
    benefit = {"amount_off": "{amount} off", "percent_off": "{percent}% off", "fixed_price": "now {amount}",
               "buy_x_get_y": "buy {buy_quantity} get {get_quantity} free", "bonus_points": "{bonus_points} bonus points",
               "points_multiplier": "points x{multiplier}"}[terms.benefit]
    return benefit.format(**{name: getattr(terms, name) for name in
                             ("amount", "percent", "buy_quantity", "get_quantity", "bonus_points", "multiplier")})


def activable_offers(member: Member, at: datetime) -> list[ActivableOffer]:
    """The offers needing activation that may apply to the member's baskets now (valid, eligible,
    with budget left, under their limit), each saying whether the member activated it already;
    by precedence."""
    to_clip = [terms for terms in offer_terms(at) if terms.requires_activation]
    if not to_clip:
        return []
    view = member_view(member, on=at.date(), with_list=False)
    # eligible as if clipped: whether they clipped it is what the page shows, not a condition
    as_if_clipped = replace(view, activated=frozenset(terms.offer_id for terms in to_clip))
    names = dict(Offer.objects.filter(pk__in=[terms.offer_id for terms in to_clip]).values_list("pk", "name"))
    return [ActivableOffer(terms.code, names[terms.offer_id], _describe(terms), terms.valid_until,
                           terms.offer_id in view.activated)
            for terms in to_clip if available(terms, as_if_clipped, at)]


def activate_offer(member: Member, code: str, at: datetime, source: str = "web") -> bool:
    """Activate the offer `code` for the member, once: True when activated now, False when it was
    already. UnknownOffer; NotActivable when it is not among `activable_offers` (ended, not for
    this member, no budget left, or applied without activation)."""
    offer = Offer.objects.filter(code=code).first()
    if offer is None:
        raise UnknownOffer(f"no offer {code!r}")
    if not any(shown.code == code for shown in activable_offers(member, at)):
        raise NotActivable(f"offer {code!r} cannot be activated now: it ended, is not for you, or needs no activation")
    try:
        with transaction.atomic():
            OfferActivation.objects.create(member=member, offer=offer, activated_at=at, source=source)
    except IntegrityError:  # activated already (perhaps at the same moment on another phone)
        return False
    return True


def savings(member: Member) -> dict:
    """What the member's offers gave them so far: money off and bonus points over every redemption
    (reversals by returns deducted), and the number of baskets where an offer applied."""
    totals = OfferRedemption.objects.filter(member=member).aggregate(
        discount=Sum("discount"), bonus_points=Sum("bonus_points"), baskets=Count("basket", distinct=True))
    discount = Decimal(str(totals["discount"] or 0)).quantize(Decimal("0.01"))  # SQLite sums decimals as floats
    return {"discount": discount, "bonus_points": totals["bonus_points"] or 0,
            "baskets": totals["baskets"]}
