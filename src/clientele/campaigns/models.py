"""Campaigns as experiments: the goal, the audience, the random holdout drawn once, every contact.

A campaign is a draft until launched. Launching draws its members (`Assignment`: treated or
holdout, stored once; the database refuses any change to an assignment and any contact of a
holdout member, see migration 0002). Changing who would be in which group after launch is refused
by `services`: a new version is a new campaign. Every message handed to a channel is a `Contact`,
unique per member and channel, so a retried send never sends twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from clientele.campaign_metrics import METRICS

CHANNELS = ("email", "sms", "post", "till")


class Campaign(models.Model):
    """A campaign: name, owner, SMART goal, audience, offers, channels, costs and holdout."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        ENDED = "ended", "Ended"

    name = models.CharField(max_length=200)
    owner = models.CharField(max_length=150, help_text="Who answers for the campaign.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    playbook = models.CharField(max_length=40, blank=True, help_text="The playbook it was made from, if any.")
    goal_metric = models.CharField(max_length=20, choices=list(METRICS.items()))
    goal_target = models.DecimalField(max_digits=6, decimal_places=4,
                                      help_text="Relative lift aimed at: 0.05 = +5% (negative to reduce churn).")
    window_start = models.DateField(help_text="First day of the measurement window.")
    window_end = models.DateField(help_text="Last day of the measurement window: the goal's deadline.")
    pre_days = models.PositiveSmallIntegerField(default=91, help_text="Days of pre-campaign behaviour for CUPED.")
    audience = models.TextField(help_text="Segment expression over the nightly profile.")
    strata = models.CharField(max_length=40, default="pyramid_level,lifecycle_stage",
                              help_text="Profile columns whose cells the holdout is stratified by.")
    trigger = models.TextField(blank=True, help_text="Segment expression: members entering it join while running.")
    offers = models.ManyToManyField("offers.Offer", blank=True, related_name="campaigns")
    channels = models.JSONField(default=list, help_text=f"Any of {', '.join(CHANNELS)}.")
    subject = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    fixed_cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    cost_per_contact = models.DecimalField(max_digits=8, decimal_places=4, default=0)
    margin_rate = models.DecimalField(max_digits=4, decimal_places=3, default="0.300",
                                      help_text="Gross margin share of incremental revenue.")
    holdout_share = models.DecimalField(max_digits=4, decimal_places=3, default="0.100")
    seed = models.BigIntegerField(help_text="Seed of the holdout draw, stored so it can be drawn again.")
    launched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(holdout_share__gte=0, holdout_share__lte="0.5"),
                                   name="campaign_holdout_0_to_50pct"),
            models.CheckConstraint(condition=Q(window_end__gte=F("window_start")), name="campaign_window_ordered"),
            models.CheckConstraint(condition=Q(fixed_cost__gte=0, cost_per_contact__gte=0),
                                   name="campaign_costs_not_negative"),
            models.CheckConstraint(condition=Q(margin_rate__gte=0, margin_rate__lte=1), name="campaign_margin_0_to_1"),
            models.CheckConstraint(condition=Q(status="draft") | Q(launched_at__isnull=False),
                                   name="campaign_launched_has_time"),
        ]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """One member's group in one campaign, drawn once and never changed."""

    class Group(models.TextChoices):
        TREATED = "treated", "Treated (contacted)"
        HOLDOUT = "holdout", "Holdout (never contacted)"

    # The key to the campaign is checked by the database once per statement, not once per row
    # (migration 0005, decision 0050): a launch inserts millions of assignments in one COPY. The
    # unique (campaign, customer_id) index serves every lookup by campaign, so no index of its own.
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="assignments",
                                 db_constraint=False, db_index=False)
    customer_id = models.BigIntegerField()
    group = models.CharField(max_length=7, choices=Group.choices)
    stratum = models.CharField(max_length=120, blank=True)
    joined = models.CharField(max_length=7, default="launch", help_text="launch, or trigger (joined while running).")
    assigned_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer_id"], name="assignment_once")]
        indexes = [models.Index(fields=["customer_id"], name="assignment_customer")]  # the till's lookup


class Contact(models.Model):
    """A message of a campaign handed to one channel for one treated member."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will be retried)"
        SKIPPED = "skipped", "Not sent: no consent or no address"

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="contacts")
    channel = models.CharField(max_length=5, choices=[(c, c) for c in CHANNELS])
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "channel"], name="contact_once_per_channel"),
            models.CheckConstraint(condition=Q(status="sent", sent_at__isnull=False) | ~Q(status="sent"),
                                   name="contact_sent_has_time"),
        ]
