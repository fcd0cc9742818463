"""The points ledger: the one door through which entries are written, and every balance derived from it.

Two functions write the ledger, and nothing else does (tests/loyalty/test_one_door.py):
- `credit` adds points (a basket's, a bonus, an opening balance): a credit cannot overdraw, so it
  appends without a balance check;
- `spend` takes points away (a redemption, a reversal on a return, an expiry): it takes the
  account's lock, checks the balance, refuses (errors.InsufficientPoints) or takes what the
  caller's policy allows, and appends.
On PostgreSQL a checkout's credit is appended in the same statement as its basket; the SQL of that
credit is this module's too (`BASKET_CREDIT_SQL`), behind the checkout's store interface.

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

from clientele.loyalty import errors
from clientele.loyalty.models import LoyaltyAccount, PointsEntry, Programme

Kind = PointsEntry.Kind
CREDIT_KINDS = (Kind.POINTS_EARNED, Kind.BONUS_AWARDED, Kind.OPENING_BALANCE, Kind.POINTS_MERGED_IN,
                Kind.EVENT_BONUS)
DEBIT_KINDS = (Kind.POINTS_REDEEMED, Kind.POINTS_REVERSED, Kind.POINTS_EXPIRED, Kind.POINTS_MERGED_OUT)
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
    debit, the account lock). Returns the new entry. Called by `credit` and `spend` (and by this
    module's batch work): every other module writes through those two."""
    return PointsEntry.objects.create(
        account=account, kind=kind, amount=amount, idempotency_key=key, source=source, actor=actor,
        available_from=available_from or now_utc(), expires_on=expires_on, basket=basket, rule=rule,
        explanation=explanation or [],
    )


def credit(account: LoyaltyAccount, kind: str, points: int, *, key: str, source: str, actor: str,
           available_from: datetime | None = None, expires_on: date | None = None, basket=None,
           rule=None, explanation: list | None = None) -> PointsEntry:
    """Add `points` (> 0) to the account, in the caller's transaction: a basket's points, a bonus,
    an opening balance. Returns the entry; its key makes it happen once (a second credit with the
    same key is an IntegrityError)."""
    if kind not in CREDIT_KINDS or points <= 0:
        raise ValueError(f"a credit adds points: {kind} {points}")
    return append(account, kind, points, key=key, source=source, actor=actor, available_from=available_from,
                  expires_on=expires_on, basket=basket, rule=rule, explanation=explanation)


def spend(account: LoyaltyAccount, kind: str, points: int, *, key: str, source: str, actor: str,
          available_from: datetime | None = None, expires_on: date | None = None, basket=None,
          up_to_available: bool = False, overdraw: bool = False) -> int:
    """Take `points` (> 0) from the account, in the caller's transaction, under the account's lock
    (taken here, held to the commit). Refused with errors.InsufficientPoints when the available
    balance does not cover them; `up_to_available` takes what is available instead (a return under
    the reduce-refund policy); `overdraw` takes them all whatever the balance (a return that
    carries the debt, or that reverses points still pending). Returns the points taken (0: nothing
    appended)."""
    if kind not in DEBIT_KINDS or points <= 0:
        raise ValueError(f"a debit takes points: {kind} {points}")
    lock_account(account.pk)
    taken = points
    if not overdraw:
        available = balance(account.pk).available
        if up_to_available:
            taken = min(points, max(available, 0))
        elif available < points:
            raise errors.InsufficientPoints(f"{points} points needed, {max(available, 0)} available")
    if taken:
        append(account, kind, -taken, key=key, source=source, actor=actor, available_from=available_from,
               expires_on=expires_on, basket=basket)
    return taken


def credit_opening_balances(entries: list[PointsEntry]) -> None:
    """Append the balances (a debt too) carried over from a previous system, in bulk, in the
    caller's transaction (each entry's key makes it once: `opening_balance:<member number>`)."""
    if any(entry.kind != Kind.OPENING_BALANCE for entry in entries):
        raise ValueError("opening balances are opening_balance entries")
    PointsEntry.objects.bulk_create(entries)


def basket_credit_key(basket_id: int) -> str:
    """The idempotency key of the credit a basket earned: made of the basket's own id, unique
    because the basket's receipt is (`basket_receipt_once`, store, till and receipt in columns of
    their own), so no till or receipt id, whatever it contains, can make two baskets' keys meet."""
    return f"earn:{basket_id}"


