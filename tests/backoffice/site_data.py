"""Prepare a served back office for the browser tests (run as a script, in its own process, with
CLIENTELE_HOME and DATABASE_URL set): a real slice of the Complete Journey in the lake (every tenth
household), the nightly refresh on it, the reference data and profiles in the operational database,
a checkout of household 1 at a till, and one user per role (password PASSWORD)."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")

PASSWORD = "Browser-test-42"
HOUSEHOLDS = list(range(1, 2470, 10))
#: user name -> role (the store manager works at household 1's home store)
USERS = {
    "agent": "service agent", "marketer": "marketer", "analyst": "analyst", "admin": "programme administrator",
    "dpo": "data protection officer", "maker": "manufacturer", "manager": "store manager",
}
PRODUCT = 26738  # ICE CREAM/MILK/SHERBTS


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from clientele.backoffice.services import add_user
    from clientele.barcodes import card_barcode
    from clientele.lake.completejourney import import_to_lake
    from clientele.lake.store import Lake
    from clientele.config import settings
    from clientele.loyalty.checkout import BasketIn, LineIn, post_basket
    from clientele.loyalty.identity import issue_api_key
    from clientele.loyalty.models import EarningRule
    from clientele.members.models import Member
    from clientele.members.services import import_completejourney_reference, write_customer_profiles
    from clientele.refresh import customer_profiles, refresh

    call_command("migrate", interactive=False, verbosity=0)
    import_to_lake(lake=Lake(settings().lake_path), customers=HOUSEHOLDS)
    refresh(refresh_date=date(2018, 1, 2))
    import_completejourney_reference()
    write_customer_profiles(customer_profiles(), refreshed_on=date(2018, 1, 2))
    household = Member.objects.get(customer_id=1)
    EarningRule.objects.create(name="1 point per dollar", kind="base", points_per_unit=Decimal("1"))
    key, _ = issue_api_key(household.home_store, "till 1")
    post_basket(BasketIn(store_id=household.home_store_id, till_id="1", receipt_number="1001",
                         transacted_at=datetime.now(timezone.utc), card=card_barcode(1),
                         lines=[LineIn(1, PRODUCT, Decimal("2"), Decimal("12.50"))]), key)
    Member.objects.filter(customer_id=1).update(first_name="Ada", last_name="Lovelace", email="ada@example.com",
                                                phone="+13125550100")
    # her e-mail consent as the member gave it (the back office's segment export reads the derived field)
    from clientele.privacy.consent import record_consent

    record_consent(Member.objects.get(customer_id=1), "marketing", "email", True,
                   occurred_at=datetime.now(timezone.utc), source="web", text_version="v1")
    other = Member.objects.exclude(home_store_id=household.home_store_id).order_by("customer_id").first()
    (settings().home / "facts.json").write_text(json.dumps({"other_store_member": other.customer_id}))
    for username, role in USERS.items():
        add_user(username, PASSWORD, role, store_id=household.home_store_id if role == "store manager" else None)


if __name__ == "__main__":
    main()
