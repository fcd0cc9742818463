"""After-sales follow-up calls, member events and who took part."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class MemberEvent(models.Model):
    """A community event for members (a tasting, a workshop); taking part earns `bonus_points`,
    once per member."""

    code = models.SlugField(max_length=40, unique=True, help_text="Short name the API and the ledger use.")
    name = models.CharField(max_length=200)
    held_on = models.DateField()
    store = models.ForeignKey("catalog.Store", null=True, blank=True, on_delete=models.PROTECT,
                              help_text="Where it is held; empty: online or chain-wide.")
    bonus_points = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "code"]
        constraints = [models.CheckConstraint(condition=Q(bonus_points__gte=1), name="event_bonus_positive")]

    def __str__(self) -> str:
        return f"{self.name} ({self.held_on})"


class EventAttendance(models.Model):
    """A member who took part in an event, and the ledger entry of their bonus."""

    event = models.ForeignKey(MemberEvent, on_delete=models.PROTECT, related_name="attendances")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    points_entry = models.OneToOneField("loyalty.PointsEntry", on_delete=models.PROTECT, related_name="+",
                                        help_text="The bonus credited for it (kind event_bonus).")
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["event", "recorded_at"]
        # the bonus once per member and event, whatever the retries: here and by the ledger's key
        constraints = [models.UniqueConstraint(fields=["event", "member"], name="event_attended_once")]


class FollowUpCall(models.Model):
    """An after-sales care call owed to a high-value customer after a large purchase, and what the
    agent's call gave."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Not called yet"
        UNREACHABLE = "unreachable", "Not reached"
        SATISFIED = "satisfied", "Reached, satisfied"
        ISSUE = "issue", "Reached, has an issue to follow"

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    basket = models.OneToOneField("loyalty.Basket", on_delete=models.PROTECT, related_name="+",
                                  help_text="The large purchase the call is about: one call per basket.")
    value_tier = models.CharField(max_length=10, help_text="The member's value tier when listed.")
    basket_total = models.DecimalField(max_digits=14, decimal_places=2)
    bought_at = models.DateTimeField()
    listed_at = models.DateTimeField()
    called_at = models.DateTimeField(null=True, blank=True)
    called_by = models.CharField(max_length=150, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PENDING)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-basket_total", "bought_at"]
        constraints = [
            # called exactly when an outcome is recorded
            models.CheckConstraint(condition=Q(outcome="pending", called_at__isnull=True)
                                   | (~Q(outcome="pending") & Q(called_at__isnull=False)),
                                   name="follow_up_called_has_outcome"),
            models.CheckConstraint(condition=Q(basket_total__gt=0), name="follow_up_basket_positive"),
        ]
        indexes = [models.Index(fields=["outcome", "bought_at"])]


class CareReports(models.Model):
    """No table: the permission to see customers' cost against their value."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_cost_to_serve", "See customers' cost against their value")]