#: `basket_credit_key` in SQL, of the column `basket_id` (an expression giving the basket's id).
BASKET_CREDIT_KEY_SQL = "'earn:' || {basket_id}"
#: `credit` of a basket's points in the statement that writes the basket (PostgreSQL, the
#: checkout's one-statement store): a CTE `credit` appending the entry for the row of the
#: statement's CTE `basket` (none when the receipt was already recorded) when it earned points,
#: with the statement's named parameters. The account's lock is the checkout's first read's.
BASKET_CREDIT_SQL = f"""credit AS (
    INSERT INTO loyalty_pointsentry (account_id, kind, amount, available_from, expires_on, source, basket_id,
                                     idempotency_key, rule_id, explanation, actor, created_at)
    SELECT %(account_id)s, %(kind)s, %(points_earned)s, %(available_from)s, %(expires_on)s, %(source)s, basket.id,
           {BASKET_CREDIT_KEY_SQL.format(basket_id="basket.id")}, NULL, %(result)s::jsonb -> 'explanation',
           %(actor)s, %(created_at)s
    FROM basket WHERE %(points_earned)s > 0
)"""


def expirable_points(account_id: int, due_by: date, available: int) -> int:
    """Points of the account whose expiry date is on or before `due_by` and that are not yet spent
    or expired, oldest first: credits due (net of their own reversals) minus every FIFO debit,
    never more than the available balance."""
    return expirable_points_by(account_id, [due_by], available)[0]


def expirable_points_by(account_id: int, due_dates: list[date], available: int) -> list[int]:
    """`expirable_points` by each of `due_dates`, in one query over the account's entries."""
    sums = PointsEntry.objects.filter(account_id=account_id).aggregate(
        consumed=Sum("amount", filter=Q(kind__in=FIFO_DEBIT_KINDS)),
        **{f"due_{n}": Sum("amount", filter=Q(expires_on__lte=due_by)) for n, due_by in enumerate(due_dates)},
    )
    consumed = sums["consumed"] or 0
    return [max(0, min((sums[f"due_{n}"] or 0) + consumed, available)) for n in range(len(due_dates))]


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
            spend(account, Kind.POINTS_EXPIRED, amount, key=f"expiry:{account_id}:{today.isoformat()}",
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


@dataclass(frozen=True)
class BasketCredit:
    """The points a recorded basket earned, as its ledger entry keeps them (see `append_basket_credits`)."""

    account_id: int
    basket_id: int
    key: str
    source: str
    points: int
    available_from: datetime
    expires_on: date
    explanation: list


def lock_accounts(account_ids) -> None:
    """Take the lock of every account in `account_ids` until the end of the transaction, the one a
    till's checkout takes for its member (`account_lock_sql`), in ascending account order so that
    two batches never wait for each other in a cycle (a till holds one account's lock at most).
    On SQLite, nothing: the IMMEDIATE transaction already holds the database's write lock."""
    if connection.vendor != "postgresql" or not account_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count({account_lock_sql('a')}) FROM "
                       "(SELECT a FROM unnest(%s::bigint[]) AS t(a) ORDER BY a OFFSET 0) AS accounts",
                       [sorted(set(account_ids))])


def append_basket_credits(credits: list[BasketCredit], actor: str) -> int:
    """Record, in one transaction, one `points_earned` entry per basket of `credits` (baskets
    already recorded, with their points), holding the lock of every account concerned as a till's
    checkout holds its member's, so a checkout for the same member waits for the batch to commit
    (or the batch for the checkout). Idempotent by basket: a credit whose key (the till's
    `earn:<store>/<till>/<receipt>`) is in the ledger already is not written again, and the ledger's
    unique key refuses it even from a concurrent writer. Returns the number of entries written."""
    ops = connection.ops
    with transaction.atomic():
        lock_accounts([credit.account_id for credit in credits])
        keys = [credit.key for credit in credits]
        written = set(PointsEntry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
        now = ops.adapt_datetimefield_value(now_utc())
        # Plain SQL (executemany): the ORM's bulk_create spent more time preparing the values than
        # the database spent writing them (benchmarks/bench_credit_history.py).
        rows = [(credit.account_id, Kind.POINTS_EARNED.value, credit.points,
                 ops.adapt_datetimefield_value(credit.available_from), ops.adapt_datefield_value(credit.expires_on),
                 credit.source, credit.basket_id, credit.key, ops.adapt_json_value(credit.explanation, None), actor, now)
                for credit in credits if credit.key not in written and credit.points > 0]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {PointsEntry._meta.db_table} (account_id, kind, amount, available_from, expires_on, "
                "source, basket_id, idempotency_key, explanation, actor, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
    return len(rows)
