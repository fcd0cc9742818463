"""Retention: personal data kept no longer than configured (CLIENTELE_RETENTION_CONTACT_YEARS,
CLIENTELE_RETENTION_BASKET_YEARS, CLIENTELE_RETENTION_LIST_DAYS), run by the nightly refresh as a dry
run that reports, or applied."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from clientele.config import settings
from clientele.members.models import Member

CONTACT_FIELDS = {"email": "", "phone": "", "address_line": "", "postal_code": "", "city": ""}


def _years_before(moment: datetime, years: int) -> datetime:
    return moment - timedelta(days=round(365.25 * years))


def inactive_with_contacts(cutoff: datetime):
    """Members who still hold contact data and have done nothing since `cutoff`: no till basket,
    no change of their record, joined before it."""
    from clientele.loyalty.models import Basket

    recent = Basket.objects.filter(member=OuterRef("pk"), transacted_at__gte=cutoff)
    has_contact = ~Q(email="") | ~Q(phone="") | ~Q(address_line="") | ~Q(postal_code="") | ~Q(city="")
    return (Member.objects.exclude(status=Member.Status.ERASED).filter(has_contact)
            .filter(updated_at__lt=cutoff, join_date__lt=cutoff.date()).filter(~Exists(recent)))


def old_carded_baskets(cutoff: datetime):
    """Till baskets older than `cutoff` that still name the card scanned."""
    from clientele.loyalty.models import Basket

    return Basket.objects.filter(transacted_at__lt=cutoff, card__isnull=False)


def run_retention(apply: bool = False, now: datetime | None = None) -> dict:
    """The retention rules as of `now`: how many rows each would change (dry run) or changed
    (apply, one transaction). Returns the report: as_of, applied, and per rule its cutoff, rows and
    (dry run) the first member numbers concerned."""
    from clientele.loyalty.models import Basket
    from clientele.offers.list_retention import delete_ended_items, ended_items

    now = now or datetime.now(timezone.utc)
    config = settings()
    contact_cutoff = _years_before(now, config.retention_contact_years)
    basket_cutoff = _years_before(now, config.retention_basket_years)
    list_cutoff = now.date() - timedelta(days=config.retention_list_days)
    members = inactive_with_contacts(contact_cutoff)
    baskets = old_carded_baskets(basket_cutoff)
    report = {"as_of": now.isoformat(), "applied": apply, "rules": [
        {"rule": f"contact data of members inactive {config.retention_contact_years} years",
         "cutoff": contact_cutoff.date().isoformat(), "rows": members.count(),
         "sample": list(members.order_by("customer_id").values_list("customer_id", flat=True)[:20])},
        {"rule": f"card on till baskets older than {config.retention_basket_years} years",
         "cutoff": basket_cutoff.date().isoformat(), "rows": baskets.count(), "sample": []},
        {"rule": f"items of shopping lists ended {config.retention_list_days} days ago",
         "cutoff": list_cutoff.isoformat(), "rows": ended_items(list_cutoff), "sample": []},
    ]}
    if apply:
        with transaction.atomic():
            # a queryset of ids, not the filter again: clearing contact data changes updated_at
            ids = list(members.values_list("pk", flat=True))
            Member.objects.filter(pk__in=ids).update(**CONTACT_FIELDS)
            Basket.objects.filter(pk__in=baskets.values("pk")).update(card=None)
            # last: on PostgreSQL dropping a partition locks the items' table until the commit
            delete_ended_items(list_cutoff)
    return report


def nightly_retention(apply: bool) -> tuple[dict, str]:
    """The refresh's retention step: run it and write the report to <home>/privacy/retention-DATE.json.
    Returns the report and the file's path."""
    report = run_retention(apply=apply)
    folder = settings().home.resolve() / "privacy"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"retention-{date.today().isoformat()}.json"
    path.write_text(json.dumps(report, indent=1))
    return report, str(path)
