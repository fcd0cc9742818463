"""The till API's call to hand over a reward redeemed in the member portal (loaded by `site.urls`):
the cashier scans or types the voucher on the member's screen (`loyalty.vouchers`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints

from clientele.loyalty import vouchers
from clientele.api_inputs import Number as Stored
from clientele.loyalty.api import PROBLEMS, Id, Problem, api

#: A voucher as the portal shows it (10 characters), in either case, spaces around it forgiven.
Voucher = Annotated[str, StringConstraints(pattern=r"^\s*[A-Za-z0-9]{6,12}\s*$")]


class CollectionIn(Schema):
    store_id: Stored
    till_id: Id


class CollectionOut(Schema):
    voucher: str
    reward_code: str
    reward: str = Field(description="What to hand over.")
    member_number: int
    redeemed_at: datetime
    collected_at: datetime
    store_id: int
    till_id: str
    replayed: bool = Field(description="This till collected it already (a retry): hand nothing over twice.")


@api.post("/vouchers/{voucher}/collect", response={200: CollectionOut, PROBLEMS: Problem},
          summary="Hand over a reward redeemed in the portal")
def collect_voucher(request, voucher: Voucher, payload: CollectionIn):
    """Mark the voucher's reward handed over, once: 404 `unknown_voucher`; 409 `voucher_collected`
    when another till collected it (the message says when and where); the same till again answers
    the first collection with `replayed: true`."""
    return vouchers.collect(voucher, payload.store_id, payload.till_id, request.auth)
