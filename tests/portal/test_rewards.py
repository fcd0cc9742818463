"""A member redeems a reward from the portal (decision 0110): the points leave the ledger the till
spends from, once per redemption id (a double click, a replay), in one transaction with the reward's
stock and a voucher to collect it; refused, naming what is missing, when the points fall short."""

from __future__ import annotations

import portal_builders as build
import pytest
from django.test import Client

from clientele.loyalty import ledger
from clientele.loyalty.models import LoyaltyAccount, PointsEntry, Redemption, Reward

JSON = "application/json"


def redeem(client: Client, reward_code: str, redemption_id: str = "r1"):
    return client.post("/api/portal/rewards/redeem", {"reward_code": reward_code, "redemption_id": redemption_id},
                       content_type=JSON)


def ada_balance() -> ledger.Balance:
    return ledger.balance(LoyaltyAccount.objects.get(member__customer_id=build.ADA).pk)


def test_a_member_redeems_a_reward_their_points_cover_and_gets_its_voucher_on_the_account(ada_api):
    redeemed = redeem(ada_api, "BAG")
    account = ada_api.get("/api/portal/account").json()

    assert redeemed.status_code == 200, redeemed.json()
    body = redeemed.json()
    assert (body["reward"], body["points_spent"], body["balance"]["available"]) == ("Reusable shopping bag", 300, 60)
    assert len(body["voucher"]) == 10 and not set(body["voucher"]) & set("01OIL")
    spent = PointsEntry.objects.get(kind="points_redeemed")
    assert (spent.amount, spent.idempotency_key, spent.account.member.customer_id) == (-300, "portal:42:r1", 42)
    assert Reward.objects.get(code="BAG").stock == 999
    assert ada_balance().available == account["available"] == 60
    assert [(v["reward_code"], v["voucher"], v["points"]) for v in account["vouchers"]] == [("BAG", body["voucher"], 300)]
    assert [(r["code"], r["affordable"], r["points_short"]) for r in account["rewards"]][:2] == [
        ("BAG", False, 240), ("VOUCHER-5", False, 440)]


def test_the_same_redemption_sent_again_spends_once_and_answers_the_same_voucher(ada_api):
    first = redeem(ada_api, "BAG", "double-click").json()
    again = redeem(ada_api, "BAG", "double-click").json()
    reused = redeem(ada_api, "VOUCHER-5", "double-click")

    assert again == first | {"replayed": True}
    assert (reused.status_code, reused.json()["code"], reused.json()["field"]) == (409, "request_reused", "redemption_id")
    assert PointsEntry.objects.filter(kind="points_redeemed").count() == Redemption.objects.count() == 1
    assert ada_balance().available == 60


def test_a_reward_the_points_do_not_cover_is_refused_saying_so_and_nothing_is_spent(ada_api):
    before = ada_balance()

    short = redeem(ada_api, "VOUCHER-5")

    assert (short.status_code, short.json()["code"], short.json()["field"]) == (409, "insufficient_points", "reward_code")
    assert "not enough points" in short.json()["message"] and "500 points needed, 360 available" in short.json()["message"]
    assert ada_balance() == before and not Redemption.objects.exists()
    assert Reward.objects.get(code="VOUCHER-5").stock is None
    assert redeem(ada_api, "VOUCHER-5").status_code == 409  # the id refused is not kept: still refused, not replayed


@pytest.mark.parametrize("reward_code, status, code", [("NO-SUCH", 404, "unknown_reward"),
                                                       ("OUT", 409, "reward_unavailable")])
def test_a_reward_that_does_not_exist_or_is_out_of_stock_is_refused_with_its_field(ada_api, reward_code, status, code):
    Reward.objects.create(code="OUT", name="Gone", points_price=10, stock=0)

    answer = redeem(ada_api, reward_code)

    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (status, code, "reward_code")
    assert not PointsEntry.objects.filter(kind="points_redeemed").exists()


