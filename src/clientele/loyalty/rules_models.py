"""Earning rules as data: what a marketer edits in the back office, validated and versioned when saved.

Every saved change raises the rule's `version` and keeps a full copy of the rule as it now is, with
who changed it and when (django-simple-history, docs/decisions/0004-earning-rule-versions.md). A
credit names each rule and version that gave it, so it stays explainable after the rule changed.
How rules are evaluated is in `loyalty.rules` and docs/loyalty.md.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from simple_history.models import HistoricalRecords

WEEKDAYS = "0123456"  # Monday = 0, as datetime.weekday()


class EarningRule(models.Model):
    """One rule: a base rate, a multiplier, a bonus for an action, or a cap."""

    class Kind(models.TextChoices):
        BASE = "base", "Base points per currency unit"
        MULTIPLIER = "multiplier", "Multiplier on matching lines"
        ACTION_BONUS = "action_bonus", "Bonus for an action that is not a purchase"
        BASKET_CAP = "basket_cap", "Cap per basket"
        DAILY_CAP = "daily_cap", "Cap per member and day"

    class Action(models.TextChoices):
        PROFILE_COMPLETED = "profile_completed", "Profile completed"
        REVIEW_WRITTEN = "review_written", "Review written"
        REFERRAL = "referral", "Referred member's first basket"
        BIRTHDAY_MONTH = "birthday_month", "First basket in the birthday month"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    active = models.BooleanField(default=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    # What the rule gives
    points_per_unit = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True,
                                          help_text="Base rules: points per currency unit spent.")
    multiplier = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                     help_text="Multiplier rules: x2 doubles the base points of matching lines.")
    bonus_points = models.PositiveIntegerField(null=True, blank=True, help_text="Action bonuses.")
    action = models.CharField(max_length=20, choices=Action.choices, blank=True)
    max_points = models.PositiveIntegerField(null=True, blank=True, help_text="Caps.")
    # When it applies (empty = any)
    store = models.ForeignKey("catalog.Store", null=True, blank=True, on_delete=models.PROTECT)
    tier = models.ForeignKey("loyalty.Tier", null=True, blank=True, on_delete=models.PROTECT)
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.PROTECT)
    department = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    brand_type = models.CharField(max_length=10, blank=True, choices=[("National", "National brand"),
                                                                     ("Private", "Store brand")])
    days_of_week = models.CharField(max_length=7, blank=True, help_text="Digits, Monday = 0: '56' = weekend.")
    time_from = models.TimeField(null=True, blank=True, help_text="Store-local time.")
    time_until = models.TimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False,
                                          help_text="Raised by every saved change; credits name the version.")
    history = HistoricalRecords(verbose_name="earning rule version", verbose_name_plural="earning rule versions",
                                cascade_delete_history=False)

    class Meta:
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        """Validate, then store the rule as a new version (kept in its history) if anything changed."""
        self.full_clean()  # a rule is data a marketer types: never store one that cannot be evaluated
        with transaction.atomic():
            # The lock serialises two marketers saving the same rule: each change gets its own number.
            stored = type(self).objects.select_for_update().filter(pk=self.pk).first() if self.pk else None
            if stored is not None and not self._differs_from(stored):
                self.skip_history_when_saving = True  # saved unchanged: no new version
                try:
                    return super().save(*args, **kwargs)
                finally:
                    del self.skip_history_when_saving
            self.version = stored.version + 1 if stored is not None else 1
            super().save(*args, **kwargs)

    def _differs_from(self, stored: EarningRule) -> bool:
        fields = [f.attname for f in self._meta.concrete_fields if f.attname not in ("id", "version")]
        return any(getattr(self, name) != getattr(stored, name) for name in fields)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        required = {
            self.Kind.BASE: "points_per_unit",
            self.Kind.MULTIPLIER: "multiplier",
            self.Kind.ACTION_BONUS: "bonus_points",
            self.Kind.BASKET_CAP: "max_points",
            self.Kind.DAILY_CAP: "max_points",
        }
        needed = required.get(self.kind)
        for field in set(required.values()):
            value = getattr(self, field)
            if field == needed and value is None:
                errors[field] = f"a {self.get_kind_display().lower()} rule needs {field}"
            elif field != needed and value is not None:
                errors[field] = f"{field} has no meaning for a {self.get_kind_display().lower()} rule"
        if self.kind == self.Kind.ACTION_BONUS and not self.action:
            errors["action"] = "an action bonus names its action"
        if self.kind != self.Kind.ACTION_BONUS and self.action:
            errors["action"] = "only action bonuses name an action"
        if self.points_per_unit is not None and self.points_per_unit <= 0:
            errors["points_per_unit"] = "points per unit must be positive"
        if self.multiplier is not None and self.multiplier <= Decimal("0"):
            errors["multiplier"] = "a multiplier must be positive"
        line_conditions = self.product_id or self.department or self.category or self.brand_type
        if line_conditions and self.kind not in (self.Kind.MULTIPLIER,):
            errors["kind"] = "product, department, category and brand conditions apply to multipliers only"
        if self.days_of_week and (set(self.days_of_week) - set(WEEKDAYS)):
            errors["days_of_week"] = "days are digits 0 (Monday) to 6 (Sunday)"
        if (self.time_from is None) != (self.time_until is None):
            errors["time_until"] = "a time window has both a start and an end"
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors["valid_until"] = "the rule ends before it starts"
        if errors:
            raise ValidationError(errors)
