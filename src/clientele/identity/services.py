"""Resolving identities: the nightly scoring of members and contact records, the automatic links,
the review queue's decisions. One transaction per business event (a link, a decision, a merge)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from django.db import transaction
from django.db.models import Q

from clientele.config import settings
from clientele.identity import errors, matching
from clientele.identity.merging import merge_members
from clientele.identity.models import CandidatePair, SourceRecord
from clientele.identity.standardise import COMPLETENESS_WEIGHTS, completeness
from clientele.members.models import Member

Status = CandidatePair.Status
CONTACT = ("first_name", "last_name", "email", "phone", "birth_date", "address_line", "postal_code", "city")
log = logging.getLogger(__name__)


def member_ref(customer_id: int) -> str:
    return f"member:{customer_id}"


def _member_number(ref: str) -> int | None:
    kind, _, key = ref.partition(":")
    return int(key) if kind == "member" else None


def records_to_match() -> list[dict]:
    """The active members and every contact record, as the matching reads them."""
    members = [{"unique_id": member_ref(m.pop("customer_id")), "source": "members", **m}
               for m in Member.objects.filter(status=Member.Status.ACTIVE).values("customer_id", *CONTACT)]
    records = [{"unique_id": f"{r.pop('source')}:{r.pop('source_key')}", "source": "contact", **r}
               for r in SourceRecord.objects.values("source", "source_key", *CONTACT)]
    return members + records


def _values(record: dict | None) -> dict:
    if record is None:
        return {}
    return {name: (value.isoformat() if hasattr(value, "isoformat") else value)
            for name, value in record.items() if name in CONTACT}


def resolve(*, actor: str = "command:identity resolve", engine: str = "duckdb") -> dict[str, int]:
    """Score every pair the blocking rules find among the members and the contact records; link
    those above the upper threshold (a contact record to its member; two members merged, the
    older number surviving), queue those between the thresholds for review, leave the rest apart.
    A pair already decided (accepted, rejected or linked) is never proposed again. `engine`: where
    Splink scores (duckdb, or spark for a chain: the same model)."""
    config = settings()
    auto, review_from = config.identity_auto_link, min(config.identity_review_from, config.identity_auto_link)
    rows = records_to_match()
    counts = {"records": len(rows), "pairs_scored": 0, "auto_linked": 0, "to_review": 0, "already_decided": 0,
              "merged": 0}
    if len(rows) < 2:
        return counts
    by_ref = {row["unique_id"]: row for row in rows}
    pairs = matching.score(matching.matching_frame(rows), threshold=review_from, engine=engine)
    counts["pairs_scored"] = len(pairs)
    decided = set(CandidatePair.objects.exclude(status=Status.REVIEW).values_list("left_ref", "right_ref"))
    linked = {f"{s}:{k}": m for s, k, m in SourceRecord.objects.filter(member__isnull=False)
              .values_list("source", "source_key", "member__customer_id")}
    now = datetime.now(timezone.utc)
    for pair in sorted(pairs, key=lambda p: -p.match_probability):
        left, right = _member_number(pair.left), _member_number(pair.right)
        if left is None and right is None:
            continue  # two contact records: linked through the member either one matches
        if (pair.left, pair.right) in decided:
            counts["already_decided"] += 1
            continue
        record_ref = pair.right if left is not None and right is None else (pair.left if left is None else None)
        if record_ref is not None and linked.get(record_ref) == (left or right):
            continue
        automatic = pair.match_probability >= auto and (record_ref is None or record_ref not in linked)
        with transaction.atomic():
            candidate, _ = CandidatePair.objects.update_or_create(
                left_ref=pair.left, right_ref=pair.right,
                defaults={"match_probability": min(max(pair.match_probability, 0.0), 1.0),
                          "match_weight": pair.match_weight, "fields": pair.fields, "scored_at": now,
                          "left_values": _values(by_ref.get(pair.left)), "right_values": _values(by_ref.get(pair.right)),
                          "status": Status.AUTO_LINKED if automatic else Status.REVIEW})
            if automatic:
                try:
                    merged = _apply(candidate, actor)
                except errors.IdentityError as refused:
                    log.warning("pair %s sent to review: %s", candidate.pk, refused)
                    CandidatePair.objects.filter(pk=candidate.pk).update(status=Status.REVIEW)
                    automatic = False
                else:
                    counts["merged"] += merged
                    if record_ref is not None:
                        linked[record_ref] = left or right
        counts["auto_linked" if automatic else "to_review"] += 1
    return counts


def _apply(pair: CandidatePair, actor: str) -> int:
    """Link the pair's two records: a contact record to its member, or two members merged (the
    older number survives). Returns 1 when it merged. In the caller's transaction."""
    left, right = _member_number(pair.left_ref), _member_number(pair.right_ref)
    reason = f"pair {pair.pk}, match probability {pair.match_probability:.4f}"
    if left is not None and right is not None:
        merge_members(min(left, right), max(left, right), actor=actor, reason=reason, pair=pair)
        return 1
    number, record_ref = (left, pair.right_ref) if left is not None else (right, pair.left_ref)
    source, _, key = record_ref.partition(":")
    member = Member.objects.filter(customer_id=number).first()
    if member is None or member.status != Member.Status.ACTIVE:
        raise errors.MemberNotMergeable(f"member {number} is no longer active")
    updated = SourceRecord.objects.filter(source=source, source_key=key).filter(
        Q(member__isnull=True) | Q(member=member)).update(member=member, linked_by=actor,
                                                          linked_at=datetime.now(timezone.utc))
    if not updated:
        raise errors.MemberNotMergeable(f"contact {record_ref} is linked to another member already")
    return 0


def decide(pair_id: int, *, accept: bool, reviewer: str) -> CandidatePair:
    """A reviewer's decision on a queued pair: accepted (linked or merged at once) or rejected
    (never proposed again). Two reviewers deciding the same pair at once: the first wins, the
    second is told (PairAlreadyDecided), whatever the database."""
    now = datetime.now(timezone.utc)
    with transaction.atomic():
        status = Status.ACCEPTED if accept else Status.REJECTED
        taken = CandidatePair.objects.filter(pk=pair_id, status=Status.REVIEW).update(
            status=status, decided_by=reviewer, decided_at=now)
        pair = CandidatePair.objects.filter(pk=pair_id).first()
        if pair is None:
            raise errors.UnknownPair(f"no candidate pair {pair_id}")
        if not taken:
            who = f" by {pair.decided_by} at {pair.decided_at:%Y-%m-%d %H:%M} UTC" if pair.decided_at else ""
            raise errors.PairAlreadyDecided(f"pair {pair_id} was already decided: {pair.get_status_display()}{who}")
        if accept:
            _apply(pair, f"review:{reviewer}")
    return pair


def review_counts() -> dict[str, int]:
    """How many pairs wait for a reviewer, were linked automatically, accepted and rejected."""
    counts = dict.fromkeys(Status.values, 0)
    for status in Status.values:
        counts[status] = CandidatePair.objects.filter(status=status).count()
    return counts


def queue_summary() -> dict[str, int]:
    """The review queue's counts and the merges in force and undone (`clientele report summary`)."""
    from clientele.identity.models import Merge

    return review_counts() | {"merges_in_force": Merge.objects.filter(undone_at__isnull=True).count(),
                              "merges_undone": Merge.objects.filter(undone_at__isnull=False).count()}


def member_completeness(member: Member) -> float:
    """The member's profile completeness, 0 to 1 (`standardise.COMPLETENESS_WEIGHTS`)."""
    return completeness({name: getattr(member, name) for name in COMPLETENESS_WEIGHTS})
