"""A reward redeemed in the portal is handed over at a till once: the cashier sends the voucher the
member shows; another till scanning it after (or at the same moment) is refused saying when and
where, the same till's retry gets the first answer, and the member's account shows it collected."""

from __future__ import annotations

import portal_builders as build
import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils.timezone import now

from clientele.catalog.models import Store
from clientele.loyalty.identity import issue_api_key
from clientele.loyalty.models import Redemption

JSON = "application/json"


def collect(till_key: str, voucher: str, till_id: str = "T1", store_id: int = 1):
    return Client().post(f"/api/vouchers/{voucher}/collect", {"store_id": store_id, "till_id": till_id},
                         content_type=JSON, headers={"X-API-Key": till_key})


@pytest.fixture
def voucher(ada_api) -> str:
    redeemed = ada_api.post("/api/portal/rewards/redeem", {"reward_code": "BAG", "redemption_id": "r1"},
                            content_type=JSON)
    assert redeemed.status_code == 200, redeemed.json()
    return redeemed.json()["voucher"]


def test_the_till_hands_over_the_reward_once_and_the_account_shows_it_collected(ada_api, till_key, voucher):
    handed = collect(till_key, voucher.lower())  # typed in lower case from the member's screen

    assert handed.status_code == 200, handed.json()
    body = handed.json()
    assert (body["voucher"], body["reward"], body["member_number"], body["store_id"], body["till_id"],
            body["replayed"]) == (voucher, "Reusable shopping bag", build.ADA, 1, "T1", False)
    account = ada_api.get("/api/portal/account").json()
    assert [(v["voucher"], v["collected_at"] is not None) for v in account["vouchers"]] == [(voucher, True)]


def test_a_second_till_is_refused_saying_where_and_the_first_tills_retry_gets_its_answer(till_key, voucher):
    first = collect(till_key, voucher, till_id="T1").json()

    again = collect(till_key, voucher, till_id="T1")
    other = collect(till_key, voucher, till_id="T2")

    assert again.json() == first | {"replayed": True}
    assert (other.status_code, other.json()["code"], other.json()["field"]) == (409, "voucher_collected", "voucher")
    assert "at store 1, till T1" in other.json()["message"]
    collected = Redemption.objects.get(voucher_code=voucher)
    assert (collected.collected_store_id, collected.collected_till) == (1, "T1")


def test_two_tills_scanning_the_voucher_at_the_same_moment_hand_it_over_once(transactional_db, till_key, voucher):
    from concurrent_calls import run_together

    answers = run_together([lambda: collect(till_key, voucher, till_id="T1"),
                            lambda: collect(till_key, voucher, till_id="T2")])

    assert sorted(a.status_code for a in answers) == [200, 409], [a.json() for a in answers]
    handed = next(a.json() for a in answers if a.status_code == 200)
    assert Redemption.objects.get(voucher_code=voucher).collected_till == handed["till_id"]


@pytest.mark.parametrize("given, status, code, field", [
    ("NOSUCH2345", 404, "unknown_voucher", "voucher"),
    ("AB$CD", 422, "invalid_request", "voucher"),
])
def test_an_unknown_or_malformed_voucher_is_refused_naming_it(till_key, voucher, given, status, code, field):
    answer = collect(till_key, given)

    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (status, code, field)
    assert Redemption.objects.get(voucher_code=voucher).collected_at is None


def test_a_till_of_another_store_cannot_collect_for_this_one_nor_the_database_a_collection_without_where(till_key, voucher):
    other_key = issue_api_key(Store.objects.create(store_id=2, name="Other", timezone="America/Chicago"), "till")[1]

    answer = collect(other_key, voucher, store_id=1)

    assert (answer.status_code, answer.json()["code"]) == (403, "store_not_allowed")
    till_redemption = Redemption.objects.get(voucher_code=voucher)
    with pytest.raises(IntegrityError), transaction.atomic():  # raw SQL or admin work: a collection says where
        Redemption.objects.filter(pk=till_redemption.pk).update(collected_at=now())
    assert collect(other_key, voucher, store_id=2).status_code == 200  # any store of the chain hands it over


def test_the_customer_360_shows_the_reward_its_voucher_masked_and_where_it_was_handed_over(client, till_key, voucher):
    from clientele.backoffice.services import add_user

    client.force_login(add_user("agent", "Secret-pass-42", "service agent"))
    waiting = client.get(f"/backoffice/members/{build.ADA}/").content.decode()
    collect(till_key, voucher, till_id="T7")
    handed = client.get(f"/backoffice/members/{build.ADA}/").content.decode()

    assert "Reusable shopping bag" in waiting and f"voucher &bull;&bull;&bull;{voucher[-3:]}" in waiting
    assert voucher not in waiting and "not yet: the member shows the voucher at a till" in waiting
    assert "store 1, till T7" in handed and "not yet" not in handed


def test_after_a_merge_the_survivors_account_shows_the_absorbed_numbers_voucher(ada_api, bob_api, voucher):
    from clientele.identity.merging import merge_members

    merge_members(build.BOB, build.ADA, actor="steward", reason="same person")

    shown = bob_api.get("/api/portal/account").json()["vouchers"]
    assert [(v["voucher"], v["reward_code"], v["collected_at"]) for v in shown] == [(voucher, "BAG", None)]
