"""A voucher for a complaint is an offer for that member alone: created with the compensation in one
transaction, once per complaint, within the role's limits, applied at the till to that member once,
shown on the complaint and the customer 360."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from desk_builders import complaint_answers, member
from test_goodwill_concurrency import run_together

from clientele.loyalty import ledger
from clientele.members.models import Member
from clientele.offers import services as offers
from clientele.offers.evaluate import Line, apply_offers
from clientele.offers.models import MemberOfferUse, Offer
from clientele.service import errors, services
from clientele.service.models import Compensation


def record() -> int:
    return services.record_complaint(services.ComplaintIn(**complaint_answers()), "sam").pk


def basket_discount(customer_id: int, at=None) -> Decimal:
    """The money off a 40.00 basket of soap the member would get at the till now."""
    at = at or ledger.now_utc()
    who = offers.member_view(Member.objects.get(customer_id=customer_id), on=at.date(), with_list=False)
    lines = [Line(1, 1001, Decimal("2"), Decimal("40.00"), "DRUG GM", "SOAP")]
    return apply_offers(lines, offers.offer_terms(at), who, at).total_discount


def test_a_voucher_is_an_offer_for_that_member_alone_used_once(ada, store, soap, agent):
    member(43)
    complaint = record()
    given, replayed = services.give_voucher(complaint, agent, amount=Decimal("7.50"), valid_days=14, note="sorry")
    offer = given.offer
    assert not replayed and given.kind == "voucher" and given.amount == Decimal("7.50")
    assert (offer.target, offer.benefit, offer.amount, offer.eligibility, offer.per_member_limit, offer.funder) == (
        "basket", "amount_off", Decimal("7.50"), "members", 1, None)
    assert list(offer.audience.values_list("customer_id", flat=True)) == [42]
    assert offer.valid_until - offer.valid_from == timedelta(days=14)
    assert basket_discount(42) == Decimal("7.50")
    assert basket_discount(43) == 0  # another member's basket
    assert basket_discount(42, at=offer.valid_until + timedelta(seconds=1)) == 0  # expired
    MemberOfferUse.objects.create(offer=offer, member=ada, uses=1)  # the till redeemed it
    assert basket_discount(42) == 0
    voucher = services.member_complaints(ada)[0]["compensations"][0]["voucher"]
    assert (voucher["code"], voucher["used"]) == (offer.code, True)


def test_a_percent_voucher_takes_its_share_of_the_basket(ada, store, soap, agent):
    services.give_voucher(record(), agent, percent=Decimal("10"))
    assert basket_discount(42) == Decimal("4.00")


def test_a_replayed_voucher_answers_the_first_and_a_different_one_is_refused(ada, store, soap, agent):
    complaint = record()
    first, _ = services.give_voucher(complaint, agent, amount=Decimal("5"))
    again, replayed = services.give_voucher(complaint, agent, amount="5.00")
    assert (again.pk, replayed) == (first.pk, True)
    with pytest.raises(errors.CompensationAlreadyGiven, match="voucher of 5.00"):
        services.give_voucher(complaint, agent, amount=Decimal("6"))
    assert Offer.objects.count() == 1 and Compensation.objects.count() == 1


def test_concurrent_vouchers_for_one_complaint_make_one_offer(transactional_db, ada, store, soap, agent):
    complaint = services.record_complaint(services.ComplaintIn(**complaint_answers()), "sam")
    results = run_together([lambda: services.give_voucher(complaint.pk, agent, amount=Decimal("5"))] * 4)
    assert sorted(replayed for _, replayed in results) == [False, True, True, True]
    assert Offer.objects.count() == 1 and Compensation.objects.filter(kind="voucher").count() == 1


def test_a_voucher_above_the_agents_limit_needs_a_supervisor(ada, store, soap, agent, supervisor):
    complaint = record()
    # migration service 0004: an agent gives up to 10.00 or 10%, a supervisor 50.00 or 25%
    with pytest.raises(errors.GoodwillAboveLimit, match="limit of 10.00: a supervisor must approve"):
        services.give_voucher(complaint, agent, amount=Decimal("20"))
    with pytest.raises(errors.GoodwillAboveLimit, match="limit of 10"):
        services.give_voucher(complaint, agent, percent=Decimal("15"))
    with pytest.raises(errors.GoodwillAboveLimit, match="approver"):
        services.give_voucher(complaint, agent, percent=Decimal("30"), approver=supervisor)
    assert not Offer.objects.exists() and not Compensation.objects.exists()
    given, _ = services.give_voucher(complaint, agent, amount=Decimal("20"), approver=supervisor)
    assert (given.given_by, given.approved_by, given.offer.amount) == ("sam", "sue", Decimal("20.00"))


@pytest.mark.parametrize("terms, field", [
    ({}, "amount"),
    ({"amount": Decimal("5"), "percent": Decimal("5")}, "percent"),
    ({"amount": Decimal("0")}, "amount"),
    ({"amount": "1.234"}, "amount"),
    ({"amount": "five"}, "amount"),
    ({"percent": Decimal("101")}, "percent"),
    ({"amount": Decimal("5"), "valid_days": 0}, "valid_days"),
])
def test_a_bad_voucher_is_refused_naming_its_field_and_nothing_written(ada, store, soap, agent, terms, field):
    complaint = record()
    with pytest.raises(errors.ServiceError) as refused:
        services.give_voucher(complaint, agent, **terms)
    assert refused.value.field == field
    assert not Offer.objects.exists() and not Compensation.objects.exists()


def test_the_offer_and_the_compensation_are_written_together_or_not_at_all(ada, store, soap, agent):
    complaint = record()
    # a taken offer code: the offers app refuses the offer, so no compensation is kept either
    offers.save_offer(Offer(code=f"complaint-{complaint}-voucher", name="taken", target="basket",
                            benefit="amount_off", amount=Decimal("1"), valid_from=ledger.now_utc(),
                            valid_until=ledger.now_utc() + timedelta(days=1)))
    with pytest.raises(errors.InvalidComplaint, match="offer was refused"):
        services.give_voucher(complaint, agent, amount=Decimal("5"))
    assert not Compensation.objects.exists() and Offer.objects.count() == 1


def test_the_voucher_api_gives_once_and_refuses_above_the_limit(client, ada, store, soap, agent):
    client.force_login(agent)
    complaint = record()
    url = f"/api/service/complaints/{complaint}/voucher"
    given = client.post(url, {"amount": "5.00", "valid_days": 30}, content_type="application/json")
    assert given.status_code == 200, given.content
    body = given.json()
    assert (body["kind"], body["amount"], body["offer_code"], body["replayed"]) == (
        "voucher", "5.00", f"complaint-{complaint}-voucher", False)
    assert client.post(url, {"amount": "5.00"}, content_type="application/json").json()["replayed"] is True
    above = client.post(f"/api/service/complaints/{record()}/voucher", {"percent": "50"},
                        content_type="application/json")
    assert (above.status_code, above.json()["code"]) == (403, "goodwill_above_limit")
    shown = client.get("/api/service/members/42/complaints").json()
    assert [c["voucher"]["code"] for row in shown for c in row["compensations"] if c["voucher"]] == [
        f"complaint-{complaint}-voucher"]
