"""What an offer, a list or a redemption refuses, each with a stable `code`, an HTTP status and the field.

The offers API maps them to problems in one place (`offers.api`); the CLI prints their message.
"""

from __future__ import annotations

from clientele.errors import RequestRefused


class OfferError(RequestRefused):
    """A request the offers refuse; `field` names the part of the request at fault."""

    code = "offer_error"

    def __init__(self, message: str, field: str | None = None, code: str | None = None):
        super().__init__(message, field)
        if code:
            self.code = code


class InvalidOffer(OfferError):
    """An offer whose rules contradict; `code` says which rule (see `Offer.clean`), `field` where."""

    code, status = "invalid_offer", 422


class DuplicateOffer(OfferError):
    """An offer with the same code exists (perhaps created a moment ago at another desk)."""

    code, status, default_field = "duplicate_offer", 409, "code"


class DuplicateManufacturer(OfferError):
    """A manufacturer account with the same number or name exists; `field` says which."""

    code, status, default_field = "duplicate_manufacturer", 409, "manufacturer_id"


class UnknownProduct(OfferError):
    code, status, default_field = "unknown_product", 422, "product_ids"


class UnknownOffer(OfferError):
    code, status, default_field = "unknown_offer", 404, "code"


class UnknownManufacturer(OfferError):
    code, status, default_field = "unknown_manufacturer", 404, "manufacturer"


class BudgetExhausted(OfferError):
    """The offer's money or count budget cannot cover this redemption (another till took the rest)."""

    code, status, default_field = "offer_budget_exhausted", 409, "offers"


class MemberLimitReached(OfferError):
    code, status, default_field = "offer_member_limit_reached", 409, "offers"


class UnknownList(OfferError):
    code, status, default_field = "unknown_list", 404, "list"


class ExpiredList(OfferError):
    code, status, default_field = "expired_list", 409, "list"


class ListOfAnotherMember(OfferError):
    code, status, default_field = "list_of_another_member", 409, "list"


class UnknownMember(OfferError):
    code, status, default_field = "unknown_member", 404, "member"
