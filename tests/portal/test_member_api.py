"""What a signed-in member does through the app API (issue 25, parts 2-5): points and tier progress
from the real history, the card's barcode, the list, an offer clipped then applied at the till, the
profile bonus once, consent as events of source 'web', privacy requests, reviews, complaints,
surveys and referrals."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import portal_builders as build
import pytest
from barcode_check import decode_ean13_svg
from django.db import IntegrityError, transaction
from django.test import Client

from clientele.barcodes import card_barcode
from clientele.loyalty import ledger
from clientele.loyalty.models import LoyaltyAccount, PointsEntry, Referral
from clientele.members.models import Member
from clientele.privacy.models import ConsentEvent, ErasureRequest
from clientele.service.models import Complaint

JSON = "application/json"


def test_the_account_shows_points_available_and_pending_with_reasons_and_the_tier_progress_from_the_history(ada_api):
    account = ada_api.get("/api/portal/account").json()
    ledger_balance = ledger.balance(LoyaltyAccount.objects.get(member__customer_id=42).pk)

    # 3 x 120.40 (60-90 days ago: available) and 55.25 two days ago (pending for the 30-day return window)
    assert (account["available"], account["pending"]) == (ledger_balance.available, ledger_balance.pending)
    assert (account["available"], account["pending"]) == (360, 55)
    assert [(e["points"], e["pending"]) for e in account["entries"]] == [(55, True), (120, False), (120, False),
                                                                         (120, False)]
    assert all("Points earned on a basket" in e["reason"] and "1 point per dollar" in e["reason"]
               for e in account["entries"])
    tier = account["tier"]
    assert (tier["tier"], tier["next_tier"]) == ("Member", "Silver")
    assert Decimal(tier["spend_12m"]) == Decimal("416.45") and tier["visits_12m"] == 4
    assert Decimal(tier["spend_to_next"]) == Decimal("583.55") and tier["visits_to_next"] == 20  # Silver: 1000, 24
    assert account["card"] == {"number": card_barcode(42), "svg": None}
    assert [r["code"] for r in account["rewards"] if r["affordable"]] == ["BAG"]  # 300 points; the next costs 500


def test_points_expiring_soon_are_shown_by_the_month_end_they_expire_by(ada_api, members):
    account = LoyaltyAccount.objects.get(member__customer_id=42)
    soon = ledger.now_utc().date() + timedelta(days=3)
    with transaction.atomic():
        ledger.credit(account, "opening_balance", 70, key="opening_balance:42", source="previous programme",
                      actor="test", available_from=ledger.now_utc() - timedelta(days=700), expires_on=soon)

    expiring = ada_api.get("/api/portal/account").json()["expiring"]

    assert [due["points"] for due in expiring] == [70]  # the baskets' points expire in two years
    assert expiring[0]["by"] >= soon.isoformat()


def test_the_cards_barcode_drawn_decodes_back_to_the_card_number(ada_api):
    card = ada_api.get("/api/portal/account?barcode=true").json()["card"]

    assert decode_ean13_svg(card["svg"]) == card["number"] == card_barcode(42)


def test_older_entries_page_back_from_an_entry(ada_api):
    newest = ada_api.get("/api/portal/account").json()["entries"]
    older = ada_api.get(f"/api/portal/account/entries?before={newest[1]['id']}&limit=5").json()

    assert [e["id"] for e in older] == [e["id"] for e in newest[2:]]


def test_a_member_clips_an_offer_then_a_checkout_through_the_till_api_applies_it(ada_api, bob_api, till_key):
    build.offer_to_activate()
    till = Client(headers={"X-API-Key": till_key})
    offers = ada_api.get("/api/portal/offers").json()
    clipped = ada_api.post("/api/portal/offers/coffee-clip/activate").json()
    twice = ada_api.post("/api/portal/offers/coffee-clip/activate").json()
    basket = {"store_id": 1, "till_id": "T1", "transacted_at": build.now().isoformat(),
              "lines": [{"line_no": 1, "product_id": build.COFFEE, "quantity": "1", "unit_price": "6.00"}]}
    adas = till.post("/api/baskets", basket | {"receipt_number": "clip-1", "card": card_barcode(42)}, content_type=JSON)
    bobs = till.post("/api/baskets", basket | {"receipt_number": "clip-2", "card": card_barcode(43)}, content_type=JSON)

    assert [(o["code"], o["activated"]) for o in offers] == [("coffee-clip", False)]
    assert clipped == {"code": "coffee-clip", "activated_now": True} and twice["activated_now"] is False
    assert [(o["code"], o["discount"]) for o in adas.json()["offers"]] == [("coffee-clip", "1.50")]
    assert bobs.json()["offers"] == []  # Bob did not clip it
    assert ada_api.get("/api/portal/offers").json()[0]["activated"] is True
    assert ada_api.get("/api/portal/savings").json() == {"discount": "1.50", "bonus_points": 0, "baskets": 1}


def test_an_offer_that_ended_or_needs_no_activation_cannot_be_clipped(ada_api):
    build.offer_to_activate("old-clip")
    from clientele.offers.models import Offer

    Offer.objects.filter(code="old-clip").update(valid_until=build.now() - timedelta(minutes=1),
                                                 valid_from=build.now() - timedelta(days=2))
    ended = ada_api.post("/api/portal/offers/old-clip/activate")
    unknown = ada_api.post("/api/portal/offers/no-such-offer/activate")

    assert (ended.status_code, ended.json()["code"]) == (409, "offer_not_activable")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_offer")


def test_the_current_list_with_its_barcode(ada_api, members):
    made = build.shopping_list(42, 7)
    shown = ada_api.get("/api/portal/list?barcode=true").json()

    assert shown["number"] == made.number and decode_ean13_svg(shown["svg"]) == made.number
    assert [item["product_id"] for item in shown["items"]] == [build.MILK]


COMPLETE = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org", "phone": "+13125550100",
            "birth_date": "1985-12-10", "address_line": "12 Main Street", "postal_code": "60601", "city": "Chicago"}


def test_completing_the_profile_earns_the_profile_bonus_once_and_the_database_refuses_a_second(ada_api):
    partial = ada_api.put("/api/portal/profile", {"city": "Chicago"}, content_type=JSON).json()
    complete = ada_api.put("/api/portal/profile", COMPLETE, content_type=JSON).json()
    again = ada_api.put("/api/portal/profile", COMPLETE | {"city": "Evanston"}, content_type=JSON).json()
    bonuses = PointsEntry.objects.filter(kind="bonus_awarded", account__member__customer_id=42)

    assert partial["bonus_points"] == 0 and "birth_date" in partial["missing"]
    assert complete["bonus_points"] == 200 and complete["missing"] == []
    assert again == {"changed": ["city"], "missing": [], "bonus_points": 0, "to_confirm": []}
    assert [(b.amount, b.idempotency_key) for b in bonuses] == [(200, "bonus:profile_completed:42")]
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.append(bonuses[0].account, "bonus_awarded", 200, key="bonus:profile_completed:42", source="again",
                      actor="test")


@pytest.mark.parametrize("field, value", [("email", "not-an-address"), ("phone", "12"), ("birth_date", "2999-01-01")])
def test_a_profile_change_that_does_not_check_names_its_field_and_changes_nothing(ada_api, field, value):
    answer = ada_api.put("/api/portal/profile", {field: value, "city": "Springfield"}, content_type=JSON)

    assert (answer.status_code, answer.json()["field"]) == (422, field)
    assert field in answer.json()["message"]
    assert ada_api.get("/api/portal/profile").json()["city"] == ""


def test_a_profile_change_naming_another_member_changes_only_ones_own(ada_api):
    answer = ada_api.put("/api/portal/profile", {"member_number": 43, "customer_id": 43, "city": "Chicago"},
                         content_type=JSON)

    assert answer.json()["changed"] == ["city"]
    assert Member.objects.get(customer_id=42).city == "Chicago" and Member.objects.get(customer_id=43).city == ""


def test_consent_changes_are_consent_events_of_source_web_and_the_history_keeps_them(ada_api):
    before = {(c["purpose"], c["channel"]): c["granted"] for c in ada_api.get("/api/portal/consents").json()}
    ada_api.put("/api/portal/consents", {"purpose": "marketing", "channel": "email", "granted": True}, content_type=JSON)
    ada_api.put("/api/portal/consents", {"purpose": "profiling", "granted": False}, content_type=JSON)
    after = {(c["purpose"], c["channel"]): c["granted"] for c in ada_api.get("/api/portal/consents").json()}
    bad = ada_api.put("/api/portal/consents", {"purpose": "profiling", "channel": "sms", "granted": True},
                      content_type=JSON)

    assert before[("marketing", "email")] is False and before[("profiling", "")] is True
    assert after[("marketing", "email")] is True and after[("profiling", "")] is False
    assert list(ConsentEvent.objects.filter(member__customer_id=42, recorded_by__startswith="portal")
                .values_list("source", flat=True)) == ["web", "web"]
    assert len(ada_api.get("/api/portal/consents/history").json()) == 2
    assert bad.status_code == 422


def test_an_erasure_request_goes_to_the_privacy_workflow_and_an_export_holds_only_the_members_data(ada_api):
    first = ada_api.post("/api/portal/privacy/erasure", {"reason": "moving abroad"}, content_type=JSON).json()
    again = ada_api.post("/api/portal/privacy/erasure", {}, content_type=JSON).json()
    exported = ada_api.post("/api/portal/privacy/export")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(exported.streaming_content)))
    document = json.loads(archive.read("member.json"))

    assert first == again and first["status"] == "pending"
    assert ErasureRequest.objects.get().requested_by == "portal:member 42"
    assert document["member"] == 42 and "bob@example.org" not in json.dumps(document)


def test_each_review_earns_the_review_bonus_once(ada_api):
    first = ada_api.post("/api/portal/reviews", {"product_id": build.BREAD, "rating": 5, "text": "Soft"},
                         content_type=JSON).json()
    second = ada_api.post("/api/portal/reviews", {"product_id": build.MILK, "rating": 3, "text": "Fine"},
                          content_type=JSON).json()
    unknown = ada_api.post("/api/portal/reviews", {"product_id": 5, "rating": 3, "text": "?"}, content_type=JSON)
    bonuses = PointsEntry.objects.filter(kind="bonus_awarded", source__startswith="review_written")

    assert (first["bonus_points"], second["bonus_points"]) == (50, 50)
    assert sorted(bonuses.values_list("idempotency_key", flat=True)) == [
        f"bonus:review_written:portal-review-{first['id']}", f"bonus:review_written:portal-review-{second['id']}"]
    assert (unknown.status_code, unknown.json()["field"]) == (422, "product_id")


def test_a_complaint_is_recorded_by_the_service_desk_with_its_questions(ada_api):
    answers = {"cause": "product_quality", "severity": "high", "what_happened": "The milk was sour",
               "how_it_happened": "Bought yesterday", "why_unhappy": "Milk, past its date", "served_by": "Self checkout",
               "wanted_resolution": "A refund"}
    made = ada_api.post("/api/portal/complaints", answers, content_type=JSON)
    missing = ada_api.post("/api/portal/complaints", answers | {"what_happened": ""}, content_type=JSON)

    assert made.status_code == 201, made.json()
    complaint = Complaint.objects.get()
    assert (complaint.member.customer_id, complaint.channel, complaint.status) == (42, "web", "new")
    assert [c["id"] for c in ada_api.get("/api/portal/complaints").json()] == [complaint.pk]
    assert (missing.status_code, missing.json()["field"]) == (422, "what_happened")


def test_open_survey_invitations_are_listed_with_their_own_link(ada_api, members):
    from clientele.service.surveys import SurveyIn, create_survey
    from clientele.service.survey_models import Invitation

    survey = create_survey(SurveyIn(code="visit", title="Your last visit", opens_at=build.now() - timedelta(days=1),
                                    closes_at=build.now() + timedelta(days=9), attributes={"service": Decimal("1")}), "test")
    Invitation.objects.create(survey=survey, member=members["ada"], token="t-ada", sent_at=build.now(),
                              expires_at=build.now() + timedelta(days=5))
    Invitation.objects.create(survey=survey, member=members["bob"], token="t-bob", sent_at=build.now(),
                              expires_at=build.now() + timedelta(days=5))

    assert [s["token"] for s in ada_api.get("/api/portal/surveys").json()] == ["t-ada"]


def test_a_friend_referred_earns_the_referrer_the_bonus_at_their_first_basket_once(ada_api, bob_api, mailbox,
                                                                                   till_key):
    from portal_helpers import api_sign_in

    code = bob_api.get("/api/portal/referral").json()["code"]
    carol = Client(headers={"Authorization": "Bearer " + api_sign_in(Client(), "carol@example.org", mailbox,
                                                                      "carol@example.org")})
    own = bob_api.post("/api/portal/referral", {"code": code}, content_type=JSON)
    referred = carol.post("/api/portal/referral", {"code": code.lower()}, content_type=JSON)
    build.shop(44, "c1", 0, "10.00", till_key)
    build.shop(44, "c2", 0, "10.00", till_key)
    ada_shopped_already = ada_api.post("/api/portal/referral", {"code": code}, content_type=JSON)

    bonuses = PointsEntry.objects.filter(kind="bonus_awarded", source__startswith="referral")
    assert (own.status_code, own.json()["code"]) == (409, "referral_refused")
    assert referred.json() == {"referred": True} and Referral.objects.get().referrer.customer_id == 43
    assert [(b.account.member.customer_id, b.amount) for b in bonuses] == [(43, 500)]
    assert (ada_shopped_already.status_code, ada_shopped_already.json()["code"]) == (409, "referral_refused")


@pytest.mark.parametrize("path, body", [
    ("/api/portal/referral", {"code": "AB\x00C"}),
    ("/api/portal/reviews", {"product_id": build.BREAD, "rating": 4, "text": "good\x00"}),
    ("/api/portal/profile", {"city": "Leeds\x1f"}),
    ("/api/portal/sign-in", {"identifier": "ada\x00@example.org"}),
])
def test_text_with_a_nul_or_control_character_is_refused_with_its_field_not_a_server_error(ada_api, path, body):
    answer = ada_api.post(path, body, content_type=JSON) if "profile" not in path else ada_api.put(
        path, body, content_type=JSON)

    assert answer.status_code == 422
    assert next(iter(body.keys() - {"product_id", "rating"})) in answer.content.decode()


def test_a_review_keeps_its_line_breaks(ada_api):
    review = ada_api.post("/api/portal/reviews", {"product_id": build.BREAD, "rating": 5, "text": "Fresh.\nCrusty."},
                          content_type=JSON)

    assert review.status_code == 201 and review.json()["text"] == "Fresh.\nCrusty."


def test_an_erasure_carried_out_ends_the_members_sessions_and_keeps_their_reviews_without_text(ada_api, home):
    from clientele.portal.models import Review
    from clientele.privacy import erasure

    review = ada_api.post("/api/portal/reviews", {"product_id": build.BREAD, "rating": 4, "text": "My kids love it"},
                          content_type=JSON).json()
    asked = ada_api.post("/api/portal/privacy/erasure", {"reason": "leaving"}, content_type=JSON).json()
    erasure.approve_erasure(asked["request_id"], approved_by="dpo")
    done = erasure.carry_out(asked["request_id"])

    assert done.status == "done"
    assert (Review.objects.get(pk=review["id"]).text, Review.objects.get(pk=review["id"]).rating) == ("[erased]", 4)
    assert ada_api.get("/api/portal/account").status_code == 401


def test_the_back_office_reads_the_reviews_members_wrote_and_cannot_change_them(ada_api, admin_client):
    review = ada_api.post("/api/portal/reviews", {"product_id": build.BREAD, "rating": 2, "text": "Too dry"},
                          content_type=JSON).json()

    listed = admin_client.get("/admin/portal/review/")
    shown = admin_client.get(f"/admin/portal/review/{review['id']}/change/")

    assert listed.status_code == shown.status_code == 200
    assert "Too dry" in shown.content.decode() and 'name="text"' not in shown.content.decode()
