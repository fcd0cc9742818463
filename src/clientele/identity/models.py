"""One customer, one ID: contact records from the source systems, the candidate pairs the matching
scored, the reviewers' decisions and the merges (with everything each one moved, to undo it).

A record is named by a `ref`: `member:<customer_id>` for a member enrolled at a till, and
`<source>:<source_key>` for a contact record imported from a source system.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class ContactImport(models.Model):
    """One contact file imported for one source system: rows read = loaded + quarantined."""

    source = models.CharField(max_length=40)
    file_name = models.CharField(max_length=300)
    content_hash = models.CharField(max_length=64)
    rows_read = models.PositiveIntegerField()
    rows_loaded = models.PositiveIntegerField()
    rows_quarantined = models.PositiveIntegerField()
    quarantine_file = models.CharField(max_length=500, blank=True)
    imported_by = models.CharField(max_length=150)
    imported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "content_hash"], name="contact_file_once_per_source"),
            models.CheckConstraint(condition=Q(rows_read=F("rows_loaded") + F("rows_quarantined")),
                                   name="contact_import_rows_reconcile"),
        ]


class SourceRecord(models.Model):
    """A contact record of a source system (online shop, service desk, a previous CRM), standardised,
    with the member it belongs to once linked (automatically, by a reviewer or by a merge)."""

    source = models.CharField(max_length=40)
    source_key = models.CharField(max_length=100)
    contact_import = models.ForeignKey(ContactImport, on_delete=models.PROTECT, related_name="records")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="E.164.")
    birth_date = models.DateField(null=True, blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    raw = models.JSONField(default=dict, help_text="The row as the file gave it.")
    member = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="source_records")
    linked_by = models.CharField(max_length=150, blank=True)
    linked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "source_key"], name="source_record_once")]

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.source_key}"


class CandidatePair(models.Model):
    """Two records the matching scored, with each field's contribution, and what became of them."""

    class Status(models.TextChoices):
        AUTO_LINKED = "auto_linked", "Linked automatically (above the upper threshold)"
        REVIEW = "review", "Waiting for a reviewer"
        ACCEPTED = "accepted", "Accepted by a reviewer"
        REJECTED = "rejected", "Rejected by a reviewer (never proposed again)"

    left_ref = models.CharField(max_length=150)
    right_ref = models.CharField(max_length=150)
    match_probability = models.FloatField()
    match_weight = models.FloatField()
    fields = models.JSONField(default=list, help_text="Per field: level, agreement, weight (log2 Bayes factor).")
    left_values = models.JSONField(default=dict)
    right_values = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices)
    scored_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["left_ref", "right_ref"], name="candidate_pair_once"),
            models.CheckConstraint(condition=Q(left_ref__lt=F("right_ref")), name="candidate_pair_ordered"),
            models.CheckConstraint(condition=Q(match_probability__gte=0, match_probability__lte=1),
                                   name="candidate_pair_probability"),
            models.CheckConstraint(condition=Q(status__in=["review", "auto_linked"]) | Q(decided_at__isnull=False),
                                   name="candidate_pair_decided_has_time"),
        ]
        indexes = [models.Index(fields=["status", "match_probability"])]
        permissions = [("review_pairs", "Review candidate pairs and merge members (data steward)")]


class Merge(models.Model):
    """One member merged into another (the survivor), with everything that moved, so that it can be
    undone exactly; the audit trail of who, when, why, and of the undo."""

    survivor = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    absorbed = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)
    pair = models.ForeignKey(CandidatePair, null=True, blank=True, on_delete=models.PROTECT, related_name="merges")
    merged_by = models.CharField(max_length=150)
    merged_at = models.DateTimeField()
    moved = models.JSONField(default=dict, help_text="What moved: cards, points, baskets, complaints, ...")
    undone_by = models.CharField(max_length=150, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=F("absorbed")), name="merge_not_into_itself"),
            # a member is absorbed by one merge at a time (another only after that one is undone)
            models.UniqueConstraint(fields=["absorbed"], condition=Q(undone_at__isnull=True),
                                    name="merge_absorbs_once"),
        ]
        indexes = [models.Index(fields=["survivor"], name="merge_survivor")]

    @property
    def active(self) -> bool:
        return self.undone_at is None
