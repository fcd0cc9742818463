"""Personal shopping lists and the rule that sizes their offers by the member's value.

A list is the products one member is most likely to buy in the list's window, as many as the
nightly next-purchase forecasts say are due in it (decision 0113), each with the offer that
applies to it for that member, and its own EAN-13 number
printed as a barcode: the till scans it like a card. One current list per member (a constraint).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class ValueSizing(models.Model):
    """How much larger a member's list offers are for their pyramid level (PRODUCT.md §5): the
    offer's amount, percent or bonus points times `factor`, and the list's offers worth at most
    `max_list_value` in all. A marketer edits these rows; every change is versioned."""

    pyramid_level = models.CharField(max_length=10, unique=True,
                                     choices=[("VIP", "VIP"), ("major", "major"), ("medium", "medium"),
                                              ("small", "small")])
    factor = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("1"))
    max_list_value = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("10"),
                                         help_text="Most money the list's offers give a member in one cycle.")
    history = HistoricalRecords(verbose_name="value sizing version", cascade_delete_history=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(factor__gt=0, factor__lte=10), name="sizing_factor_0_10"),
            models.CheckConstraint(condition=Q(max_list_value__gte=0), name="sizing_max_value_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.pyramid_level}: x{self.factor}, at most {self.max_list_value}"


class ShoppingList(models.Model):
    """One member's list for one cycle, with its own barcode number."""

    class Status(models.TextChoices):
        CURRENT = "current", "Current"
        SUPERSEDED = "superseded", "Replaced by a newer list"

    number = models.CharField(max_length=13, unique=True, help_text="EAN-13 printed as the list's barcode.")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="shopping_lists")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CURRENT)
    generated_at = models.DateTimeField()
    as_of = models.DateField(help_text="The last day of history the list was built from.")
    valid_from = models.DateField()
    valid_until = models.DateField(help_text="Last day the list and its offers are honoured.")
    pyramid_level = models.CharField(max_length=10, blank=True)
    sizing_factor = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("1"))
    offers_value = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"),
                                       help_text="Estimated money the list's offers give if every item is bought.")

    class Meta:
        ordering = ["-generated_at", "number"]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(status="current"), name="one_current_list_per_member"),
            models.CheckConstraint(condition=Q(valid_until__gte=models.F("valid_from")), name="list_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"List {self.number} of member {self.member_id}"


class ShoppingListItem(models.Model):
    """A product on a list: why it is there, when it is due, and the offer the member gets on it."""

    class Reason(models.TextChoices):
        DUE = "due", "Likely to buy soon (forecast)"
        CROSS_SELL = "cross_sell", "Chosen for the member (brand cell, traits)"

    # no index of its own: the unique (shopping_list, position) serves the list's look-ups (one index
    # less to keep for each of a generation's millions of items, decision 0090)
    shopping_list = models.ForeignKey(ShoppingList, on_delete=models.CASCADE, related_name="items", db_index=False)
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT)
    department = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=10, choices=Reason.choices, default=Reason.DUE)
    probability = models.FloatField(null=True, help_text="Chance the member buys it in the window (0-1).")
    expected_date = models.DateField(null=True)
    offer = models.ForeignKey("offers.Offer", null=True, blank=True, on_delete=models.PROTECT)
    offer_value = models.DecimalField(max_digits=10, decimal_places=2, null=True,
                                      help_text="The member's own value of the offer: money off one unit, or points.")
    offer_description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["shopping_list", "position"]
        constraints = [models.UniqueConstraint(fields=["shopping_list", "position"], name="list_item_position_once")]
