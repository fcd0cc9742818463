"""Data quality of the member records (PRODUCT.md §1): each profile's completeness, and the stale
records: no purchase, no contact and no change for `identity_stale_days` (a setting). A contact
is any exchange with the member: a campaign message sent, a complaint received, a survey
invitation sent. Counted for the back office's data-quality page in one query per figure
family, the database doing the counting (millions of members)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from django.db.models import Case, Count, Exists, FloatField, OuterRef, Q, Sum, Value, When

from clientele.campaigns.models import Contact
from clientele.config import settings
from clientele.identity.models import ContactImport
from clientele.identity.standardise import COMPLETENESS_WEIGHTS, completeness
from clientele.loyalty.models import Basket
from clientele.members.models import Member
from clientele.service.models import Complaint
from clientele.service.survey_models import Invitation

#: Completeness bands of the data-quality page (lower bound included, upper excluded; 1.0 apart).
BANDS = (("below 0.5", 0.0, 0.5), ("0.5 to 0.8", 0.5, 0.8), ("0.8 to 1", 0.8, 1.0), ("complete", 1.0, 1.01))


def stale_since(today: date | None = None) -> datetime:
    """The moment before which a member's last purchase, contact and change make the record stale."""
    today = today or datetime.now(timezone.utc).date()
    return datetime.combine(today - timedelta(days=settings().identity_stale_days), time.min, tzinfo=timezone.utc)


def _activity_since(since: datetime) -> dict:
    """Exists() of a purchase, of each kind of contact, since `since`, for the outer member."""
    member = OuterRef("pk")
    return {
        "bought": Exists(Basket.objects.filter(member=member, transacted_at__gte=since)),
        "messaged": Exists(Contact.objects.filter(assignment__customer_id=OuterRef("customer_id"), status="sent",
                                                  sent_at__gte=since)),
        "complained": Exists(Complaint.objects.filter(member=member, received_at__gte=since)),
        "invited": Exists(Invitation.objects.filter(member=member, sent_at__gte=since)),
    }


def _stale(since: datetime) -> Q:
    return Q(updated_at__lt=since, bought=False, messaged=False, complained=False, invited=False)


def member_quality(member: Member, today: date | None = None) -> dict:
    """What the customer 360 shows: the completeness, the fields missing, the last purchase, contact
    and change, and whether the record is stale (with the setting's number of days)."""
    since = stale_since(today)
    last_purchase = Basket.objects.filter(member=member).order_by("-transacted_at").values_list(
        "transacted_at", flat=True).first()
    contacts = [Contact.objects.filter(assignment__customer_id=member.customer_id, status="sent")
                .order_by("-sent_at").values_list("sent_at", flat=True).first(),
                Complaint.objects.filter(member=member).order_by("-received_at").values_list(
                    "received_at", flat=True).first(),
                Invitation.objects.filter(member=member).order_by("-sent_at").values_list("sent_at", flat=True).first()]
    last_contact = max((c for c in contacts if c), default=None)
    moments = [m for m in (last_purchase, last_contact, member.updated_at) if m]
    values = {name: getattr(member, name) for name in COMPLETENESS_WEIGHTS}
    return {
        "completeness": completeness(values),
        "missing": [name.replace("_", " ") for name, value in values.items() if value in (None, "")],
        "last_purchase": last_purchase, "last_contact": last_contact, "updated_at": member.updated_at,
        "stale": not moments or max(moments) < since,
        "stale_days": settings().identity_stale_days,
    }


def _score():
    """The completeness score in SQL: the weights of the fields filled."""
    def filled(name: str) -> Q:
        return Q(birth_date__isnull=False) if name == "birth_date" else ~Q(**{name: ""})

    return sum((Case(When(filled(name), then=Value(weight)), default=Value(0.0), output_field=FloatField())
                for name, weight in COMPLETENESS_WEIGHTS.items()), Value(0.0))


def quality_counts(today: date | None = None) -> dict:
    """The data-quality page's figures over the active members: how many, how many miss each field,
    completeness bands and average, stale records; the contact files' rows loaded and quarantined."""
    since = stale_since(today)
    active = Member.objects.filter(status=Member.Status.ACTIVE)
    missing = active.aggregate(members=Count("pk"), **{
        name: Count("pk", filter=Q(**{f"{name}__isnull": True}) if name == "birth_date" else Q(**{name: ""}))
        for name in COMPLETENESS_WEIGHTS})
    members = missing.pop("members")
    scored = active.annotate(score=_score()).aggregate(
        average=Sum("score"), **{f"band_{n}": Count("pk", filter=Q(score__gte=low - 1e-9, score__lt=high - 1e-9))
                                 for n, (_, low, high) in enumerate(BANDS)})
    average = (scored.pop("average") or 0) / members if members else None
    scored = {label: scored[f"band_{n}"] for n, (label, _, _) in enumerate(BANDS)}
    stale = active.annotate(**_activity_since(since)).filter(_stale(since)).count()
    files = ContactImport.objects.aggregate(files=Count("pk"), loaded=Sum("rows_loaded"),
                                            quarantined=Sum("rows_quarantined"))
    return {"members": members, "missing": {name.replace("_", " "): n for name, n in missing.items()},
            "bands": scored, "average_completeness": average, "stale": stale,
            "stale_days": settings().identity_stale_days, "stale_since": since.date(),
            "contact_files": {k: v or 0 for k, v in files.items()}}


def stale_members(today: date | None = None, limit: int = 50) -> list[Member]:
    """The stale active members, oldest change first (the page lists the first `limit`)."""
    since = stale_since(today)
    return list(Member.objects.filter(status=Member.Status.ACTIVE).annotate(**_activity_since(since))
                .filter(_stale(since)).order_by("updated_at", "customer_id")[:limit])
