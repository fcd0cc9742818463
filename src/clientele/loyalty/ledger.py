"""The points ledger: the code that appends entries, and every balance derived from it.

One exception: on PostgreSQL a checkout appends its credit in the same statement as the basket
(`checkout._write_basket_in_one_statement`, docs/decisions/0006-till-hot-path-in-plain-sql.md).

Balances are sums over the append-only ledger, computed under the account's lock (on PostgreSQL
a transaction-level advisory lock keyed by the account, `account_lock_sql`; on SQLite the
IMMEDIATE transaction already serialises writers), so two tills spending the same points at once
are served one after the other.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, Q, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest, Least

from clientele.loyalty.models import LoyaltyAccount, PointsEntry, Programme

Kind = PointsEntry.Kind
CREDIT_KINDS = (Kind.POINTS_EARNED, Kind.BONUS_AWARDED, Kind.OPENING_BALANCE)
#: Debits that consume the oldest credits first; reversals instead cancel their own credit (they
#: carry its expiry date), so they are counted with the credits.
FIFO_DEBIT_KINDS = (Kind.POINTS_REDEEMED, Kind.POINTS_EXPIRED)


@dataclass(frozen=True)
class Balance:
    """A member's points: spendable now, and pending until a return window closes."""

    available: int
    pending: int

    def as_dict(self) -> dict[str, int]:
        return {"available": self.available, "pending": self.pending}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def account_for_member(member) -> LoyaltyAccount:
    """The member's points account, opened on first use."""
    account, _ = LoyaltyAccount.objects.get_or_create(member=member)
    return account


#: Account n's advisory lock on PostgreSQL is ACCOUNT_LOCKS + n: a key space of its own among
#: PostgreSQL's 64-bit advisory lock keys ("LA" in the top 16 bits).
ACCOUNT_LOCKS = 0x4C41 << 48


def account_lock_sql(account_id: str) -> str:
    """A SQL expression (true) that takes the lock of the account whose id is `account_id` (SQL)
    until the end of the transaction, waiting for whoever holds it. Every writer of an account's
    ledger takes it first. For a select list only, which is evaluated for the rows returned (a
    WHERE condition may be evaluated on every row a plan scans). On SQLite, whose writing
    transactions are serialised already, just true.

    An advisory lock, not the account row's (`FOR UPDATE`): locking a row writes it (a WAL record,
    and the page dirtied: a full-page image after each checkpoint, a random page of a table of
    millions written back later), which cost a transaction 100-240 µs more of the database's CPU
    and 1.3-1.5 kB of WAL (docs/decisions/0015-checkout-in-two-round-trips.md); an advisory lock
    lives in the lock manager's memory."""
    if connection.vendor == "postgresql":
        return f"pg_advisory_xact_lock({ACCOUNT_LOCKS} + {account_id}) IS NOT NULL"
    return "1 = 1"


def _locked(accounts):
    return accounts.annotate(locked=RawSQL(account_lock_sql(f'"{LoyaltyAccount._meta.db_table}"."id"'), []))


def lock_account(account_id: int) -> LoyaltyAccount:
    """The account, locked until the end of the current transaction (`account_lock_sql`)."""
    return _locked(LoyaltyAccount.objects.select_related("tier")).get(pk=account_id)


def lock_member_account(member) -> LoyaltyAccount:
    """The member's account (opened on first use), locked until the end of the transaction."""
    account = _locked(LoyaltyAccount.objects.select_related("tier")).filter(member=member).first()
    return account or lock_account(account_for_member(member).pk)


def balance_sums_sql(at: str) -> tuple[str, str]:
    """The SQL sums of the available and of the pending points of ledger entries `e` at the moment
    `at` (a query placeholder): the one definition of a balance, used by `balance`, by identify's
    greeting and by the checkout's write, each of which sums in its own query."""
    return (f"SUM(CASE WHEN e.available_from <= {at} THEN e.amount ELSE 0 END)",
            f"SUM(CASE WHEN e.available_from > {at} THEN e.amount ELSE 0 END)")


_BALANCE = "SELECT {}, {} FROM loyalty_pointsentry e WHERE e.account_id = %s".format(*balance_sums_sql("%s"))


def balance(account_id: int, at: datetime | None = None) -> Balance:
    """The account's available and pending points at `at` (now by default)."""
    # Plain SQL: every redemption asks for it.
    at = connection.ops.adapt_datetimefield_value(at or now_utc())
    with connection.cursor() as cursor:
        cursor.execute(_BALANCE, [at, at, account_id])
        available, pending = cursor.fetchone()
    return Balance(available=int(available or 0), pending=int(pending or 0))


