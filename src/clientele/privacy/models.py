"""Personal data: consent events (the only record of what a member agreed to), erasure requests,
and the files the system wrote that hold members' personal data (docs/privacy.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Purpose(models.TextChoices):
    PROFILING = "profiling", "Profiling (personal offers from purchases)"
    MARKETING = "marketing", "Marketing"


class Channel(models.TextChoices):
    ANY = "", "Every channel"  # profiling is not sent through a channel
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    POST = "post", "Post"


class Source(models.TextChoices):
    TILL = "till", "Till"
    WEB = "web", "Web"
    SERVICE_DESK = "service desk", "Service desk"
    IMPORT = "import", "Import"
    MERGE = "merge", "Merge of two members"  # the most restrictive of the two records (identity)


class ConsentEvent(models.Model):
    """One change of a member's consent for one purpose on one channel, as the member gave it.

    The current consent is the latest event by `occurred_at` (then by id): an event that arrives
    late but happened earlier does not override a newer one. Events are never changed.
    """

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="consent_events")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices, blank=True)
    granted = models.BooleanField()
    occurred_at = models.DateTimeField(help_text="When the member gave or withdrew it (UTC).")
    recorded_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=12, choices=Source.choices)
    text_version = models.CharField(max_length=40, help_text="The version of the consent text shown to the member.")
    recorded_by = models.CharField(max_length=150, blank=True, help_text="The user, API key or command.")

    class Meta:
        ordering = ["member", "occurred_at", "id"]
        indexes = [models.Index(fields=["member", "purpose", "channel", "occurred_at"])]
        constraints = [
            # profiling is one consent for all channels; marketing is asked per channel
            models.CheckConstraint(
                condition=(Q(purpose="profiling", channel="") | Q(purpose="marketing", channel__in=["email", "sms", "post"])),
                name="consent_event_purpose_channel"),
        ]

    def __str__(self) -> str:
        what = f"{self.purpose}/{self.channel}" if self.channel else self.purpose
        return f"{what} {'granted' if self.granted else 'withdrawn'} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ErasureRequest(models.Model):
    """A member's request to be erased: asked by one person, approved by another, then carried out.

    It keeps the member number (a pseudonym after erasure), who asked and approved, why, and how many
    rows of each kind were erased: never the erased data themselves.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved, not yet carried out"
        DONE = "done", "Carried out"

    customer_id = models.BigIntegerField(db_index=True, help_text="The member number (the survivor's after a merge).")
    reason = models.TextField()
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    completed_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="Counts of what was erased, per place.")

    class Meta:
        ordering = ["-requested_at"]
        permissions = [("approve_erasure", "Approve and carry out an erasure asked by another person"),
                       ("export_member_data", "Export everything held about a member (access request)")]
        constraints = [
            # the four-eyes rule, kept by the database: nobody approves their own request
            models.CheckConstraint(condition=Q(approved_by="") | ~Q(approved_by=F("requested_by")),
                                   name="erasure_approved_by_another"),
            models.CheckConstraint(condition=Q(status="pending") | ~Q(approved_by=""), name="erasure_approved_before_done"),
        ]

    def __str__(self) -> str:
        return f"Erasure of member {self.customer_id} ({self.get_status_display().lower()})"


class PersonalDataFile(models.Model):
    """A file the system wrote that holds members' personal data (an access archive, a segment
    export, a campaign's mailing file): erasure rewrites or removes it."""

    class Kind(models.TextChoices):
        ACCESS_ARCHIVE = "access", "Access archive of one member"
        CSV = "csv", "CSV with a customer_id column"

    path = models.CharField(max_length=500, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    customer_id = models.BigIntegerField(null=True, blank=True, help_text="The one member of an access archive.")
    written_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.path
