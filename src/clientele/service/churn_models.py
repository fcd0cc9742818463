"""Lost customers (seed 002): why they left, and the win-back lists agents work through."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ChurnReason(models.TextChoices):
    PRICE = "price", "Price"
    PRODUCT = "product", "Product"
    SERVICE = "service", "Service"
    TECHNOLOGY = "technology", "Technology"
    PROMOTION = "promotion", "Promotion"
    NEED = "need", "Need"
    MANAGEMENT = "management", "Management"
    POLICY = "policy", "Policy"
    OTHER = "other", "Other"


class ExitReason(models.Model):
    """Why a lapsed member left, as learnt from an exit survey, a call or a complaint."""

    class Source(models.TextChoices):
        EXIT_SURVEY = "exit_survey", "Exit survey"
        CALL = "call", "Call"
        COMPLAINT = "complaint", "Complaint"

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="exit_reasons")
    reason = models.CharField(max_length=12, choices=ChurnReason.choices)
    source = models.CharField(max_length=12, choices=Source.choices)
    complaint = models.ForeignKey("service.Complaint", null=True, blank=True, on_delete=models.PROTECT)
    note = models.TextField(blank=True)
    noted_at = models.DateTimeField()
    noted_by = models.CharField(max_length=150)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(reason__in=[r.value for r in ChurnReason]), name="exit_reason_known"),
            models.CheckConstraint(condition=~Q(source="complaint") | Q(complaint__isnull=False),
                                   name="exit_reason_complaint_named"),
        ]


class WinBackList(models.Model):
    """The lapsed members worth calling, ranked by value at stake, as of one nightly profile."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    profiles_of = models.DateField(help_text="The nightly profiles it was ranked from.")
    campaign = models.OneToOneField("campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="win_back_list",
                                    help_text="The campaign whose random holdout splits the list (decision 0055).")


class WinBackEntry(models.Model):
    """One member on a win-back list, and what the agent's call achieved."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Not called yet"
        UNREACHABLE = "unreachable", "Not reached"
        DECLINED = "declined", "Reached, will not come back"
        WON_BACK = "won_back", "Reached, agreed to come back"

    win_back_list = models.ForeignKey(WinBackList, on_delete=models.CASCADE, related_name="entries")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveIntegerField()
    clv_before = models.DecimalField(max_digits=14, decimal_places=2, help_text="Lifetime value before lapsing.")
    chance_of_return = models.FloatField(help_text="The nightly probability the customer is still alive (0-1).")
    value_at_stake = models.DecimalField(max_digits=14, decimal_places=2)
    called_at = models.DateTimeField(null=True, blank=True)
    called_by = models.CharField(max_length=150, blank=True)
    reached = models.BooleanField(null=True)
    reason = models.CharField(max_length=12, choices=ChurnReason.choices, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PENDING)
    group = models.CharField(max_length=7, blank=True, choices=[("treated", "Treated (called)"),
                                                                ("holdout", "Holdout (never called)")],
                             help_text="The member's group in the list's campaign; empty before one.")

    class Meta:
        ordering = ["win_back_list", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["win_back_list", "member"], name="win_back_member_once"),
            models.UniqueConstraint(fields=["win_back_list", "rank"], name="win_back_rank_once"),
            models.CheckConstraint(condition=Q(chance_of_return__gte=0, chance_of_return__lte=1),
                                   name="win_back_chance_0_to_1"),
            # the control group is never called: its outcome stays pending
            models.CheckConstraint(condition=~Q(group="holdout") | Q(called_at__isnull=True, outcome="pending"),
                                   name="win_back_holdout_never_called"),
        ]
