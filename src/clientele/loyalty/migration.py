"""Bringing members, cards and opening balances over from a previous loyalty system.

The file is CSV with a header: member_number, card, opening_points (required), first_name,
last_name, email, phone, joined_on (optional). Each row either loads (a member, their card, one
`opening_balance` ledger entry naming the file and line) or goes to the quarantine file with the
file, line, field and reason; a row whose member already has an opening balance is counted as
already loaded, so a second run changes nothing. rows read = loaded + already loaded + quarantined.
"""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

from django.db import transaction

from clientele.barcodes import is_valid_ean13
from clientele.config import settings
from clientele.errors import ClienteleError
from clientele.loyalty import ledger
from clientele.loyalty.models import LoyaltyAccount, PointsEntry, Programme
from clientele.members.models import Card, Member

REQUIRED = ("member_number", "card", "opening_points")
CHUNK = 2000
ACTOR = "command:loyalty import-balances"


def _parse(row: dict, line: int, source: str) -> tuple[dict | None, tuple[str, str] | None]:
    """The row's values, or (field, reason) when it cannot be loaded."""
    values = {}
    try:
        values["member_number"] = int(row["member_number"])
        assert 0 < values["member_number"] < 10**15
    except (ValueError, TypeError, AssertionError):
        return None, ("member_number", f"{row.get('member_number')!r} is not a member number")
    card = (row.get("card") or "").strip()
    if not is_valid_ean13(card):
        return None, ("card", f"{card!r} is not a valid EAN-13 barcode")
    try:
        points = int(row["opening_points"])
    except (ValueError, TypeError):
        return None, ("opening_points", f"{row.get('opening_points')!r} is not a whole number of points")
    if points < 0:
        return None, ("opening_points", "a negative opening balance is not migrated: settle it in the old system")
    joined = (row.get("joined_on") or "").strip()
    try:
        values["joined_on"] = date.fromisoformat(joined) if joined else ledger.now_utc().date()
    except ValueError:
        return None, ("joined_on", f"{joined!r} is not a date (YYYY-MM-DD)")
    values |= {"card": card, "points": points, "line": line, "source": source}
    for name in ("first_name", "last_name", "email", "phone"):
        values[name] = (row.get(name) or "").strip()
    return values, None


def import_balances(path: Path) -> dict:
    """Load the previous system's members, cards and opening balances from `path`. Returns the
    reconciliation: rows read, loaded, already loaded, quarantined (with reasons), the
    quarantine file and whether the counts add up."""
    import_id = uuid.uuid4().hex[:12]
    quarantine: list[dict] = []
    counts = Counter(read=0, loaded=0, already_loaded=0)
    expiry = ledger.add_months(ledger.now_utc().date(), Programme.current().expiry_months)
    seen: set[int] = set()
    seen_cards: set[str] = set()
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ClienteleError(f"{path.name}: the header lacks {', '.join(missing)}")
        chunk: list[dict] = []
        for line, row in enumerate(reader, start=2):
            counts["read"] += 1
            values, problem = _parse(row, line, path.name)
            if problem is None and (values["member_number"] in seen or values["card"] in seen_cards):
                problem = ("member_number", "member or card appears earlier in the file")
            if problem is not None:
                quarantine.append({"file": path.name, "line": line, "field": problem[0], "reason": problem[1]})
                continue
            seen.add(values["member_number"])
            seen_cards.add(values["card"])
            chunk.append(values)
            if len(chunk) >= CHUNK:
                _load(chunk, counts, quarantine, expiry)
                chunk = []
        _load(chunk, counts, quarantine, expiry)
    report = {"import_id": import_id, "file": str(path), "rows_read": counts["read"], "rows_loaded": counts["loaded"],
              "rows_already_loaded": counts["already_loaded"], "rows_quarantined": len(quarantine),
              "reasons": dict(Counter(q["field"] for q in quarantine)), "quarantine_file": None}
    if quarantine:
        folder = settings().home.resolve() / "quarantine"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"balances-{import_id}.csv"
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=["file", "line", "field", "reason"])
            writer.writeheader()
            writer.writerows(quarantine)
        report["quarantine_file"] = str(target)
    report["reconciles"] = report["rows_read"] == (report["rows_loaded"] + report["rows_already_loaded"]
                                                   + report["rows_quarantined"])
    return report


def _load(chunk: list[dict], counts: Counter, quarantine: list[dict], expiry: date) -> None:
    if not chunk:
        return
    with transaction.atomic():
        numbers = [v["member_number"] for v in chunk]
        members = {m.customer_id: m for m in Member.objects.filter(customer_id__in=numbers)}
        cards = dict(Card.objects.filter(barcode__in=[v["card"] for v in chunk]).values_list("barcode", "member__customer_id"))
        loaded_keys = set(PointsEntry.objects.filter(
            idempotency_key__in=[f"opening_balance:{n}" for n in numbers]).values_list("idempotency_key", flat=True))
        to_load = []
        for values in chunk:
            number = values["member_number"]
            if f"opening_balance:{number}" in loaded_keys:
                counts["already_loaded"] += 1
            elif cards.get(values["card"], number) != number:
                quarantine.append({"file": values["source"], "line": values["line"], "field": "card",
                                   "reason": f"card {values['card']} belongs to member {cards[values['card']]}"})
            else:
                to_load.append(values)
        Member.objects.bulk_create([
            Member(customer_id=v["member_number"], first_name=v["first_name"], last_name=v["last_name"],
                   email=v["email"], phone=v["phone"], join_date=v["joined_on"])
            for v in to_load if v["member_number"] not in members
        ])
        members = {m.customer_id: m for m in Member.objects.filter(customer_id__in=[v["member_number"] for v in to_load])}
        Card.objects.bulk_create([Card(barcode=v["card"], member=members[v["member_number"]])
                                  for v in to_load if v["card"] not in cards])
        LoyaltyAccount.objects.bulk_create([LoyaltyAccount(member=m) for m in members.values()], ignore_conflicts=True)
        accounts = dict(LoyaltyAccount.objects.filter(member__in=members.values()).values_list("member__customer_id", "pk"))
        now = ledger.now_utc()
        ledger.credit_opening_balances([
            PointsEntry(account_id=accounts[v["member_number"]], kind=PointsEntry.Kind.OPENING_BALANCE,
                        amount=v["points"], available_from=now, expires_on=expiry,
                        source=f"{v['source']} line {v['line']}", idempotency_key=f"opening_balance:{v['member_number']}",
                        actor=ACTOR)
            for v in to_load
        ])
        counts["loaded"] += len(to_load)
