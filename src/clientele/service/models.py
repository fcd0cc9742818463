"""The service desk's records: complaints (the eight questions of seed 002), their workflow and
compensation; the settings a manager changes (causes, service levels, goodwill limits).

Surveys are in `survey_models`, lost customers and win-back in `churn_models`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from clientele.service.churn_models import ExitReason, WinBackEntry, WinBackList  # noqa: F401
from clientele.service.survey_models import (  # noqa: F401
    AttributeRating, Invitation, Survey, SurveyAnswer, SurveyAttribute)


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class ComplaintCause(models.Model):
    """One cause of the complaint taxonomy (price, product quality, service, staff, availability,
    checkout, policy, other): data, so a manager may add one."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class ServiceLevel(models.Model):
    """The deadlines a complaint of one severity is answered and resolved by."""

    severity = models.CharField(max_length=10, choices=Severity.choices, unique=True)
    first_answer_hours = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_hours = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(resolution_hours__gte=models.F("first_answer_hours")),
                                              name="service_level_resolution_after_answer")]

    def __str__(self) -> str:
        return f"{self.severity}: answer in {self.first_answer_hours} h, resolve in {self.resolution_hours} h"


class GoodwillLimit(models.Model):
    """The most goodwill one person of a role (a Django group) may give on a complaint without a
    supervisor's approval: points, and a voucher's amount or percent off."""

    role = models.CharField(max_length=80, unique=True, help_text="The group's name, e.g. 'service agent'.")
    max_points = models.PositiveIntegerField()
    max_voucher_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"),
                                             validators=[MinValueValidator(Decimal("0"))],
                                             help_text="The largest voucher amount off the basket.")
    max_voucher_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"),
                                              validators=[MinValueValidator(Decimal("0")),
                                                          MaxValueValidator(Decimal("100"))],
                                              help_text="The largest voucher percent off the basket.")

    def __str__(self) -> str:
        return (f"{self.role}: up to {self.max_points} points, vouchers up to {self.max_voucher_amount} "
                f"or {self.max_voucher_percent}%")


class DeskSettings(models.Model):
    """The service desk's settings a manager changes (one row)."""

    acceptable_churn_rate = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Share of a value tier's customers that may lapse in a year before it is flagged.")
    follow_up_days = models.PositiveIntegerField(default=7, help_text="Days after resolution to call the customer.")

    class Meta:
        verbose_name_plural = "desk settings"

    def save(self, *args, **kwargs):
        self.pk = 1  # one row per installation
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> DeskSettings:
        """The desk's settings (created with the defaults on first use)."""
        row, _ = cls.objects.get_or_create(pk=1)
        return row


class Complaint(models.Model):
    """A customer's complaint: the eight answers of seed 002, its place in the workflow and
    its deadlines."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Reopened"

    class Channel(models.TextChoices):
        STORE = "store", "In store"
        PHONE = "phone", "Call centre"
        WEB = "web", "Web shop"
        EMAIL = "email", "E-mail"
        LETTER = "letter", "Letter"

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="complaints")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    store = models.ForeignKey("catalog.Store", null=True, blank=True, on_delete=models.PROTECT)
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.PROTECT)
    cause = models.ForeignKey(ComplaintCause, on_delete=models.PROTECT)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # the eight questions (seed 002)
    what_happened = models.TextField()
    how_it_happened = models.TextField()
    why_unhappy = models.TextField(help_text="Which product (above) and why the customer is unhappy.")
    served_by = models.CharField(max_length=200, help_text="Who served the customer.")
    other_cause = models.TextField(blank=True, help_text="Any other cause of dissatisfaction.")
    claim_reasonable = models.BooleanField(help_text="The agent's judgement of the customer's claim.")
    wanted_resolution = models.TextField(help_text="How the customer wants it resolved.")
    returning_customer = models.BooleanField(help_text="Derived from the history: had bought before.")
    # workflow
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.NEW)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    queue = models.CharField(max_length=50, blank=True, default="service desk")
    received_at = models.DateTimeField()
    first_answer_due = models.DateTimeField()
    resolution_due = models.DateTimeField()
    first_answered_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    follow_up_on = models.DateField(null=True, blank=True, help_text="When to call the customer back.")
    resolution_satisfaction = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The customer's satisfaction with the resolution, 1-5.")
    recorded_by = models.CharField(max_length=150)

    class Meta:
        indexes = [models.Index(fields=["status", "resolution_due"]), models.Index(fields=["received_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(resolution_satisfaction__isnull=True)
                                   | Q(resolution_satisfaction__gte=1, resolution_satisfaction__lte=5),
                                   name="complaint_satisfaction_1_to_5"),
            models.CheckConstraint(condition=Q(status__in=["new", "acknowledged", "in_progress", "resolved", "closed", "reopened"]), name="complaint_status_known"),
            models.CheckConstraint(condition=Q(severity__in=[s.value for s in Severity]),
                                   name="complaint_severity_known"),
            models.CheckConstraint(condition=~Q(what_happened="") & ~Q(how_it_happened="") & ~Q(why_unhappy="")
                                   & ~Q(served_by="") & ~Q(wanted_resolution=""),
                                   name="complaint_required_answers"),
        ]

    def __str__(self) -> str:
        return f"complaint {self.pk} ({self.status})"


class ComplaintEvent(models.Model):
    """One change of a complaint (status, assignment, answer, note): kept, never edited."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]


class Compensation(models.Model):
    """What the customer was given for a complaint: goodwill points (one ledger entry), a voucher (an
    offer for that member alone, `offer`) or a refund note."""

    class Kind(models.TextChoices):
        POINTS = "points", "Goodwill points"
        VOUCHER = "voucher", "Voucher"
        REFUND_NOTE = "refund_note", "Refund note"

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="compensations")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    points = models.PositiveIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                  help_text="A voucher's percent off the basket.")
    offer = models.OneToOneField("offers.Offer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="complaint_compensation", help_text="The voucher's offer.")
    note = models.TextField(blank=True)
    given_by = models.CharField(max_length=150)
    approved_by = models.CharField(max_length=150, blank=True, help_text="The supervisor, above the giver's limit.")
    ledger_key = models.CharField(max_length=200, blank=True, help_text="The ledger entry's idempotency key.")
    given_at = models.DateTimeField()

    class Meta:
        constraints = [
            # goodwill points: one ledger entry per complaint, whatever the retries
            models.UniqueConstraint(fields=["complaint"], condition=Q(kind="points"), name="goodwill_once"),
            models.CheckConstraint(condition=~Q(kind="points") | Q(points__gte=1), name="goodwill_has_points"),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gt=0), name="compensation_amount"),
            # a voucher: one per complaint, an offer, an amount or a percent off (not both)
            models.UniqueConstraint(fields=["complaint"], condition=Q(kind="voucher"), name="voucher_once"),
            models.CheckConstraint(condition=~Q(kind="voucher") | (Q(offer__isnull=False) & (
                Q(amount__isnull=False, percent__isnull=True)
                | Q(amount__isnull=True, percent__gt=0, percent__lte=100))), name="voucher_is_an_offer"),
            models.CheckConstraint(condition=Q(kind="voucher") | Q(offer__isnull=True, percent__isnull=True),
                                   name="only_vouchers_have_offers"),
        ]
