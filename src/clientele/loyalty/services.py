"""The loyalty programme's service layer: every write and every rule is reached from here.

The verbs live in modules of their own (one idea each) and are gathered here so that the API,
the CLI and the admin have one place to call:

- `checkout.post_basket`, `returns.return_lines`, `redemption.redeem`: the till's calls;
- `bonuses.award_bonus`: non-purchase actions;
- `ledger.expire_points`, `ledger.liability`: expiry and the finance report;
- `tiers.review_tiers`, `migration.import_balances`: the back-office batch work;
- `default_programme.install_default_programme`, `history.credit_history`: a programme to start
  from, and the lake's purchase history credited through its rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings as django_settings
from django.db import transaction

from clientele.loyalty import errors, idempotency, ledger
from clientele.loyalty.bonuses import award_bonus
from clientele.loyalty.checkout import BasketIn, LineIn, post_basket
from clientele.loyalty.default_programme import install_default_programme
from clientele.loyalty.errors import KeyRefused
from clientele.loyalty.history import credit_history
from clientele.loyalty.identity import PresentedKey, authenticate, greet_member, issue_api_key
from clientele.loyalty.ledger import expire_points, liability
from clientele.loyalty.migration import import_balances
from clientele.loyalty.models import ApiKey, Referral
from clientele.loyalty.redemption import RedemptionIn, redeem
from clientele.loyalty.returns import ReturnIn, return_lines
from clientele.loyalty.tiers import review_tiers
from clientele.members import till
from clientele.members.models import Member

__all__ = [
    "BasketIn", "EnrolmentIn", "KeyRefused", "LineIn", "PresentedKey", "RedemptionIn", "ReturnIn", "authenticate",
    "award_bonus", "credit_history", "enrol_member", "expire_points", "identify", "import_balances",
    "install_default_programme", "issue_api_key", "liability", "post_basket", "redeem", "replace_card",
    "return_lines", "review_tiers",
]


@dataclass(frozen=True)
class EnrolmentIn:
    """A new member as the till captures them; `card` is a pre-printed card scanned, if any."""

    store_id: int
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    birth_date: date | None = None
    card: str | None = None
    email_consent: bool = False
    sms_consent: bool = False
    referrer_member_number: int | None = None
    enrolment_id: str | None = None


def identify(card: str | None = None, phone: str | None = None, member_number: int | None = None,
             key: PresentedKey | None = None) -> dict:
    """What the till shows when a member is identified: the name to greet, member number, tier
    and its perks, points available and pending, the member's active personal offers, and the
    messages of the running campaigns they are in the treated group of (never the holdout's); with
    the setting CLIENTELE_TILL_CONTEXT, what helps the cashier serve, from the nightly refresh:
    `top_categories` (most spent first) and `context`, one line on the last purchase and what goes
    with it (None when the refresh has not described the member).
    `key`: the key the till presented, checked first (KeyRefused); None when already checked."""
    from clientele.campaigns.services import till_messages  # campaigns build on loyalty, not the reverse
    from clientele.offers.till import current_offers

    with_context = django_settings.CLIENTELE_TILL_CONTEXT
    member, tier, points, told = greet_member(card=card, phone=phone, member_number=member_number, key=key,
                                              context=with_context)
    answer = {
        "member_number": member.customer_id, "greeting_name": member.first_name or member.display_name,
        "tier": tier.name if tier else None, "perks": list(tier.perks) if tier else [],
        "balance": points.as_dict(), "offers": current_offers(member, ledger.now_utc()), "messages": till_messages(member.customer_id),
    }
    if with_context:
        answer |= {"top_categories": list(told.top_categories), "context": told.line}
    return answer


def enrol_member(enrolment: EnrolmentIn, key: ApiKey) -> dict:
    """Enrol a member at the till, issue the card and open the points account (and record who
    referred them, whose reward comes with the new member's first basket). Returns the member
    number and the card barcode. The same enrolment sent again (the same `enrolment_id`, or the
    same pre-printed card) answers the first; another request under the id is refused
    (RequestReused), under the card too (CardInUse)."""
    if enrolment.store_id != key.store_id:
        raise errors.StoreNotAllowed(f"this key belongs to store {key.store_id}, not store {enrolment.store_id}")
    if enrolment.enrolment_id is not None:
        return idempotency.once("enrolment", f"{enrolment.store_id}:{enrolment.enrolment_id}", enrolment,
                                "enrolment_id", lambda: _enrol(enrolment))
    if enrolment.card is not None:
        try:
            return idempotency.once("enrolment", f"card:{enrolment.card}", enrolment, "card",
                                    lambda: _enrol(enrolment))
        except errors.RequestReused:
            raise errors.CardInUse(f"card {enrolment.card} already belongs to a member") from None
    return _enrol(enrolment) | {"replayed": False}


def _enrol(enrolment: EnrolmentIn) -> dict:
    with transaction.atomic():
        referrer = None
        if enrolment.referrer_member_number is not None:
            referrer = Member.objects.filter(customer_id=enrolment.referrer_member_number).first()
            if referrer is None:
                raise errors.UnknownMember(f"no member number {enrolment.referrer_member_number}",
                                           field="referrer_member_number")
        member, card = till.enrol_member(
            first_name=enrolment.first_name, last_name=enrolment.last_name, email=enrolment.email,
            phone=enrolment.phone, birth_date=enrolment.birth_date, home_store_id=enrolment.store_id,
            card=enrolment.card, email_consent=enrolment.email_consent, sms_consent=enrolment.sms_consent,
            joined_on=ledger.now_utc().date(),
        )
        ledger.account_for_member(member)
        if referrer is not None:
            Referral.objects.create(referrer=referrer, referred=member)
    return {"member_number": member.customer_id, "card": card.barcode, "greeting_name": member.display_name}


@dataclass(frozen=True)
class CardReplacementIn:
    """The lost card and, when the till scanned one, the pre-printed card replacing it."""

    old_card: str
    new_card: str | None = None


def replace_card(old_card: str, new_card: str | None = None) -> dict:
    """Block a lost card and issue a new one to the same member; points and history stay.
    Returns both barcodes and the member's balance. The same replacement sent again answers the
    first; the lost card replaced again by another card is refused (RequestReused)."""
    request = CardReplacementIn(old_card, new_card)
    return idempotency.once("card_replacement", old_card, request, "barcode", lambda: _replace_card(request))


def _replace_card(request: CardReplacementIn) -> dict:
    old_card, new_card = request.old_card, request.new_card
    with transaction.atomic():
        old, new = till.replace_card(old_card, new_card)
        account = ledger.account_for_member(old.member)
    return {"member_number": old.member.customer_id, "old_card": old.barcode, "old_card_status": old.status,
            "card": new.barcode, "balance": ledger.balance(account.pk).as_dict()}
