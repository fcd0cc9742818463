"""The audit log of changes (django-auditlog): members, cards, consents, earning rules, tiers,
programme, offers and API keys; who changed what and when. Personal fields are logged as changed
without their values (`hide`), so the log holds no personal data but the member's name in the
entry's label, which an erasure replaces by the member number (the only change the database lets
through, migration privacy 0002). Views of personal data are the back office's own log (decision 0028).
"""

from __future__ import annotations

HIDDEN = "[personal data]"
#: model label -> fields whose values are not written to the log
MASKED = {"members.Member": ["first_name", "last_name", "email", "phone", "birth_date", "address_line",
                             "postal_code", "city", "country"]}
#: model label -> fields never logged (the key's hash is a secret's fingerprint)
EXCLUDED = {"loyalty.ApiKey": ["key_hash"], "members.Member": ["updated_at"]}
AUDITED = ["members.Member", "members.Card", "privacy.ConsentEvent", "privacy.ErasureRequest",
           "loyalty.EarningRule", "loyalty.Tier", "loyalty.Programme", "loyalty.ApiKey",
           "offers.Offer", "offers.ManufacturerAccount"]


def refuse_deletion(sender, instance, **kwargs) -> None:
    """pre_delete of a change log entry: refused (on PostgreSQL the database refuses it too)."""
    from django.db import IntegrityError

    raise IntegrityError("the change log is append-only: an entry is never deleted")


def hide(value) -> str:
    """What the log keeps of a personal field's value: nothing."""
    return HIDDEN


def register_audited_models() -> None:
    """Register every audited model with django-auditlog (called once, when the apps are ready)."""
    from auditlog.models import LogEntry
    from auditlog.registry import auditlog
    from django.apps import apps
    from django.db.models.signals import pre_delete

    pre_delete.connect(refuse_deletion, sender=LogEntry, dispatch_uid="change-log-append-only")

    for label in AUDITED:
        model = apps.get_model(label)
        if not auditlog.contains(model):
            # the model's own columns only: auditlog would otherwise read reverse one-to-one
            # relations (a member's loyalty account), caching "none" on the instance it logs
            columns = [f.name for f in model._meta.concrete_fields if f.name not in EXCLUDED.get(label, [])]
            auditlog.register(model, include_fields=columns, mask_fields=MASKED.get(label),
                              mask_callable="clientele.privacy.audit.hide")


def relabel_erased_member(member) -> int:
    """Replace the member's name in the labels of their audit log entries by the member number.
    Returns how many entries were relabelled."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    kind = ContentType.objects.get_for_model(type(member))
    return LogEntry.objects.filter(content_type=kind, object_pk=str(member.pk)).exclude(
        object_repr=f"Member {member.customer_id}").update(object_repr=f"Member {member.customer_id}")


def log_erasure(member, request_id: int) -> None:
    """One entry saying the member's personal fields were erased (the erasure writes them with an
    UPDATE that django-auditlog does not see), values hidden."""
    from auditlog.models import LogEntry

    changes = {name: [HIDDEN, ""] for name in MASKED["members.Member"]} | {"status": ["", "erased"]}
    LogEntry.objects.log_create(member, action=LogEntry.Action.UPDATE, changes=changes,
                                additional_data={"erasure_request": request_id}, force_log=True)