@pytest.mark.parametrize("body", [{"reward_code": "BAG\x00", "redemption_id": "r1"},
                                  {"reward_code": "BAG", "redemption_id": "r\x1b1"},
                                  {"reward_code": "", "redemption_id": "r1"}, {"reward_code": "BAG"}])
def test_a_redemption_with_a_control_character_or_a_missing_field_is_refused_naming_it(ada_api, body):
    answer = ada_api.post("/api/portal/rewards/redeem", body, content_type=JSON)

    assert answer.status_code == 422 and answer.json()["field"] in ("reward_code", "redemption_id")
    assert not Redemption.objects.exists()


def test_the_till_and_the_portal_spend_from_one_balance(ada_api, till_key):
    from clientele.barcodes import card_barcode
    from clientele.loyalty.identity import authenticate
    from clientele.loyalty.redemption import RedemptionIn
    from clientele.loyalty.services import redeem as till_redeem

    till_redeem(RedemptionIn(store_id=1, redemption_id="till-1", card=card_barcode(build.ADA), reward_code="BAG"),
                authenticate(till_key))

    assert redeem(ada_api, "BAG").json()["code"] == "insufficient_points"  # 60 left after the till's bag
    assert ada_api.get("/api/portal/account").json()["vouchers"] == []  # the till's bag was handed over there


def test_on_the_account_page_a_double_click_redeems_once_and_shows_the_voucher(members, mailbox):
    page = Client()
    page.post("/portal/sign-in/", {"identifier": "ada@example.org"})
    page.post("/portal/sign-in/code/", {"code": mailbox.last_code("ada@example.org")})
    shown = page.get("/portal/account/").content.decode()
    assert 'data-reward="BAG"' in shown and "Redeem" in shown
    form = {"reward_code": "BAG", "redemption_id": page.get("/portal/account/").context["redemption_id"] + "-BAG"}

    first = page.post("/portal/rewards/redeem/", form, follow=True).content.decode()
    second = page.post("/portal/rewards/redeem/", form, follow=True).content.decode()
    voucher = Redemption.objects.get().voucher_code

    assert f"show voucher {voucher} at the till" in first and f"show voucher {voucher} at the till" in second
    assert 'id="vouchers"' in second and voucher in second
    assert ada_balance().available == 60
    short = page.post("/portal/rewards/redeem/", {"reward_code": "VOUCHER-5", "redemption_id": "other"},
                      follow=True).content.decode()
    assert "not enough points for this reward: 500 points needed, 60 available" in short


def test_two_clicks_at_the_same_moment_redeem_once_and_both_get_the_voucher(transactional_db, ada_api, monkeypatch):
    import time

    from concurrent_calls import run_together

    real = ledger.spend

    def slow(*args, **kwargs):
        time.sleep(0.3)  # the first click holds the member's account while the second arrives
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "spend", slow)
    answers = run_together([lambda: redeem(ada_api, "BAG", "same-button")] * 2)

    assert [a.status_code for a in answers] == [200, 200], [a.json() for a in answers]
    assert sorted(a.json()["replayed"] for a in answers) == [False, True]
    assert answers[0].json()["voucher"] == answers[1].json()["voucher"]
    assert Redemption.objects.count() == 1 and ada_balance().available == 60


def test_the_database_refuses_a_redemption_neither_at_a_till_nor_with_a_voucher(ada_api):
    from django.db import IntegrityError, transaction

    account = LoyaltyAccount.objects.get(member__customer_id=build.ADA)
    with pytest.raises(IntegrityError), transaction.atomic():  # raw admin or SQL work, not the portal's
        Redemption.objects.create(account=account, redemption_key="k-no-store", reward=Reward.objects.get(code="BAG"),
                                  points=300, money_value=0, result={})
    redeemed = redeem(ada_api, "BAG")

    assert redeemed.status_code == 200 and Redemption.objects.get().store is None