def append(account: LoyaltyAccount, kind: str, amount: int, *, key: str, source: str, actor: str,
           available_from: datetime | None = None, expires_on: date | None = None, basket=None,
           rule=None, explanation: list | None = None) -> PointsEntry:
    """Record one business event in the ledger; the caller holds the transaction (and, for a
    debit, the account lock). Returns the new entry."""
    return PointsEntry.objects.create(
        account=account, kind=kind, amount=amount, idempotency_key=key, source=source, actor=actor,
        available_from=available_from or now_utc(), expires_on=expires_on, basket=basket, rule=rule,
        explanation=explanation or [],
    )


def basket_credit_key(basket_id: int) -> str:
    """The idempotency key of the credit a basket earned: made of the basket's own id, unique
    because the basket's receipt is (`basket_receipt_once`, store, till and receipt in columns of
    their own), so no till or receipt id, whatever it contains, can make two baskets' keys meet."""
    return f"earn:{basket_id}"


#: `basket_credit_key` in SQL, of the column `basket_id` (an expression giving the basket's id).
BASKET_CREDIT_KEY_SQL = "'earn:' || {basket_id}"


def expirable_points(account_id: int, due_by: date, available: int) -> int:
    """Points of the account whose expiry date is on or before `due_by` and that are not yet spent
    or expired, oldest first: credits due (net of their own reversals) minus every FIFO debit,
    never more than the available balance."""
    sums = PointsEntry.objects.filter(account_id=account_id).aggregate(
        due=Sum("amount", filter=Q(expires_on__lte=due_by)),
        consumed=Sum("amount", filter=Q(kind__in=FIFO_DEBIT_KINDS)),
    )
    due = (sums["due"] or 0) + (sums["consumed"] or 0)
    return max(0, min(due, available))


def expire_points(today: date, actor: str = "command:loyalty expire") -> dict[str, int]:
    """Expire, account by account, the points whose expiry date has passed (oldest first).

    Running it twice on a day expires nothing more. Returns accounts touched and points expired.
    """
    candidates = (
        PointsEntry.objects.filter(kind__in=CREDIT_KINDS, expires_on__lte=today)
        .values_list("account_id", flat=True).distinct().order_by("account_id")
    )
    touched = expired = 0
    for account_id in candidates.iterator():
        with transaction.atomic():
            account = lock_account(account_id)
            amount = expirable_points(account_id, today, balance(account_id).available)
            if amount <= 0:
                continue
            append(account, Kind.POINTS_EXPIRED, -amount, key=f"expiry:{account_id}:{today.isoformat()}",
                   source=f"expiry run of {today.isoformat()}", actor=actor)
        touched += 1
        expired += amount
    return {"accounts": touched, "points_expired": expired}


def liability(today: date) -> dict:
    """Outstanding points and their money value at the programme's point value: available,
    pending, expiring by the end of next month, and debt carried after returns (not a liability).
    """
    now = now_utc()
    point_value = Programme.current().point_value
    next_month_end = add_months(today.replace(day=1), 2).replace(day=1)
    next_month_end = date.fromordinal(next_month_end.toordinal() - 1)
    points = BigIntegerField()

    def total(condition: Q):
        return Coalesce(Sum("amount", filter=condition), 0, output_field=points)

    per_account = PointsEntry.objects.values("account_id").annotate(
        available=total(Q(available_from__lte=now)),
        pending=total(Q(available_from__gt=now)),
        due=total(Q(expires_on__lte=next_month_end)) + total(Q(kind__in=FIFO_DEBIT_KINDS)),
    ).order_by()
    # Summed over the accounts in the database too: one statement, whatever the number of accounts.
    zero = Value(0, output_field=points)
    sums = per_account.aggregate(
        total_accounts=Count("account_id"),
        total_available=Sum(Greatest("available", zero, output_field=points), output_field=points),
        total_pending=Sum("pending", output_field=points),
        total_expiring_next_month=Sum(Greatest(Least("due", "available", output_field=points), zero,
                                               output_field=points), output_field=points),
        total_debt=Sum(Least("available", zero, output_field=points), output_field=points),  # negative balances
    )
    totals = {name.removeprefix("total_"): value or 0 for name, value in sums.items()}
    totals["debt"] = -totals["debt"]
    report = {"as_of": today.isoformat(), "point_value": str(point_value), **totals}
    for name in ("available", "pending", "expiring_next_month", "debt"):
        report[f"{name}_value"] = str((Decimal(totals[name]) * point_value).quantize(Decimal("0.01")))
    return report
