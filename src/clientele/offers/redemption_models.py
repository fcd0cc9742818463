"""Redemptions: each offer applied to a basket, who funds it and what it gave, for billing."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class OfferRedemption(models.Model):
    """One offer applied to one basket (kind redeemed), or given back by a return (kind reversed,
    negative amounts). `redemption_key` makes each happen once, however often the till retries."""

    class Kind(models.TextChoices):
        REDEEMED = "redeemed", "Redeemed"
        REVERSED = "reversed", "Reversed by a return"

    #: unique by the constraint below, within its basket (every key names its basket: `basket:B:O` at
    #: the till, `return:R:O` for a return of that basket), so one index serves the key and the basket
    redemption_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REDEEMED)
    offer = models.ForeignKey("offers.Offer", on_delete=models.PROTECT, related_name="redemptions")
    offer_version = models.PositiveIntegerField()
    funder = models.ForeignKey("offers.ManufacturerAccount", null=True, on_delete=models.PROTECT, db_index=False,
                               related_name="redemptions", help_text="Empty: the retailer funds it.")  # (funder, redeemed_at) indexes it
    member = models.ForeignKey("members.Member", null=True, on_delete=models.PROTECT, db_index=False)  # indexed below
    basket = models.ForeignKey("loyalty.Basket", on_delete=models.PROTECT, related_name="offer_redemptions",
                               db_index=False)  # redemption_once_per_key_of_basket leads with it
    shopping_list = models.ForeignKey("offers.ShoppingList", null=True, on_delete=models.PROTECT,
                                      db_index=False)  # indexed below
    discount = models.DecimalField(max_digits=12, decimal_places=2, help_text="Money off (negative when reversed).")
    bonus_points = models.BigIntegerField(default=0)
    uses = models.SmallIntegerField(default=1, help_text="1 redeemed, -1 reversed: the count budget's unit.")
    redeemed_at = models.DateTimeField(help_text="UTC: the basket's time, or the return's.")

    class Meta:
        ordering = ["redeemed_at", "id"]
        # The nullable references are indexed without their NULLs (decision 0115): nothing reads the
        # retailer's own redemptions by funder, an anonymous basket's by member, or a general
        # offer's by list; each index is read by `col = value` (and the foreign key's check when a
        # funder, member or list is deleted), which a NULL never matches.
        indexes = [
            models.Index(fields=["funder", "redeemed_at"], condition=Q(funder__isnull=False),
                         name="redemption_by_funder"),
            models.Index(fields=["member"], condition=Q(member__isnull=False), name="redemption_by_member"),
            models.Index(fields=["shopping_list"], condition=Q(shopping_list__isnull=False),
                         name="redemption_by_list"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["basket", "redemption_key"], name="redemption_once_per_key_of_basket"),
            models.CheckConstraint(condition=Q(kind="redeemed", discount__gte=0, uses=1)
                                   | Q(kind="reversed", discount__lte=0, uses=-1), name="redemption_sign_by_kind"),
        ]


class MemberOfferUse(models.Model):
    """How often a member has used an offer (its per-member limit is checked in the same UPDATE)."""

    offer = models.ForeignKey("offers.Offer", on_delete=models.PROTECT)
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT)
    uses = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["offer", "member"], name="member_offer_use_once"),
            models.CheckConstraint(condition=Q(uses__gte=0), name="member_offer_uses_not_negative"),
        ]


class OfferActivation(models.Model):
    """A member's activation ("clip") of an offer that needs one (`Offer.requires_activation`),
    made in the member portal before shopping: the till applies such an offer only to members
    who activated it. Once per member and offer (the constraint, led by the member: the till reads
    a member's activations by it)."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, db_index=False,
                               related_name="offer_activations")  # offer_activated_once leads with it
    offer = models.ForeignKey("offers.Offer", on_delete=models.PROTECT, related_name="activations")
    activated_at = models.DateTimeField()
    source = models.CharField(max_length=10, default="web", help_text="Where the member activated it: web, app.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "offer"], name="offer_activated_once")]
