"""The member's feedback from the portal: product reviews (the programme's review bonus, once per
review), complaints (the service desk's questions, through its services), survey invitations (the
service desk's own survey pages answer them) and referrals (a code to give friends; the referral
bonus at the friend's first basket, once, by the loyalty programme)."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction

from clientele.catalog.models import Product
from clientele.loyalty.bonuses import Action, award_bonus, record_referral
from clientele.loyalty.errors import ReferralRefused
from clientele.loyalty.ledger import now_utc
from clientele.members.models import Member
from clientele.portal import errors
from clientele.portal.models import ReferralCode, Review
from clientele.portal.profile import actor
from clientele.service import services as service
from clientele.service.errors import ServiceError
from clientele.service.models import Complaint, ComplaintCause
from clientele.service.survey_models import Invitation

#: Letters and digits a friend reads and types without confusion (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: The severities a member may choose (critical is the service desk's judgement).
MEMBER_SEVERITIES = ("low", "medium", "high")


def write_review(member: Member, product_id: int, rating: int, text: str) -> tuple[Review, int]:
    """Store the member's review of a product and credit the programme's review bonus for it (once
    per review, in the same transaction). Returns the review and the points granted (0 when no
    rule rewards reviews today). InvalidFeedback names the field at fault."""
    text = text.strip()
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise errors.InvalidFeedback("rating: from 1 to 5 stars", field="rating")
    if not text or len(text) > 5000:
        raise errors.InvalidFeedback("text: write a few words (at most 5,000 characters)", field="text")
    product = Product.objects.filter(product_id=product_id).first()
    if product is None:
        raise errors.InvalidFeedback(f"product_id: no product {product_id} in the catalogue", field="product_id")
    with transaction.atomic():
        review = Review.objects.create(member=member, product=product, rating=rating, text=text, created_at=now_utc())
        bonus = award_bonus(member, Action.REVIEW_WRITTEN, f"portal-review-{review.pk}", actor(member))
    return review, bonus["points"] if bonus else 0


def own_review(member: Member, review_id: int) -> Review:
    """One of the member's reviews: NotFound for another member's (as for one that does not exist)."""
    review = Review.objects.select_related("product").filter(pk=review_id, member=member).first()
    if review is None:
        raise errors.NotFound(f"no review {review_id} of yours", field="review_id")
    return review


def reviews(member: Member) -> list[Review]:
    return list(Review.objects.filter(member=member).select_related("product")[:50])


def complaint_causes() -> list[tuple[str, str]]:
    """The causes a member may choose from (code, name), as the service desk defines them."""
    return list(ComplaintCause.objects.filter(active=True).order_by("name").values_list("code", "name"))


def make_complaint(member: Member, answers: dict) -> Complaint:
    """Record the member's complaint through the service desk (channel web, the member's own
    answers to its questions; the claim taken as reasonable until an agent judges it). InvalidFeedback
    names the first field at fault (the service desk's own checks)."""
    severity = answers.get("severity", "medium")
    if severity not in MEMBER_SEVERITIES:
        raise errors.InvalidFeedback(f"severity: one of {', '.join(MEMBER_SEVERITIES)}", field="severity")
    request = service.ComplaintIn(
        member_number=member.customer_id, channel=Complaint.Channel.WEB, cause=answers.get("cause", ""),
        severity=severity, what_happened=answers.get("what_happened", ""),
        how_it_happened=answers.get("how_it_happened", ""), why_unhappy=answers.get("why_unhappy", ""),
        served_by=answers.get("served_by", ""), wanted_resolution=answers.get("wanted_resolution", ""),
        claim_reasonable=True, other_cause=answers.get("other_cause", ""), store_id=answers.get("store_id"),
        queue="web")
    try:
        return service.record_complaint(request, actor(member))
    except ServiceError as error:
        raise errors.InvalidFeedback(error.message, field=error.field) from None


def complaints(member: Member) -> list[dict]:
    """The member's complaints, newest first, with their status (the service desk's own list)."""
    return service.member_complaints(member)


def own_complaint(member: Member, complaint_id: int) -> Complaint:
    """One of the member's complaints: NotFound for another member's."""
    found = Complaint.objects.select_related("cause").filter(pk=complaint_id, member=member).first()
    if found is None:
        raise errors.NotFound(f"no complaint {complaint_id} of yours", field="complaint_id")
    return found


def open_surveys(member: Member) -> list[dict]:
    """The member's survey invitations that may still be answered, each with its link's token
    (the service desk's survey page, /survey/<token>)."""
    now = now_utc()
    invitations = (Invitation.objects.filter(member=member, answer__isnull=True, expires_at__gt=now,
                                             survey__opens_at__lte=now, survey__closes_at__gt=now)
                   .select_related("survey").order_by("expires_at"))
    return [{"survey": i.survey.title, "token": i.token,
             "expires_at": i.expires_at} for i in invitations]


def referral_code(member: Member) -> str:
    """The member's code to give friends (made on first use)."""
    existing = ReferralCode.objects.filter(member=member).values_list("code", flat=True).first()
    if existing:
        return existing
    for _ in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(member=member, code=code).code
        except IntegrityError:  # the same code drawn for another member, or this member's made meanwhile
            existing = ReferralCode.objects.filter(member=member).values_list("code", flat=True).first()
            if existing:
                return existing
    raise RuntimeError("no free referral code after 5 draws")


def use_referral_code(member: Member, code: str) -> None:
    """Record that the member was referred by the owner of `code`: the referrer earns the referral
    bonus at this member's first basket (who they are is never shown to the member).
    ReferralRefused for an unknown code, one's own, a member who already shopped or was referred."""
    owner = ReferralCode.objects.select_related("member").filter(code=code.strip().upper()).first()
    if owner is None:
        raise errors.ReferralRefused("this referral code is not known: check it with your friend")
    try:
        record_referral(owner.member, member)
    except ReferralRefused as error:
        raise errors.ReferralRefused(error.message) from None
