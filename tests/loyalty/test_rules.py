"""Earning rules are data: validated when saved, evaluated in a documented order, explained rule by rule."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from till_payloads import BREAD, MILK, SHAMPOO, basket, post

from clientele.loyalty.bonuses import award_bonus
from clientele.loyalty.models import EarningRule, LoyaltyAccount, PointsEntry, Referral, Tier
from clientele.loyalty.rules import EarningContext, LineToEarn, active_rules, earn_on_basket, rule_versions_behind

SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=ZoneInfo("America/Chicago"))


def lines(products) -> list[LineToEarn]:
    return [LineToEarn(1, products[BREAD], Decimal("10.00")), LineToEarn(2, products[MILK], Decimal("5.00")),
            LineToEarn(3, products[SHAMPOO], Decimal("4.99"))]


def earn(products, tier=None, earned_today=0, when=SATURDAY_NOON, store_id=1):
    return earn_on_basket(lines(products), EarningContext(store_id, when, tier, earned_today), active_rules(when.date()))


@pytest.mark.parametrize(("fields", "bad_field"), [
    ({"kind": "base"}, "points_per_unit"),
    ({"kind": "base", "points_per_unit": "1", "multiplier": "2"}, "multiplier"),
    ({"kind": "multiplier", "multiplier": "0"}, "multiplier"),
    ({"kind": "action_bonus", "bonus_points": 10}, "action"),
    ({"kind": "basket_cap", "max_points": 10, "category": "MILK"}, "kind"),
    ({"kind": "multiplier", "multiplier": "2", "days_of_week": "7"}, "days_of_week"),
    ({"kind": "multiplier", "multiplier": "2", "time_from": time(9)}, "time_until"),
])
def test_given_an_inconsistent_rule_when_saved_then_it_is_refused_naming_the_field(db, fields, bad_field):
    with pytest.raises(ValidationError) as refused:
        EarningRule.objects.create(name="bad", **fields)

    assert bad_field in refused.value.message_dict


def test_given_base_department_and_store_brand_rules_then_multipliers_add_up_and_each_is_explained(products, base_rule):
    EarningRule.objects.create(name="Grocery x2", kind="multiplier", multiplier="2", department="GROCERY")
    EarningRule.objects.create(name="Store brand x3", kind="multiplier", multiplier="3", brand_type="Private")

    earning = earn(products)

    assert [(e["rule"], e["points"]) for e in earning.explanation] == [
        ("1 point per dollar", 19), ("Grocery x2", 15), ("Store brand x3", 10)]
    assert earning.total == 44  # milk: 5 base + 5 grocery + 10 store brand = x4, not x6
    assert sum(earning.line_points.values()) == 44


def test_given_a_weekend_evening_rule_then_it_applies_on_saturday_evening_not_at_noon(products, base_rule):
    EarningRule.objects.create(name="Weekend evenings x5", kind="multiplier", multiplier="5", days_of_week="56",
                               time_from=time(18), time_until=time(22))

    assert earn(products).total == 19
    assert earn(products, when=SATURDAY_NOON.replace(hour=19)).total == 19 + 79  # 19.99 x 4 extra, rounded down


def test_given_a_store_own_base_rule_then_it_wins_over_the_chain_rule_only_there(products, base_rule, store, other_store):
    EarningRule.objects.create(name="Riverside 2 per dollar", kind="base", points_per_unit="2", store=other_store)

    assert earn(products, store_id=1).total == 19
    assert earn(products, store_id=2).total == 39


def test_given_a_gold_member_then_the_tier_multiplier_is_explained(products, base_rule):
    gold = Tier.objects.create(name="Gold", rank=2, earning_multiplier=Decimal("1.5"))

    earning = earn(products, tier=gold)

    assert earning.explanation[-1] == {"rule_id": None, "version": None, "rule": "tier Gold x1.5", "points": 9}
    assert earning.total == 28


def test_given_basket_and_daily_caps_then_the_lowest_room_wins_and_the_cut_is_explained(products, base_rule):
    EarningRule.objects.create(name="Max 15 a basket", kind="basket_cap", max_points=15)
    EarningRule.objects.create(name="Max 20 a day", kind="daily_cap", max_points=20)

    assert earn(products).total == 15
    capped = earn(products, earned_today=12)
    assert capped.total == 8
    assert [e["points"] for e in capped.explanation] == [19, -4, -7]


def test_given_a_birthday_month_rule_when_the_member_shops_twice_that_month_then_one_bonus(
        till, programme_ready, card):
    programme_ready.birth_date = datetime.now().date().replace(year=1990, day=1)
    programme_ready.save()
    EarningRule.objects.create(name="Birthday 100", kind="action_bonus", action="birthday_month", bonus_points=100)

    first = post(till, "/baskets", basket(card=card)).json()
    second = post(till, "/baskets", basket(receipt="1002", card=card)).json()

    assert [b["points"] for b in first["bonuses"]] == [100] and second["bonuses"] == []
    assert second["balance"] == {"available": 100, "pending": 16}


def test_given_a_referral_when_the_new_member_shops_for_the_first_time_then_the_referrer_is_rewarded_once(
        till, programme_ready, card):
    EarningRule.objects.create(name="Referral 50", kind="action_bonus", action="referral", bonus_points=50)
    friend = post(till, "/members", {"store_id": 1, "first_name": "Grace", "referrer_member_number": 42}).json()

    post(till, "/baskets", basket(card=friend["card"]))
    post(till, "/baskets", basket(receipt="1002", card=friend["card"]))

    assert Referral.objects.get().referred.customer_id == friend["member_number"]
    referrer = LoyaltyAccount.objects.get(member=programme_ready)
    assert list(referrer.entries.values_list("kind", "amount")) == [("bonus_awarded", 50)]


def test_given_a_completed_profile_when_rewarded_twice_then_the_bonus_is_credited_once(programme_ready):
    EarningRule.objects.create(name="Profile 25", kind="action_bonus", action="profile_completed", bonus_points=25)

    assert award_bonus(programme_ready, "profile_completed", "", actor="user:marketing")["points"] == 25
    assert award_bonus(programme_ready, "profile_completed", "", actor="user:marketing") is None
    assert PointsEntry.objects.get().actor == "user:marketing"


def test_given_a_rule_changed_twice_then_each_saved_change_is_a_version_kept_in_its_history(db):
    rule = EarningRule.objects.create(name="Store brand x2", kind="multiplier", multiplier="2", brand_type="Private")
    rule.multiplier = Decimal("3")
    rule.save()
    rule.save()  # saved again without a change: no new version
    rule.active = False
    rule.save()

    assert rule.version == 3
    history = rule.history.order_by("history_date", "history_id")
    assert [(v.version, v.history_type, v.multiplier, v.active) for v in history] == [
        (1, "+", Decimal("2.00"), True), (2, "~", Decimal("3.00"), True), (3, "~", Decimal("3.00"), False)]
    assert history.last().diff_against(history[1]).changed_fields == ["active"]


def test_given_a_credit_when_its_rule_changes_afterwards_then_the_credit_still_shows_the_version_that_gave_it(
        till, programme_ready, card, base_rule):
    post(till, "/baskets", basket(card=card))
    base_rule.points_per_unit = Decimal("2")
    base_rule.save()
    post(till, "/baskets", basket(receipt="1002", card=card))

    first, second = (PointsEntry.objects.get(source=f"basket 1/T1/{receipt}") for receipt in ("1001", "1002"))
    first_line, = rule_versions_behind(first.explanation)
    second_line, = rule_versions_behind(second.explanation)

    assert (first.amount, first_line["version"], first_line["terms"]["points_per_unit"]) == (8, 1, "1.000")
    assert (second.amount, second_line["version"], second_line["terms"]["points_per_unit"]) == (16, 2, "2.000")
    assert first_line["rule_id"] == second_line["rule_id"] == base_rule.pk


def test_given_a_deleted_rule_then_the_credits_it_gave_stay_explained(till, programme_ready, card):
    promotion = EarningRule.objects.create(name="Store brand x2", kind="multiplier", multiplier="2",
                                           brand_type="Private")
    post(till, "/baskets", basket(card=card))
    promotion.delete()

    base, multiplier = rule_versions_behind(PointsEntry.objects.get().explanation)

    assert (multiplier["rule"], multiplier["version"], multiplier["points"]) == ("Store brand x2", 1, 3)
    assert multiplier["terms"]["multiplier"] == "2.00" and multiplier["terms"]["brand_type"] == "Private"


def test_given_a_new_programme_then_its_first_answer_is_the_stored_one(db):
    from clientele.loyalty.models import Programme

    first = Programme.current()

    assert str(first.point_value) == str(Programme.current().point_value) == "0.0100"
