"""Collecting at a till the reward a member redeemed in the portal: the cashier scans or types the
voucher the member shows, and the till hands the reward over once.

The voucher's redemption row is locked while it is marked collected, so of two tills scanning the
same voucher at once one hands the reward over and the other is refused (`voucher_collected`,
saying when and where). The same till sending the same voucher again (a retry after a lost answer)
gets the first answer with `replayed: true`. The database refuses a collection without its time,
store and till, or of a redemption that is not a voucher (check constraint
`redemption_collected_voucher_when_and_where`).
"""

from __future__ import annotations

from django.db import transaction

from clientele.loyalty import errors, ledger
from clientele.loyalty.models import ApiKey, Redemption


def collect(voucher: str, store_id: int, till_id: str, key: ApiKey) -> dict:
    """Mark the voucher's reward handed over at `store_id`'s till `till_id` and answer what to hand
    over (the reward, the member, when it was redeemed). UnknownVoucher, VoucherCollected (at
    another till), StoreNotAllowed for a key of another store."""
    if store_id != key.store_id:
        raise errors.StoreNotAllowed(f"this key belongs to store {key.store_id}, not store {store_id}")
    code = voucher.strip().upper()
    with transaction.atomic():
        redemption = Redemption.objects.select_for_update().filter(voucher_code=code).first() if code else None
        if redemption is None:
            raise errors.UnknownVoucher(f"no voucher {code!r}: check its characters with the member's screen")
        if redemption.collected_at is not None:
            if (redemption.collected_store_id, redemption.collected_till) != (store_id, till_id):
                raise errors.VoucherCollected(
                    f"voucher {code} was collected on {redemption.collected_at:%Y-%m-%d %H:%M} UTC at store "
                    f"{redemption.collected_store_id}, till {redemption.collected_till}")
            return _answer(redemption, replayed=True)
        redemption.collected_at = ledger.now_utc()
        redemption.collected_store_id, redemption.collected_till = store_id, till_id
        redemption.save(update_fields=["collected_at", "collected_store", "collected_till"])
        return _answer(redemption, replayed=False)


def _answer(redemption: Redemption, replayed: bool) -> dict:
    reward = redemption.reward
    return {"voucher": redemption.voucher_code, "reward_code": reward.code, "reward": reward.name,
            "member_number": redemption.account.member.customer_id, "redeemed_at": redemption.created_at,
            "collected_at": redemption.collected_at, "store_id": redemption.collected_store_id,
            "till_id": redemption.collected_till, "replayed": replayed}
