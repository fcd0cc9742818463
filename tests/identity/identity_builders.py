"""Builders of the identity scenarios (imported by name: every test folder has a conftest)."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "loyalty"))  # the till's payloads and client

from clientele.barcodes import card_barcode  # noqa: E402
from clientele.members.models import Card, Member  # noqa: E402


def make_member(number: int, cards: int = 1, **fields) -> Member:
    defaults = {"first_name": "Ada", "last_name": "Lovelace", "join_date": date(2024, 1, 5)}
    member = Member.objects.create(customer_id=number, **(defaults | fields))
    for seq in range(cards):
        Card.objects.create(barcode=card_barcode(number, seq), member=member)
    return member


def minutes_ago(minutes: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat()
