"""The back office's own data: the role permissions, the personal-data audit log, users' API tokens
and the store a store manager belongs to."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BackofficeAccess(models.Model):
    """No rows: the permissions the roles are made of (`backoffice.roles`), one per thing a role may
    see or do in the back office."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_customer_360", "Find members and open their customer 360 page"),
            ("view_personal_data", "See members' name, e-mail, phone, address and birth date unmasked"),
            ("view_all_stores", "See members of every store, not only the user's own store"),
            ("view_dashboard", "See the programme dashboard"),
            ("view_segments", "Count and preview segments"),
            ("export_segment", "Export a segment's consenting members"),
            ("view_audit_log", "Read the personal-data audit log"),
            ("view_anonymised_reports", "Read the manufacturer's anonymised sales reports"),
        ]


class AppendOnly(Exception):
    """The audit log is evidence: an entry is never changed or deleted."""


class PersonalDataView(models.Model):
    """One view of a member's personal data: who, when, which member, through which page or call.

    Append-only: the model refuses updates and deletions, and so does the database (a trigger,
    migration backoffice 0002). A later issue may move the log to django-auditlog (decision 0028).
    """

    viewed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept as it was, should the user be renamed.")
    customer_id = models.BigIntegerField(db_index=True, help_text="The member's number.")
    channel = models.CharField(max_length=40, help_text="Where: 'customer 360 page', 'api: member 360', ...")

    class Meta:
        ordering = ["-viewed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.viewed_at:%Y-%m-%d %H:%M} {self.username} viewed member {self.customer_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnly("an audit log entry is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("an audit log entry is never deleted")


class StaffStore(models.Model):
    """The store a user works in: a store manager sees that store's members only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_store")
    store = models.ForeignKey("catalog.Store", on_delete=models.PROTECT)

    def __str__(self) -> str:
        return f"{self.user} at store {self.store_id}"


class UserToken(models.Model):
    """A person's token for the back-office API (not a till's store key). Only its SHA-256 is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'mailing tool'.")
    prefix = models.CharField(max_length=12, unique=True, help_text="Shown to tell tokens apart.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name}, {self.user})"


class DashboardFigures(models.Model):
    """The dashboard's figures of one period as the nightly refresh computed them (decision 0042):
    the page reads them instead of computing them (seconds to minutes with millions of members)."""

    period_start = models.DateField()
    period_end = models.DateField()
    refresh_date = models.DateField(help_text="The refresh whose results the figures are from.")
    computed_at = models.DateTimeField()
    # JSON as text, not a JSON column: PostgreSQL's jsonb would reorder the keys, hence the CSV columns
    figures = models.TextField(help_text="The figures as JSON (DjangoJSONEncoder).")

    class Meta:
        verbose_name_plural = "dashboard figures"
        constraints = [models.UniqueConstraint(fields=["period_start", "period_end"], name="dashboard_figures_once")]
