"""What can go wrong at the till, each with a stable `code`, an HTTP status and the field at fault.

The API maps them to problems in one place (`loyalty.api`); the CLI prints their message.
"""

from __future__ import annotations

from clientele.errors import RequestRefused


class LoyaltyError(RequestRefused):
    """A request the programme refuses; `field` names the part of the request at fault."""

    code = "loyalty_error"


class KeyRefused(LoyaltyError):
    """The till sent no key, an unknown one or a revoked one: its call is refused first (401)."""

    code, status, default_field = "invalid_api_key", 401, "X-API-Key"

    def __init__(self):
        super().__init__("missing, unknown or revoked API key")


class UnknownCard(LoyaltyError):
    code, status, default_field = "unknown_card", 404, "card"


class BlockedCard(LoyaltyError):
    code, status, default_field = "blocked_card", 409, "card"


class UnknownMember(LoyaltyError):
    code, status, default_field = "unknown_member", 404, "member_number"


class UnknownProduct(LoyaltyError):
    code, status, default_field = "unknown_product", 422, "lines"


class UnknownStore(LoyaltyError):
    code, status, default_field = "unknown_store", 422, "store_id"


class UnknownBasket(LoyaltyError):
    code, status, default_field = "unknown_basket", 404, "receipt_number"


class UnknownReward(LoyaltyError):
    code, status, default_field = "unknown_reward", 404, "reward_code"


class RewardUnavailable(LoyaltyError):
    code, status, default_field = "reward_unavailable", 409, "reward_code"


class NegativeQuantity(LoyaltyError):
    code, status, default_field = "negative_quantity", 422, "lines"


class InvalidAmount(LoyaltyError):
    code, status, default_field = "invalid_amount", 422, ""


class BasketFromFuture(LoyaltyError):
    code, status, default_field = "basket_from_future", 422, "transacted_at"


class ReceiptReused(LoyaltyError):
    """The receipt's idempotency key came back with different content: not a replay."""

    code, status, default_field = "receipt_reused", 409, "receipt_number"


class RequestReused(LoyaltyError):
    """A return, redemption, enrolment or card replacement id came back with another request: not a replay."""

    code, status, default_field = "request_reused", 409, ""


class ReferenceRemoved(LoyaltyError):
    """A parent of the basket (its store, member, card or a product) was deleted while the basket
    was being recorded: the database refused to leave it an orphan, and nothing was recorded."""

    code, status, default_field = "reference_removed", 409, ""


class ReturnExceedsPurchase(LoyaltyError):
    code, status, default_field = "return_exceeds_purchase", 422, "lines"


class InsufficientPoints(LoyaltyError):
    code, status, default_field = "insufficient_points", 409, "points"


class StoreNotAllowed(LoyaltyError):
    code, status, default_field = "store_not_allowed", 403, "store_id"


class MissingIdentifier(LoyaltyError):
    code, status, default_field = "missing_identifier", 422, "card"


class CardInUse(LoyaltyError):
    code, status, default_field = "card_in_use", 409, "card"


class InvalidCard(LoyaltyError):
    code, status, default_field = "invalid_card", 422, "card"


class DuplicateBasket(LoyaltyError):
    """Raised inside the basket service when the receipt was already posted; the service answers
    with the first result instead (an idempotent replay), so it never reaches a till."""

    code, status, default_field = "duplicate_basket", 409, "receipt_number"


class MemberChangedMeanwhile(LoyaltyError):
    """Raised inside the checkout when the member it read was closed (merged into another member,
    erased) while it waited for their account: nothing was written, and the checkout is decided
    again with the card's member read afresh (the survivor of a merge). Reaches a till only when
    that happens at every attempt."""

    code, status, default_field = "member_changed", 409, "card"


class AmbiguousPhone(LoyaltyError):
    code, status, default_field = "ambiguous_phone", 409, "phone"


class BasketTooOld(LoyaltyError):
    code, status, default_field = "basket_too_old", 422, "transacted_at"


class BonusNotOffered(LoyaltyError):
    """No active earning rule rewards the reported action: nothing was credited."""

    code, status, default_field = "bonus_not_offered", 409, "action"


class MissingReference(LoyaltyError):
    code, status, default_field = "missing_reference", 422, "reference"


class ReferenceReused(LoyaltyError):
    """The occasion (a review) was already rewarded to another member."""

    code, status, default_field = "reference_reused", 409, "reference"


class RateLimited(LoyaltyError):
    """The key sent more calls this minute than the till API allows one key (CLIENTELE_TILL_RATE_LIMIT)."""

    code, status, default_field = "rate_limited", 429, "X-API-Key"

    def __init__(self, limit: int):
        super().__init__(f"more than {limit} calls this minute with this key: wait a moment and send it again")


class ReferralRefused(LoyaltyError):
    """A referral that cannot be: one's own, a member who already shopped or was already referred."""

    code, status, default_field = "referral_refused", 409, "referrer"


class UnknownVoucher(LoyaltyError):
    code, status, default_field = "unknown_voucher", 404, "voucher"


class VoucherCollected(LoyaltyError):
    """The voucher's reward was handed over already, at another till or store: once only."""

    code, status, default_field = "voucher_collected", 409, "voucher"
