"""The offer evaluation as a specification: pure Python, no database (the till calls it later)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from clientele.offers import segments
from clientele.offers.evaluate import Line, MemberView, OfferTerms, apply_offers

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
D = Decimal


def terms(code: str, **fields) -> OfferTerms:
    values = {"offer_id": abs(hash(code)) % 10**6, "code": code, "version": 1, "target": "basket",
              "benefit": "percent_off", "valid_from": NOW - timedelta(days=1), "valid_until": NOW + timedelta(days=1)}
    return OfferTerms(**(values | fields))


CEREAL = Line(1, 2001, D("2"), D("8.00"), "GROCERY", "COLD CEREAL", 69, "National")
MILK = Line(2, 2003, D("1"), D("3.00"), "GROCERY", "FLUID MILK", 1, "Private")
SOAP = Line(3, 2004, D("3"), D("4.50"), "DRUG GM", "SOAP", 69, "National")
BASKET = [CEREAL, MILK, SOAP]
ADA = MemberView(customer_id=42, profile={"pyramid_level": "VIP", "lifecycle_stage": "decline", "at_risk": True})


def discounts(result) -> dict[int, Decimal]:
    return {line.line_no: line.discount for line in result.lines}


def test_amount_off_a_brand_gives_it_on_each_unit_of_that_brand_only():
    offer = terms("cereal", target="brand", manufacturer_id=69, brand_type="National", benefit="amount_off",
                  amount=D("0.50"))
    result = apply_offers(BASKET, [offer], ADA, NOW)
    assert discounts(result) == {1: D("1.00"), 2: D("0"), 3: D("1.50")}
    assert [a.code for a in result.applied] == ["cereal"] and result.applied[0].discount == D("2.50")


def test_percent_off_a_category_rounds_to_the_cent():
    result = apply_offers(BASKET, [terms("soap", target="category", category="SOAP", percent=D("33"))], ADA, NOW)
    assert discounts(result)[3] == D("1.49")  # 4.50 x 33% = 1.485


def test_fixed_price_makes_each_unit_cost_the_price():
    offer = terms("milk", target="products", product_ids=frozenset({2003}), benefit="fixed_price", amount=D("1.99"))
    assert discounts(apply_offers(BASKET, [offer], ADA, NOW))[2] == D("1.01")


def test_buy_two_get_one_gives_the_cheapest_unit_free():
    offer = terms("3for2", target="brand", manufacturer_id=69, benefit="buy_x_get_y", buy_quantity=2, get_quantity=1)
    result = apply_offers(BASKET, [offer], ADA, NOW)
    # five units (2 cereal at 4.00, 3 soap at 1.50): one free, the cheapest: a soap
    assert discounts(result) == {1: D("0"), 2: D("0"), 3: D("1.50")}


def test_a_basket_amount_needs_its_spend_and_is_shared_over_the_lines_to_the_cent():
    result = apply_offers(BASKET, [terms("2off15", benefit="amount_off", amount=D("2.00"), min_spend=D("15.00"))],
                          ADA, NOW)
    assert discounts(result) == {1: D("1.03"), 2: D("0.39"), 3: D("0.58")}
    assert result.total_discount == D("2.00")
    too_small = terms("2off20", benefit="amount_off", amount=D("2.00"), min_spend=D("20.00"))
    assert apply_offers(BASKET, [too_small], ADA, NOW).applied == ()


def test_points_offers_give_points_not_money():
    bonus = terms("bonus", target="category", category="SOAP", benefit="bonus_points", bonus_points=100)
    double = terms("double", target="department", department="GROCERY", benefit="points_multiplier",
                   multiplier=D("2"))
    result = apply_offers(BASKET, [bonus, double], ADA, NOW)
    assert result.total_discount == 0
    assert {a.code: a.bonus_points for a in result.applied} == {"bonus": 100, "double": 0}
    assert [line.points_multiplier for line in result.lines] == [D("2"), D("2"), D("1")]


def test_a_non_stackable_offer_keeps_its_lines_and_stackable_ones_add_to_what_is_left():
    first = terms("first", target="category", category="COLD CEREAL", benefit="amount_off", amount=D("1.00"),
                  precedence=1)
    second = terms("second", target="category", category="COLD CEREAL", percent=D("50"), precedence=2)
    assert discounts(apply_offers([CEREAL], [first, second], ADA, NOW))[1] == D("2.00")
    stacking = terms("second", target="category", category="COLD CEREAL", percent=D("50"), precedence=2,
                     stackable=True)
    first_stacking = terms("first", target="category", category="COLD CEREAL", benefit="amount_off",
                           amount=D("1.00"), precedence=1, stackable=True)
    # 8.00 - 2.00 = 6.00, then half of it
    assert discounts(apply_offers([CEREAL], [first_stacking, stacking], ADA, NOW))[1] == D("5.00")


def test_a_discount_never_exceeds_the_line_nor_the_money_budget_left():
    huge = terms("huge", target="products", product_ids=frozenset({2003}), benefit="amount_off", amount=D("10"))
    assert discounts(apply_offers(BASKET, [huge], ADA, NOW))[2] == D("3.00")
    capped = terms("capped", target="brand", manufacturer_id=69, benefit="amount_off", amount=D("0.50"),
                   money_left=D("1.20"))
    assert apply_offers(BASKET, [capped], ADA, NOW).total_discount == D("1.20")
    spent = terms("spent", benefit="amount_off", amount=D("1"), count_left=0)
    assert apply_offers(BASKET, [spent], ADA, NOW).applied == ()


def test_eligibility_validity_and_the_members_limit():
    segment = terms("vip", percent=D("10"), eligibility="segment", segment=segments.parse("pyramid=VIP|major"))
    others = terms("others", percent=D("10"), eligibility="members", audience=frozenset({7}))
    personal = terms("personal", percent=D("10"), eligibility="personal")
    expired = terms("expired", percent=D("10"), valid_until=NOW)
    used = terms("used", percent=D("10"), per_member_limit=1)
    result = apply_offers(BASKET, [segment, others, personal, expired, used],
                          MemberView(42, ADA.profile, uses={used.offer_id: 1}), NOW)
    assert [a.code for a in result.applied] == ["vip"]
    assert apply_offers(BASKET, [segment], MemberView(), NOW).applied == ()  # anonymous basket


def test_a_listed_offer_applies_sized_by_the_members_value():
    personal = terms("switch", target="category", category="COLD CEREAL", benefit="amount_off", amount=D("0.40"),
                     eligibility="personal")
    member = MemberView(42, ADA.profile, list_factors={personal.offer_id: D("3")})
    result = apply_offers(BASKET, [personal], member, NOW)
    assert discounts(result)[1] == D("2.40") and result.applied[0].from_list


def test_the_same_listed_offer_is_sized_by_each_members_own_factor_basket_after_basket():
    personal = terms("switch", target="category", category="COLD CEREAL", benefit="amount_off", amount=D("0.40"),
                     eligibility="personal")
    given = [discounts(apply_offers(BASKET, [personal], MemberView(42 + n, list_factors={personal.offer_id: factor}),
                                    NOW))[1]
             for n, factor in enumerate([D("3"), D("1.5"), D("3"), D("1"), D("1.5")])]
    assert given == [D("2.40"), D("1.20"), D("2.40"), D("0.80"), D("1.20")]


def test_returned_lines_get_nothing():
    returned = Line(4, 2001, D("-1"), D("-4.00"), "GROCERY", "COLD CEREAL", 69, "National")
    result = apply_offers([returned], [terms("all", percent=D("10"))], ADA, NOW)
    assert result.applied == () and discounts(result) == {4: D("0")}


def test_segment_expressions_refuse_what_they_cannot_read():
    for wrong, says in [("", "needs"), ("pyramid", "KIND=VALUE"), ("colour=red", "unknown segment kind"),
                        ("pyramid=VIP|", "empty")]:
        try:
            segments.parse(wrong)
        except ValueError as error:
            assert says in str(error)
        else:
            raise AssertionError(f"{wrong!r} accepted")
