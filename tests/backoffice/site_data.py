"""Prepare a served back office for the browser tests (run as a script, in its own process, with
CLIENTELE_HOME and DATABASE_URL set): a real slice of the Complete Journey in the lake (every tenth
household), the nightly refresh on it, the reference data and profiles in the operational database,
a checkout of household 1 at a till, the shopping lists, a campaign drawn over every customer, a
survey household 1 answered, the dashboard's nightly figures, and one user per role (password
PASSWORD)."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")

PASSWORD = "Browser-test-42"
HOUSEHOLDS = list(range(1, 2470, 10))
#: user name -> role (the store manager works at household 1's home store)
USERS = {
    "agent": "service agent", "marketer": "marketer", "analyst": "analyst", "admin": "programme administrator",
    "dpo": "data protection officer", "dpo2": "data protection officer", "maker": "manufacturer",
    "manager": "store manager",
    "steward": "data steward",
}
PRODUCT = 26738  # ICE CREAM/MILK/SHERBTS
SURVEY = "store-visit"


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
    acting_half(household)


def acting_half(household) -> None:
    """What the nightly refresh and the marketers add: the shopping lists, a campaign over every
    customer (treated or holdout), a survey household 1 answered, the dashboard's nightly figures."""
    from clientele.analytics.shopping_lists import ListRules, read_list_inputs
    from clientele.backoffice.dashboard import store_nightly
    from clientele.campaigns.services import CampaignIn, create_campaign, launch
    from clientele.engine import connect
    from clientele.offers.lists import generate_lists
    from clientele.service.surveys import SurveyIn, answer_survey, create_survey, invite

    rules = ListRules.configured()
    now = datetime.now(timezone.utc)
    generate_lists(read_list_inputs(connect(), rules=rules), now, rules)
    campaign = create_campaign(CampaignIn(
        name="Everyone, December 2017", owner="marketer", goal_metric="spend", goal_target=Decimal("0.05"),
        window_start=date(2017, 12, 4), window_end=date(2017, 12, 31), pre_days=63,
        audience="pyramid=VIP OR pyramid=major OR pyramid=medium OR pyramid=small"))
    launch(campaign.id)
    create_survey(SurveyIn(code=SURVEY, title="How was your shopping?", opens_at=now - timedelta(days=1),
                           closes_at=now + timedelta(days=30), attributes={"quality": Decimal("2"), "price": Decimal("1")}),
                  "marketer")
    invitation = invite(SURVEY, 1, among=[household.customer_id])[0]
    answer_survey(invitation.token, 5, {"quality": 5, "price": 4}, store_id=household.home_store_id)
    store_nightly(date.today())


def identity_people(home) -> None:
    """For the identity pages (run by their test, `site_data.py identity`, so that the other pages'
    figures count the Complete Journey's households only): 60 synthetic people (seeded) enrolled at the tills as members
    900000+, their other records written as an online-shop contact file (identity-shop.csv), and
    Ada enrolled a second time (member 899999: another card, 120 points, no phone)."""
    import csv

    from clientele.barcodes import card_barcode
    from clientele.identity import synth
    from clientele.loyalty import ledger
    from clientele.loyalty.models import PointsEntry
    from clientele.members.models import Card, Member

    records = synth.people(60, seed=7, duplicate_share=0.6)
    fields = ["first_name", "last_name", "email", "phone", "birth_date", "address_line", "postal_code", "city"]
    with open(home / "identity-shop.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["source_key", *fields])
        for n, r in enumerate(records):
            if r["source"] == "members":
                Member.objects.create(customer_id=900000 + n, join_date=date(2024, 1, 1),
                                      birth_date=date.fromisoformat(r["birth_date"]) if r["birth_date"] else None,
                                      **{name: r[name] for name in fields if name != "birth_date"})
            else:
                writer.writerow([f"W{n}", *(r[name] for name in fields)])
        for n, r in enumerate(records[:6]):  # the same names, city and e-mail domain, nothing else: doubtful
            writer.writerow([f"H{n}", r["first_name"], r["last_name"], f"{r['first_name']}@example.net", "", "", "",
                             "", r["city"]])
    twin = Member.objects.create(customer_id=899999, first_name="Ada", last_name="Lovelace",
                                 email="ada.lovelace@example.org", join_date=date(2025, 6, 1))
    Card.objects.create(barcode=card_barcode(899999), member=twin)
    ledger.credit(ledger.account_for_member(twin), PointsEntry.Kind.OPENING_BALANCE, 120, key="opening:899999",
                  source="previous CRM", actor="site_data")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["identity"]:
        import django

        django.setup()
        from clientele.config import settings

        identity_people(settings().home)
    else:
        main()
