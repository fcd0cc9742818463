"""The right of access: one archive (JSON plus one CSV per section) with everything Clientele holds
about a member, from the operational database and from the lake."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from django.db.models import Model

from clientele.config import settings
from clientele.members.models import Member
from clientele.privacy import consent
from clientele.privacy.identity import find_member
from clientele.privacy.models import PersonalDataFile

#: The nightly profile's fields, each with what it means for the member in plain words.
PROFILE_EXPLANATIONS = {
    "rfm_segment": "Your group by how recently, how often and how much you shopped (e.g. 'Champions').",
    "recency_days": "Days between your last basket and the day the profile was computed.",
    "frequency": "Number of your baskets in the period the profile looks at.",
    "monetary": "What you spent in that period.",
    "pyramid_level": "Where your spend places you among all members (top 1%, top 5%, ...).",
    "value_class": "Your spend class among members (A highest).",
    "value_tier": "Your value tier, used to size personal offers.",
    "lifecycle_stage": "Where you are as a customer: new, growing, stable, declining or lapsed.",
    "deal_proneness": "The share of your spend bought on a discount (0 to 1).",
    "expected_purchases": "How many shopping days we expect from you in the next 13 weeks (a statistical model of your past visits).",
    "probability_alive": "The model's estimate (0 to 1) that you still shop with us.",
    "churn_risk": "The model's estimate (0 to 1) that you will not shop in the next 13 weeks.",
    "at_risk": "True when that estimate is 0.5 or more; it may bring a win-back offer.",
    "predicted_clv": "The value we expect your purchases to have over the next 12 months.",
    "clv_lower": "Low end of that estimate (90% interval).",
    "clv_upper": "High end of that estimate (90% interval).",
    "expected_next_visit": "The day we expect your next visit, from your usual gap between visits.",
}
#: The lake's result tables that hold per-member predictions, with what each says.
LAKE_PREDICTIONS = {
    "next_purchases": "Products we expect you to buy soon, each with its chance and expected date (from your own buying cycle).",
    "next_categories": "Categories we expect you to buy soon, with their chance and date.",
    "next_visits": "When we expect your next visit, from your usual gap between visits.",
    "traits": "Habits inferred from your baskets (e.g. buys for a baby), with how sure the inference is.",
}


@dataclass(frozen=True)
class AccessArchive:
    """An access archive written to disk: its path, the member it answers for and its sections."""

    path: Path
    customer_id: int
    asked_for: int
    sections: dict[str, int]


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _rows(queryset) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in queryset]


def _fields(instance: Model | None, exclude: tuple[str, ...] = ()) -> dict:
    if instance is None:
        return {}
    return {f.attname: _plain(getattr(instance, f.attname)) for f in instance._meta.concrete_fields
            if f.attname not in exclude}


def member_data(member: Member) -> dict[str, list[dict]]:
    """Everything the operational database and the lake hold about the member, by section; each
    section a list of rows (dicts of plain values)."""
    from clientele.backoffice.models import PersonalDataView
    from clientele.campaigns.models import Assignment, Contact
    from clientele.loyalty.models import Basket, BasketLine, BasketReturn, PointsEntry, Redemption, TierChange
    from clientele.care.models import EventAttendance, FollowUpCall
    from clientele.members.models import CustomerProfile, HouseholdDemographics, TillContext
    from clientele.offers.list_models import ShoppingList, ShoppingListItem
    from clientele.offers.redemption_models import MemberOfferUse, OfferActivation, OfferRedemption
    from clientele.portal.models import PortalSession, ReferralCode, Review, SignInCode
    from clientele.service.churn_models import ExitReason, WinBackEntry
    from clientele.service.models import Complaint, ComplaintEvent, Compensation
    from clientele.service.survey_models import AttributeRating, Invitation, SurveyAnswer

    from clientele.loyalty.models import LoyaltyAccount

    account = LoyaltyAccount.objects.filter(member=member).first()
    profile = CustomerProfile.objects.filter(member=member).first()
    baskets = Basket.objects.filter(member=member)
    complaints = Complaint.objects.filter(member=member)
    invitations = Invitation.objects.filter(member=member)
    assignments = Assignment.objects.filter(customer_id=member.customer_id)
    lists = ShoppingList.objects.filter(member=member)
    profile_rows = []
    if profile is not None:
        for name, meaning in PROFILE_EXPLANATIONS.items():
            profile_rows.append({"field": name, "value": _plain(getattr(profile, name)), "meaning": meaning,
                                 "computed_on": profile.refreshed_on.isoformat()})
    data = {
        "identity": [_fields(member)],
        "demographics": [_fields(HouseholdDemographics.objects.filter(member=member).first())],
        "cards": _rows(member.cards.values("barcode", "status", "issued_at", "blocked_at")),
        "consents": [{"purpose": s.purpose, "channel": s.channel, "granted": s.granted,
                      "since": _plain(s.occurred_at), "source": s.source, "text_version": s.text_version}
                     for s in consent.current_consents(member)],
        "consent_history": consent.consent_history(member),
        "points_ledger": _rows(PointsEntry.objects.filter(account__member=member).order_by("available_from", "id").values(
            "kind", "amount", "available_from", "expires_on", "source", "explanation", "created_at")) if account else [],
        "tier_changes": _rows(TierChange.objects.filter(account__member=member).values()) if account else [],
        "reward_redemptions": _rows(Redemption.objects.filter(account__member=member).values(
            "reward_id", "points", "money_value", "store_id", "voucher_code", "created_at")) if account else [],
        "till_baskets": _rows(baskets.order_by("transacted_at").values(
            "id", "store_id", "till_id", "receipt_number", "transacted_at", "channel", "total", "points_earned")),
        "till_basket_lines": _rows(BasketLine.objects.filter(basket__member=member).order_by("basket_id").values()),
        "returns": _rows(BasketReturn.objects.filter(basket__member=member).values(
            "id", "basket_id", "returned_at", "refund", "points_reversed")),
        "profile": profile_rows,
        "shopping_lists": _rows(lists.values("number", "status", "generated_at", "valid_from", "valid_until",
                                             "pyramid_level", "offers_value")),
        "shopping_list_items": _rows(ShoppingListItem.objects.filter(shopping_list__member=member).values(
            "shopping_list__number", "position", "product_id", "category", "reason", "probability",
            "expected_date", "offer_description", "offer_value")),
        "offer_redemptions": _rows(OfferRedemption.objects.filter(member=member).values(
            "offer_id", "kind", "discount", "bonus_points", "redeemed_at", "basket_id")),
        "offer_uses": _rows(MemberOfferUse.objects.filter(member=member).values("offer_id", "uses")),
        "offer_activations": _rows(OfferActivation.objects.filter(member=member).values(
            "offer__code", "activated_at", "source")),
        "reviews": _rows(Review.objects.filter(member=member).values("id", "product_id", "rating", "text", "created_at")),
        "referral_code": _rows(ReferralCode.objects.filter(member=member).values("code", "created_at")),
        "portal_sessions": _rows(PortalSession.objects.filter(member=member).values(
            "created_at", "expires_at", "signed_out_at")),
        "contact_changes_asked": _rows(SignInCode.objects.filter(member=member).exclude(
            purpose=SignInCode.Purpose.SIGN_IN).values("purpose", "new_value", "created_at", "expires_at", "used_at")),
        "campaigns": _rows(assignments.values("campaign_id", "campaign__name", "group", "assigned_at")),
        "campaign_contacts": _rows(Contact.objects.filter(assignment__in=assignments).values(
            "assignment__campaign_id", "channel", "status", "sent_at")),
        "complaints": _rows(complaints.values()),
        "complaint_events": _rows(ComplaintEvent.objects.filter(complaint__in=complaints).values()),
        "compensations": _rows(Compensation.objects.filter(complaint__in=complaints).values()),
        "survey_invitations": _rows(invitations.values("survey_id", "survey__title", "sent_at", "expires_at")),
        "survey_answers": _rows(SurveyAnswer.objects.filter(invitation__in=invitations).values(
            "invitation__survey_id", "overall", "store_id", "answered_at")),
        "survey_ratings": _rows(AttributeRating.objects.filter(answer__invitation__in=invitations).values(
            "answer__invitation__survey_id", "attribute__name", "score")),
        "exit_reasons": _rows(ExitReason.objects.filter(member=member).values()),
        "win_back_calls": _rows(WinBackEntry.objects.filter(member=member).values()),
        "till_context": _rows(TillContext.objects.filter(member=member).values(
            "refreshed_on", "top_categories", "last_bought", "last_bought_on", "goes_with")),
        "after_sales_calls": _rows(FollowUpCall.objects.filter(member=member).values(
            "basket_id", "value_tier", "basket_total", "bought_at", "called_at", "outcome", "notes")),
        "member_events": _rows(EventAttendance.objects.filter(member=member).values(
            "event__code", "event__name", "event__held_on", "points_entry__amount", "recorded_at")),
        "views_of_personal_data": _rows(PersonalDataView.objects.filter(customer_id=member.customer_id).values(
            "username", "channel", "viewed_at")),
    }
    data.update(lake_data(member.customer_id))
    return data


def lake_data(customer_id: int) -> dict[str, list[dict]]:
    """The member's basket lines in the lake and their rows of the refresh's prediction tables."""
    from clientele.lake.schema import BASKET_LINES
    from clientele.lake.store import Lake

    lake = Lake()
    out: dict[str, list[dict]] = {"lake_basket_lines": []}
    if not lake.root.exists():
        return out
    import duckdb

    from clientele.analytics.results import result_source

    con = duckdb.connect()
    try:
        if lake.has_table(BASKET_LINES):
            cursor = con.execute(
                f"SELECT * EXCLUDE (source_file, import_id) FROM read_parquet('{lake.parquet_glob(BASKET_LINES)}', "
                "hive_partitioning = true) WHERE customer_id = ? ORDER BY transaction_ts, basket_id, line_no",
                [customer_id])
            out["lake_basket_lines"] = _cursor_rows(cursor)
        results = lake.root / "results"
        for table, meaning in LAKE_PREDICTIONS.items():
            if not (results / table).exists() or not any((results / table).rglob("*.parquet")):
                continue
            cursor = con.execute(f"SELECT * FROM ({result_source(results, table)}) WHERE customer_id = ?",
                                 [customer_id])
            rows = _cursor_rows(cursor)
            out[f"prediction_{table}"] = [{**row, "meaning": meaning} for row in rows]
    finally:
        con.close()
    return out


def _cursor_rows(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [{n: _plain(v) for n, v in zip(names, row)} for row in cursor.fetchall()]


def export_member(customer_id: int, folder: Path | None = None) -> AccessArchive:
    """Write the access archive of the member `customer_id` (or of the member it was merged into):
    a zip with member.json (every section) and one CSV per non-empty section, in `folder` (default
    <home>/privacy/access). The file is registered so that an erasure removes it. UnknownMember."""
    member = find_member(customer_id)
    data = member_data(member)
    folder = (folder or settings().home / "privacy" / "access").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"member-{member.customer_id}-{stamp}.zip"
    document = {"member": member.customer_id, "asked_for": customer_id,
                "written_at": datetime.now(timezone.utc).isoformat(),
                "sections": {name: {"rows": len(rows)} for name, rows in data.items()}, "data": data}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("member.json", json.dumps(document, indent=1, default=str))
        for name, rows in data.items():
            if rows:
                archive.writestr(f"{name}.csv", _csv(rows))
    PersonalDataFile.objects.update_or_create(path=str(path), defaults={
        "kind": PersonalDataFile.Kind.ACCESS_ARCHIVE, "customer_id": member.customer_id})
    return AccessArchive(path, member.customer_id, customer_id, {name: len(rows) for name, rows in data.items()})


def _csv(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()})
    return buffer.getvalue()
