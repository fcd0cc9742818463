"""Lost customers: why they left (the nine reasons of seed 002), churn per value tier against the
acceptable rate, and win-back lists ranked by value at stake that agents work through."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, Q

from clientele.loyalty import ledger
from clientele.loyalty.models import Basket
from clientele.members.models import CustomerProfile, Member
from clientele.service import errors
from clientele.service.churn_models import ChurnReason, ExitReason, WinBackEntry, WinBackList
from clientele.service.models import Complaint, DeskSettings

#: value tiers, large customers first
VALUE_TIERS = ("platinum", "gold", "iron", "lead")
#: a profile whose customer has lapsed: the lifecycle says so, or the churn model does
LAPSED = Q(lifecycle_stage__in=["lapsed", "decline"]) | Q(at_risk=True)


def member_by_number(member_number: int) -> Member:
    """The member of this member number (UnknownMember when none)."""
    member = Member.objects.filter(customer_id=member_number).first()
    if member is None:
        raise errors.UnknownMember(f"no member number {member_number}")
    return member


def note_exit_reason(member_number: int, reason: str, source: str, actor: str, complaint_id: int | None = None,
                     note: str = "") -> ExitReason:
    """Record why a lapsed member left, from an exit survey, a call or a complaint (named). Refuses a
    member the nightly profile does not show as lapsed or at risk, an unknown reason or source.
    Returns the recorded reason."""
    member = member_by_number(member_number)
    if reason not in ChurnReason.values:
        raise errors.InvalidWinBack(f"unknown reason {reason!r}: one of {', '.join(ChurnReason.values)}",
                                    field="reason")
    if source not in ExitReason.Source.values:
        raise errors.InvalidWinBack(f"unknown source {source!r}: one of {', '.join(ExitReason.Source.values)}",
                                    field="source")
    if not CustomerProfile.objects.filter(LAPSED, member=member).exists():
        raise errors.InvalidWinBack(f"member {member_number} has not lapsed (nightly profile: not lapsed, "
                                    "declining nor at risk)", field="member_number")
    if source == ExitReason.Source.COMPLAINT and not Complaint.objects.filter(pk=complaint_id, member=member).exists():
        raise errors.InvalidWinBack(f"a reason from a complaint names one of member {member_number}'s complaints",
                                    field="complaint_id")
    return ExitReason.objects.create(member=member, reason=reason, source=source, complaint_id=complaint_id,
                                     note=note, noted_at=ledger.now_utc(), noted_by=actor)


def churn_by_tier() -> list[dict]:
    """Per value tier, large customers first: customers, lapsed customers, the churn rate, the
    acceptable rate (setting) and whether it is exceeded; with the reasons recorded."""
    acceptable = DeskSettings.current().acceptable_churn_rate
    counts = {row["value_tier"]: row for row in CustomerProfile.objects.values("value_tier").annotate(
        customers=Count("pk"), lapsed=Count("pk", filter=LAPSED))}
    reasons = {}
    for row in ExitReason.objects.values("member__profile__value_tier", "reason").annotate(n=Count("pk")):
        reasons.setdefault(row["member__profile__value_tier"], {})[row["reason"]] = row["n"]
    rows = []
    for tier in VALUE_TIERS:
        row = counts.get(tier, {"customers": 0, "lapsed": 0})
        rate = Decimal(row["lapsed"]) / row["customers"] if row["customers"] else Decimal(0)
        rows.append({"value_tier": tier, "customers": row["customers"], "lapsed": row["lapsed"],
                     "churn_rate": round(float(rate), 4), "acceptable_rate": float(acceptable),
                     "above_acceptable": rate > acceptable, "reasons": reasons.get(tier, {})})
    return rows


def value_before_lapsing(profile: CustomerProfile) -> Decimal:
    """What the customer would be worth over the next 12 months were they still a customer: the
    nightly CLV divided by the chance they are (the CLV before lapsing); last year's spend when the
    models had too little history."""
    if profile.predicted_clv is not None and profile.probability_alive:
        return (profile.predicted_clv / Decimal(str(profile.probability_alive))).quantize(Decimal("0.01"))
    return profile.monetary or Decimal(0)


def build_win_back_list(name: str, actor: str, size: int = 200) -> WinBackList:
    """A win-back list of the `size` lapsed members with the most value at stake (CLV before lapsing
    x chance of return, the nightly probability still alive), rank 1 first. Returns the list."""
    if size < 1:
        raise errors.InvalidWinBack("a win-back list holds at least one member", field="size")
    profiles = CustomerProfile.objects.filter(LAPSED, member__status=Member.Status.ACTIVE).select_related("member")
    if not profiles.exists():
        raise errors.InvalidWinBack("no lapsed member in the nightly profiles: run `clientele refresh` first")
    ranked = []
    for profile in profiles.iterator():
        before = value_before_lapsing(profile)
        chance = min(1.0, max(0.0, profile.probability_alive if profile.probability_alive is not None else 0.5))
        ranked.append((before * Decimal(str(chance)), before, chance, profile))
    ranked.sort(key=lambda row: (-row[0], row[3].member.customer_id))
    with transaction.atomic():
        win_back = WinBackList.objects.create(
            name=name, created_at=ledger.now_utc(), created_by=actor,
            profiles_of=profiles.aggregate(day=Max("refreshed_on"))["day"])
        WinBackEntry.objects.bulk_create(
            WinBackEntry(win_back_list=win_back, member=profile.member, rank=rank, clv_before=before,
                         chance_of_return=chance, value_at_stake=stake.quantize(Decimal("0.01")))
            for rank, (stake, before, chance, profile) in enumerate(ranked[:size], start=1))
    return win_back


def record_call(entry_id: int, actor: str, reached: bool, outcome: str, reason: str = "") -> WinBackEntry:
    """What an agent's win-back call achieved: reached or not, the outcome and the reason the member
    gives (also kept as the member's exit reason). Returns the entry."""
    if outcome not in WinBackEntry.Outcome.values or outcome == WinBackEntry.Outcome.PENDING:
        raise errors.InvalidWinBack("outcome is unreachable, declined or won_back", field="outcome")
    if not reached and outcome != WinBackEntry.Outcome.UNREACHABLE:
        raise errors.InvalidWinBack("a member not reached can only be 'unreachable'", field="outcome")
    if reason and reason not in ChurnReason.values:
        raise errors.InvalidWinBack(f"unknown reason {reason!r}: one of {', '.join(ChurnReason.values)}",
                                    field="reason")
    with transaction.atomic():
        entry = WinBackEntry.objects.select_for_update().select_related("member").filter(pk=entry_id).first()
        if entry is None:
            raise errors.InvalidWinBack(f"no win-back entry {entry_id}", field="entry")
        if entry.group == "holdout":
            raise errors.InvalidWinBack(f"member {entry.member.customer_id} is in the list's control group: "
                                        "not called, so the campaign can tell what the calls achieve", field="entry")
        entry.called_at, entry.called_by = ledger.now_utc(), actor
        entry.reached, entry.outcome, entry.reason = reached, outcome, reason
        entry.save()
        if reason:
            ExitReason.objects.create(member=entry.member, reason=reason, source=ExitReason.Source.CALL,
                                      note=f"win-back call, list {entry.win_back_list_id}",
                                      noted_at=entry.called_at, noted_by=actor)
    return entry


def win_back_results(list_id: int) -> dict:
    """A win-back list's progress and its win-back rate: members listed, called, reached, agreeing
    to come back, and who really came back (a till basket after the call), as shares of the called."""
    win_back = WinBackList.objects.filter(pk=list_id).first()
    if win_back is None:
        raise errors.InvalidWinBack(f"no win-back list {list_id}", field="list")
    entries = list(win_back.entries.select_related("member"))
    called = [e for e in entries if e.called_at is not None]
    returned = sum(1 for e in called if Basket.objects.filter(member=e.member, transacted_at__gt=e.called_at).exists())
    share = (lambda n: round(n / len(called), 4) if called else None)
    won = sum(e.outcome == WinBackEntry.Outcome.WON_BACK for e in called)
    reached = sum(bool(e.reached) for e in called)
    return {"list": win_back.pk, "name": win_back.name, "listed": len(entries), "called": len(called),
            "reached": reached, "agreed": won, "returned": returned, "reach_rate": share(reached),
            "agreed_rate": share(won), "win_back_rate": share(returned),
            "value_at_stake": str(sum((e.value_at_stake for e in entries), Decimal(0)))}
