"""Offers as data: refused when their rules contradict, versioned at each change, budgets that the
database never lets go below zero even with many tills at once, redemptions recorded once."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from offer_builders import CEREAL_NATIONAL, NOW, SOAP, make_offer
from django.db import IntegrityError, connections, transaction
from django.db.models import F

from clientele.loyalty.models import Basket
from clientele.offers import services, statements
from clientele.offers.errors import BudgetExhausted, InvalidOffer, MemberLimitReached, UnknownProduct
from clientele.offers.evaluate import Line, apply_offers
from clientele.offers.models import Offer, OfferBudget, OfferBudgetSlice, OfferRedemption

D = Decimal


def basket(receipt: str, member=None, at=NOW) -> Basket:
    return Basket.objects.create(store_id=1, till_id="T1", receipt_number=receipt, transacted_at=at, member=member,
                                 total=D("10"), request_hash="x", result={}, actor="test")


LINES = [Line(1, CEREAL_NATIONAL, D("2"), D("8.00"), "GROCERY", "COLD CEREAL", 69, "National"),
         Line(2, SOAP, D("1"), D("1.50"), "DRUG GM", "SOAP", 69, "National")]


@pytest.mark.parametrize("fields, code, field", [
    ({"benefit": "percent_off", "amount": None, "percent": D("120")}, "percent_out_of_range", "percent"),
    ({"valid_until": NOW - timedelta(days=2)}, "ends_before_start", "valid_until"),
    ({"benefit": "percent_off", "amount": None}, "benefit_incomplete", "percent"),
    ({"target": "category", "manufacturer_id": None}, "target_incomplete", "category"),
    ({"eligibility": "segment", "segment": "colour=red"}, "invalid_segment", "segment"),
])
def test_an_offer_whose_rules_contradict_is_refused_with_its_code(catalogue, fields, code, field):
    with pytest.raises(InvalidOffer) as refused:
        make_offer(**fields)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Offer.objects.exists()


def test_an_offer_on_a_product_that_does_not_exist_is_refused(catalogue):
    with pytest.raises(UnknownProduct, match="9999"):
        make_offer(target="products", manufacturer_id=None, brand_type="", product_ids=[CEREAL_NATIONAL, 9999])
    assert not Offer.objects.exists()


def test_every_change_is_a_new_version_kept_with_the_products_of_its_time(catalogue):
    offer = make_offer(target="products", manufacturer_id=None, brand_type="", product_ids=[CEREAL_NATIONAL])
    services.save_offer(offer, product_ids=[CEREAL_NATIONAL])  # unchanged: no new version
    offer.amount = D("0.75")
    services.save_offer(offer, product_ids=[CEREAL_NATIONAL, SOAP])
    assert offer.version == 2
    versions = list(offer.history.order_by("history_id"))
    assert [(v.version, v.amount) for v in versions] == [(1, D("0.50")), (2, D("0.75"))]
    assert sorted(versions[-1].products.values_list("product_id", flat=True)) == [CEREAL_NATIONAL, SOAP]


def test_a_budget_below_what_was_already_given_is_refused(catalogue):
    offer = make_offer(budget_money=D("100"), budget_count=10)
    services.consume_budget(offer.pk, D("30"), 4)
    offer.budget_money = D("20")
    with pytest.raises(InvalidOffer) as refused:
        services.save_offer(offer)
    assert (refused.value.code, refused.value.field) == ("budget_below_given", "budget_money")
    assert OfferBudget.objects.get(pk=offer.pk).budget_money == D("100")


def test_the_database_refuses_a_budget_overspent_by_any_path(catalogue):
    offer = make_offer(budget_money=D("5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        OfferBudgetSlice.objects.filter(budget_id=offer.pk).update(money_left=F("money_left") - D("5.01"),
                                                                   given_money=F("given_money") + D("5.01"))


def test_concurrent_tills_drain_one_budget_and_never_overspend_it(catalogue, transactional_db):
    offer = make_offer(budget_money=D("10.00"), budget_count=50)
    start, outcomes = threading.Barrier(8), []

    def till() -> None:
        try:
            start.wait()
            for _ in range(5):
                try:
                    services.consume_budget(offer.pk, D("0.75"))
                    outcomes.append("taken")
                except BudgetExhausted:
                    outcomes.append("refused")
        except Exception as error:  # a deadlock or any other failure fails the test
            outcomes.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=till) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    budget = OfferBudget.objects.get(pk=offer.pk)
    assert sorted(set(outcomes)) == ["refused", "taken"]
    assert outcomes.count("taken") == 13  # 13 x 0.75 = 9.75; a 14th would be 10.50
    assert (budget.given_money, budget.given_count) == (D("9.75"), 13)


def test_a_large_budget_is_sliced_and_concurrent_tills_drain_it_to_the_cent_never_beyond(catalogue, transactional_db):
    """3,200.00 in 16 slices of 200.00: 75.00 fits two times in each slice, then no slice alone has
    enough and the takings spread over the slices, until 42 x 75.00 = 3,150.00; a 43rd is refused."""
    offer = make_offer(budget_money=D("3200.00"))
    assert OfferBudgetSlice.objects.filter(budget_id=offer.pk).count() == 16
    start, outcomes = threading.Barrier(8), []

    def till(number: int) -> None:
        try:
            start.wait()
            for attempt in range(6):
                try:
                    services.consume_budget(offer.pk, D("75.00"), prefer=number * 6 + attempt)
                    outcomes.append("taken")
                except BudgetExhausted:
                    outcomes.append("refused")
        except Exception as error:  # a deadlock or any other failure fails the test
            outcomes.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=till, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    budget = OfferBudget.objects.get(pk=offer.pk)
    assert sorted(set(outcomes)) == ["refused", "taken"] and outcomes.count("taken") == 42
    left = [part.money_left for part in budget.parts.all()]
    assert (budget.given_money, budget.given_count, sum(left)) == (D("3150.00"), 42, D("50.00"))
    assert min(left) >= 0


def test_a_budget_raised_or_lowered_is_split_again_keeping_what_was_given(catalogue):
    offer = make_offer(budget_money=D("1000"), budget_count=2000)
    services.consume_budget(offer.pk, D("30"), 4, prefer=3)
    offer.budget_money = D("1600")
    services.save_offer(offer)
    budget = OfferBudget.objects.prefetch_related("parts").get(pk=offer.pk)
    left = sum(part.money_left for part in budget.parts.all())
    assert (budget.slices, budget.given_money, budget.given_count, left) == (16, D("30"), 4, D("1570"))
    assert sum(part.count_left for part in budget.parts.all()) == 1996


def test_redemptions_are_recorded_once_and_reversed_once_giving_the_budget_back(catalogue, ada, kellogg):
    offer = make_offer(funder=kellogg, budget_money=D("50"), per_member_limit=3)
    result = apply_offers(LINES, services.offer_terms(NOW), services.member_view(ada), NOW)
    first = basket("R1", ada)
    recorded = services.record_redemptions(first, result, ada)
    assert services.record_redemptions(first, result, ada) == recorded  # the till's replay
    assert [(r.offer_id, r.discount, r.funder_id) for r in recorded] == [(offer.pk, D("1.50"), kellogg.pk)]
    assert OfferBudget.objects.get(pk=offer.pk).given_money == D("1.50")
    assert services.member_view(ada).uses == {offer.pk: 1}

    services.reverse_redemptions(first, "RET1", NOW + timedelta(hours=1))
    services.reverse_redemptions(first, "RET1", NOW + timedelta(hours=1))  # replayed return
    assert (OfferBudget.objects.get(pk=offer.pk).given_money, OfferBudget.objects.get(pk=offer.pk).given_count) \
        == (D("0"), 0)
    assert services.member_view(ada).uses == {offer.pk: 0}
    assert OfferRedemption.objects.filter(kind="reversed").count() == 1


def test_the_database_refuses_an_offer_redeemed_or_given_back_twice_on_one_basket_by_any_path(catalogue, ada):
    offer = make_offer()
    first = basket("R1", ada)
    common = {"offer": offer, "offer_version": 1, "member": ada, "basket": first, "redeemed_at": NOW}
    redeemed = common | {"redemption_key": f"basket:{first.pk}:{offer.pk}", "discount": D("1.00")}
    given_back = common | {"redemption_key": f"return:RET1:{offer.pk}", "kind": "reversed", "discount": D("-1.00"),
                           "uses": -1}
    for row in (redeemed, given_back):
        OfferRedemption.objects.create(**row)
        with pytest.raises(IntegrityError), transaction.atomic():
            OfferRedemption.objects.create(**row)  # written again, past the services' own checks
    assert OfferRedemption.objects.filter(basket=first).count() == 2


def test_the_members_limit_is_kept_by_the_database(catalogue, ada):
    make_offer(per_member_limit=1)
    result = apply_offers(LINES, services.offer_terms(NOW), services.member_view(ada), NOW)
    services.record_redemptions(basket("R1", ada), result, ada)
    with pytest.raises(MemberLimitReached):  # a second till evaluated before the first recorded
        services.record_redemptions(basket("R2", ada), result, ada)
    assert OfferRedemption.objects.count() == 1


def test_a_manufacturers_statement_reconciles_with_what_the_tills_gave_to_the_cent(catalogue, ada, kellogg):
    make_offer(funder=kellogg)
    make_offer("soap-third", target="category", category="SOAP", manufacturer_id=None, benefit="percent_off",
               amount=None, percent=D("33.33"), funder=kellogg, stackable=True, precedence=50)
    make_offer("store-funded", target="basket", manufacturer_id=None, brand_type="", percent=D("5"),
               benefit="percent_off", amount=None, stackable=True, precedence=200)
    given = D("0")
    for receipt in range(7):
        result = apply_offers(LINES, services.offer_terms(NOW), services.member_view(ada), NOW)
        services.record_redemptions(basket(f"R{receipt}", ada), result, ada)
        given += sum((a.discount for a in result.applied if a.funder_id == kellogg.pk), D("0"))
    services.reverse_redemptions(Basket.objects.get(receipt_number="R0"), "RET", NOW + timedelta(minutes=5))
    given -= sum(OfferRedemption.objects.filter(basket__receipt_number="R0", kind="redeemed", funder=kellogg)
                 .values_list("discount", flat=True), D("0"))
    statement = statements.statement(69, NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert statement.discount == given
    assert {line.offer: (line.redemptions, line.reversals) for line in statement.lines} == {
        "cereal-50c": (7, 1), "soap-third": (7, 1)}
    assert statement.redemptions == 12
    assert statement.discount == 6 * (D("1.00") + D("0.50"))  # cereal 2 x 0.50, soap 33.33% of 1.50
