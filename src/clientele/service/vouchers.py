"""Vouchers given for a complaint: an offer in the offers app for that member alone (eligibility the
one member, an amount or a percent off the basket, valid for some days, funded by the retailer,
used once), created in the same transaction as the complaint's compensation. Decision 0054.

The till needs nothing new: the offer is evaluated and redeemed like any other, and its per-member
limit and count budget of 1 are kept by the offers' own constraints.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from clientele.offers import services as offers
from clientele.offers.errors import OfferError
from clientele.offers.models import Offer
from clientele.service import errors
from clientele.service.complaints import _locked, now_utc
from clientele.service.models import Compensation, GoodwillLimit

#: how long a voucher stays valid unless the agent says otherwise, and the longest allowed
DEFAULT_VALID_DAYS, MAX_VALID_DAYS = 30, 365
#: vouchers apply after the other offers, on what is left of the basket
VOUCHER_PRECEDENCE = 900


def voucher_code(complaint_id: int) -> str:
    """The voucher offer's code (printed on the receipt): one per complaint."""
    return f"complaint-{complaint_id}-voucher"


def voucher_limits(user) -> tuple[Decimal, Decimal]:
    """The largest voucher amount and percent off `user` may give without approval: the highest of
    their roles' limits (0 when none of their groups has one)."""
    limits = GoodwillLimit.objects.filter(role__in=user.groups.values_list("name", flat=True))
    amounts = limits.values_list("max_voucher_amount", flat=True)
    percents = limits.values_list("max_voucher_percent", flat=True)
    return max(amounts, default=Decimal("0")), max(percents, default=Decimal("0"))


def _terms(amount, percent, valid_days: int) -> tuple[Decimal | None, Decimal | None]:
    """The voucher's amount or percent as decimals, refused with the field at fault."""
    if (amount is None) == (percent is None):
        raise errors.InvalidComplaint("a voucher gives either an amount or a percent off the basket, not both",
                                      field="amount" if amount is None else "percent")
    field = "amount" if amount is not None else "percent"
    try:
        value = Decimal(str(amount if amount is not None else percent))
    except InvalidOperation:
        raise errors.InvalidComplaint(f"a voucher's {field} is a number", field=field) from None
    amount, percent = (value, None) if field == "amount" else (None, value)
    if amount is not None and not (amount > 0 and amount == amount.quantize(Decimal("0.01"))):
        raise errors.InvalidComplaint(f"a voucher's amount is above 0 in cents, not {amount}", field="amount")
    if percent is not None and not (0 < percent <= 100 and percent == percent.quantize(Decimal("0.01"))):
        raise errors.InvalidComplaint(f"a voucher's percent lies above 0 and at most 100, not {percent}",
                                      field="percent")
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise errors.InvalidComplaint(f"a voucher is valid 1 to {MAX_VALID_DAYS} days, not {valid_days}",
                                      field="valid_days")
    return amount, percent


def _check_limit(amount, percent, giver, approver) -> None:
    field = "amount" if amount is not None else "percent"
    value = amount if amount is not None else percent
    shown = f"{value}" if amount is not None else f"{value}%"

    def limit_of(user) -> Decimal:
        return voucher_limits(user)[0 if amount is not None else 1]

    if value <= limit_of(giver):
        return
    if approver is None or approver.pk == giver.pk:
        raise errors.GoodwillAboveLimit(f"a voucher of {shown} is above {giver.get_username()}'s limit of "
                                        f"{limit_of(giver)}: a supervisor must approve", field=field)
    if value > limit_of(approver):
        raise errors.GoodwillAboveLimit(f"a voucher of {shown} is above the approver {approver.get_username()}'s "
                                        f"limit of {limit_of(approver)}", field="approved_by")


def give_voucher(complaint_id: int, giver, *, amount=None, percent=None, valid_days: int = DEFAULT_VALID_DAYS,
                 approver=None, note: str = "") -> tuple[Compensation, bool]:
    """Give the complaint's member a voucher: an offer of `amount` (currency) or `percent` off their
    basket, valid `valid_days` from now, for them alone, once, funded by the retailer; recorded with
    the complaint's compensation in one transaction. Above the giver's role limit a supervisor
    (`approver`) must approve. The same voucher sent again answers the first (replayed True); a
    different one after a voucher is refused. Returns the compensation and whether it was a replay."""
    amount, percent = _terms(amount, percent, valid_days)
    _check_limit(amount, percent, giver, approver)
    try:
        with transaction.atomic():
            complaint = _locked(complaint_id)
            given = Compensation.objects.filter(complaint=complaint, kind=Compensation.Kind.VOUCHER).first()
            if given is not None:
                return _replay(given, amount, percent)
            now = now_utc()
            offer = Offer(
                code=voucher_code(complaint_id), name=f"Voucher for complaint {complaint_id}",
                target=Offer.Target.BASKET,
                benefit=Offer.Benefit.AMOUNT_OFF if amount is not None else Offer.Benefit.PERCENT_OFF,
                amount=amount, percent=percent, valid_from=now, valid_until=now + timedelta(days=valid_days),
                eligibility=Offer.Eligibility.MEMBERS, per_member_limit=1, budget_count=1, stackable=True,
                precedence=VOUCHER_PRECEDENCE)
            try:
                offers.save_offer(offer, audience=[complaint.member.customer_id], changed_by=giver)
            except OfferError as refused:
                raise errors.InvalidComplaint(f"the voucher's offer was refused: {refused.message}",
                                              field="amount" if amount is not None else "percent") from None
            return Compensation.objects.create(
                complaint=complaint, kind=Compensation.Kind.VOUCHER, amount=amount, percent=percent, offer=offer,
                note=note, given_by=giver.get_username(), approved_by=approver.get_username() if approver else "",
                given_at=now), False
    except IntegrityError:  # a concurrent voucher of the same complaint committed first
        given = Compensation.objects.filter(complaint_id=complaint_id, kind=Compensation.Kind.VOUCHER).first()
        if given is None:
            raise
        return _replay(given, amount, percent)


def _replay(given: Compensation, amount, percent) -> tuple[Compensation, bool]:
    if (given.amount, given.percent) != (amount, percent):
        value = f"{given.amount}" if given.amount is not None else f"{given.percent}%"
        raise errors.CompensationAlreadyGiven(
            f"complaint {given.complaint_id} was already compensated with a voucher of {value}",
            field="amount" if amount is not None else "percent")
    return given, True

