"""Crediting the lake's purchase history through the programme's own earning rules, in batches.

`clientele loyalty credit-history` gives every member's past baskets (the Complete Journey's 2017,
or any imported POS history) the points the programme's rules give them, as the till would have:
each basket becomes a recorded basket of the till `lake` (store + `lake` + the lake's basket id: the
till's receipt key) with one `points_earned` ledger entry keyed as the till keys its credits. Its
lines stay in the lake (they are not copied: docs/decisions/0025-history-credited-in-batches.md).

A batch is one transaction holding the lock of each of its members' accounts (`ledger.lock_accounts`):
a basket recorded already is never credited again, so a run killed at any point is resumed by running
it again, and a second run adds nothing. The lines the till itself posted (`lake sync`) are left out:
the till credited them. At the end the tier review runs as of the last basket's day, so each member's
tier is the one their 12 months of spend earn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pyarrow as pa
from django.db import connection, transaction
from django.db.models import Max

from clientele.catalog.models import Product, Store
from clientele.errors import ClienteleError
from clientele.lake.schema import BASKET_LINES
from clientele.lake.store import Lake
from clientele.loyalty import ledger
from clientele.loyalty.checkout import ProductFacts
from clientele.loyalty.lake_sync import SOURCE as TILL_SOURCE
from clientele.loyalty.models import Basket, EarningRule, LoyaltyAccount, Programme, TierChange
from clientele.loyalty.rules import EarningContext, LineToEarn, active_rules, earn_on_basket
from clientele.loyalty.tiers import review_tiers
from clientele.members.models import Card, Member

#: The till the history's baskets are recorded under: store + `lake` + basket id is their receipt.
HISTORY_TILL = "lake"
ACTOR = "command:loyalty credit-history"
BATCH = 2_000
CENT = Decimal("0.01")
RECEIPT_LENGTH = Basket._meta.get_field("receipt_number").max_length

#: The lake's baskets not recorded yet, each with its lines as lists, in each member's order of time.
_BASKETS = """
SELECT l.basket_id, any_value(l.customer_id) AS customer_id, min(l.store_id) AS store_id,
       min(l.transaction_ts) AS transaction_ts, any_value(l.card_barcode) AS card_barcode,
       any_value(l.channel) AS channel, any_value(l.import_id) AS import_id,
       list(l.product_id ORDER BY l.line_no, l.product_id) AS product_ids,
       list(l.sales_value ORDER BY l.line_no, l.product_id) AS sales_values
FROM read_parquet('{lines}', hive_partitioning = true) AS l
WHERE l.source_file IS DISTINCT FROM '{till_source}'
  AND l.basket_id NOT IN (SELECT receipt_number FROM recorded)
GROUP BY l.basket_id
ORDER BY customer_id NULLS FIRST, transaction_ts, l.basket_id
"""


@dataclass
class HistoryCredit:
    """What a run did: baskets found in the lake not yet recorded, credited, points given, and
    the baskets left out with the reason for each (counted by reason)."""

    baskets: int = 0
    credited: int = 0
    points: int = 0
    ledger_entries: int = 0
    skipped: Counter = field(default_factory=Counter)
    lines_of_unknown_products: int = 0
    tiers_reviewed_on: date | None = None
    tier_moves: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"baskets_to_credit": self.baskets, "baskets_credited": self.credited, "points_credited": self.points,
                "ledger_entries": self.ledger_entries, "baskets_skipped": sum(self.skipped.values()),
                "skipped_reasons": dict(self.skipped), "lines_of_unknown_products": self.lines_of_unknown_products,
                "tiers_reviewed_on": self.tiers_reviewed_on.isoformat() if self.tiers_reviewed_on else None,
                "tier_moves": self.tier_moves}


class NoBaseRule(ClienteleError):
    """The programme has no active base earning rule: crediting would give nothing."""


@dataclass
class _Run:
    """What every batch of a run looks up: members, cards, accounts, stores, products and rules."""

    members: dict[int, int]
    accounts: dict[int, int]
    cards: dict[str, int]
    zones: dict[int, ZoneInfo]
    products: dict[int, ProductFacts]
    programme: Programme
    has_daily_cap: bool
    rules_by_day: dict[date, list[EarningRule]] = field(default_factory=dict)

    def rules(self, day: date) -> list[EarningRule]:
        if day not in self.rules_by_day:
            self.rules_by_day[day] = active_rules(day)
        return self.rules_by_day[day]


def credit_history(lake: Lake | None = None, batch: int = BATCH,
                   on_progress: Callable[[int, int], None] | None = None) -> HistoryCredit:
    """Credit every member's baskets in the lake that are not recorded yet through the programme's
    earning rules, `batch` baskets per transaction, then review the tiers as of the last basket's
    day. `on_progress(done, total)` is told after each batch. Returns what was credited and skipped.
    Raises NoBaseRule when no base rule would give any point."""
    if not any(rule.kind == EarningRule.Kind.BASE for rule in EarningRule.objects.filter(active=True)):
        raise NoBaseRule("the programme has no active base earning rule: run `clientele loyalty default-programme` "
                         "or add one in the back office (/admin/) before crediting the history")
    lake = lake or Lake()
    report = HistoryCredit()
    if lake.has_table(BASKET_LINES):
        _credit_baskets(lake, batch, report, on_progress or (lambda done, total: None))
    _review_tiers_after(report)
    return report


def _credit_baskets(lake: Lake, batch: int, report: HistoryCredit, on_progress) -> None:
    con = lake.connect()
    recorded = Basket.objects.filter(till_id=HISTORY_TILL).values_list("receipt_number", flat=True)
    con.register("recorded", pa.table({"receipt_number": pa.array(list(recorded), pa.string())}))
    con.execute(f"CREATE TEMP TABLE to_credit AS {_BASKETS.format(lines=lake.parquet_glob(BASKET_LINES), till_source=TILL_SOURCE)}")
    report.baskets = con.execute("SELECT count(*) FROM to_credit").fetchone()[0]
    if report.baskets == 0:
        con.close()
        return
    run = _prepare(con)
    result = con.execute("SELECT * FROM to_credit")
    done = 0
    while rows := result.fetchmany(batch):
        _credit_batch(rows, run, report)
        done += len(rows)
        on_progress(done, report.baskets)
    con.close()


def _prepare(con) -> _Run:
    """Open a points account for every member with a basket to credit, and read what batches look up."""
    customers = [row[0] for row in con.execute("SELECT DISTINCT customer_id FROM to_credit "
                                               "WHERE customer_id IS NOT NULL").fetchall()]
    members = {}
    for start in range(0, len(customers), 10_000):
        members |= dict(Member.objects.filter(customer_id__in=customers[start:start + 10_000])
                        .values_list("customer_id", "id"))
    with transaction.atomic():
        LoyaltyAccount.objects.bulk_create([LoyaltyAccount(member_id=m) for m in members.values()],
                                           ignore_conflicts=True, batch_size=5_000)
    accounts = dict(LoyaltyAccount.objects.values_list("member_id", "id"))
    barcodes = [row[0] for row in con.execute("SELECT DISTINCT card_barcode FROM to_credit "
                                              "WHERE card_barcode IS NOT NULL").fetchall()]
    cards = {}
    for start in range(0, len(barcodes), 10_000):
        cards |= dict(Card.objects.filter(barcode__in=barcodes[start:start + 10_000]).values_list("barcode", "id"))
    zones = {store: ZoneInfo(zone) for store, zone in Store.objects.values_list("store_id", "timezone")}
    products = {row[0]: ProductFacts(*row) for row in
                Product.objects.values_list("product_id", "department", "category", "brand_type").iterator(10_000)}
    has_daily_cap = EarningRule.objects.filter(active=True, kind=EarningRule.Kind.DAILY_CAP).exists()
    return _Run(members, accounts, cards, zones, products, Programme.current(), has_daily_cap)


class _Earned(NamedTuple):
    """A basket to record (`basket`: the values of `BASKET_COLUMNS`) and what its ledger credit keeps."""

    basket: tuple
    account_id: int
    points: int
    available_from: datetime
    expires_on: date
    explanation: list


BASKET_COLUMNS = ("store_id", "till_id", "receipt_number", "transacted_at", "member_id", "card_id", "channel", "total",
                  "points_earned", "request_hash", "result", "actor", "created_at", "lake_import_id", "synced_at")
_INSERT_BASKETS = (f"INSERT INTO {Basket._meta.db_table} ({', '.join(BASKET_COLUMNS)}) "
                   f"VALUES ({', '.join(['%s'] * len(BASKET_COLUMNS))})")


def _credit_batch(rows: list[tuple], run: _Run, report: HistoryCredit) -> None:
    """Record and credit one batch of baskets in one transaction, under its members' account locks."""
    creditable = []
    for row in rows:
        reason = _reason_to_skip(row, run)
        if reason:
            report.skipped[reason] += 1
        else:
            creditable.append(row)
    if not creditable:
        return
    account_ids = {run.accounts[run.members[row[1]]] for row in creditable}
    member_ids = {run.members[row[1]] for row in creditable}
    with transaction.atomic():
        ledger.lock_accounts(account_ids)
        # Read under the locks: a concurrent run (or a till's basket of the same receipt) has committed.
        recorded = set(_recorded(member_ids, [row[0] for row in creditable]))
        tiers = {account.pk: account.tier for account in
                 LoyaltyAccount.objects.filter(pk__in=account_ids).select_related("tier")}
        earned_on_day = _earned_on_days(creditable, run) if run.has_daily_cap else Counter()
        now = connection.ops.adapt_datetimefield_value(ledger.now_utc())
        earned = [_earn(row, run, tiers, earned_on_day, now, report) for row in creditable
                  if (row[2], row[0]) not in recorded]
        # Plain SQL (executemany): the ORM's bulk_create spent more time preparing values than the
        # database spent writing them; the new baskets' ids are then read by their receipt key.
        with connection.cursor() as cursor:
            cursor.executemany(_INSERT_BASKETS, [item.basket for item in earned])
        ids = {(store, receipt): pk for pk, store, receipt in _recorded(member_ids, [item.basket[2] for item in earned],
                                                                          with_id=True)}
        credits = []
        for item in earned:
            receipt = f"{item.basket[0]}/{HISTORY_TILL}/{item.basket[2]}"
            credits.append(ledger.BasketCredit(
                account_id=item.account_id, basket_id=ids[(item.basket[0], item.basket[2])], key=f"earn:{receipt}",
                source=f"basket {receipt}", points=item.points, available_from=item.available_from,
                expires_on=item.expires_on, explanation=item.explanation))
        report.ledger_entries += ledger.append_basket_credits(credits, ACTOR)
    report.credited += len(earned)
    report.points += sum(item.points for item in earned)


def _recorded(member_ids: set[int], receipts: list[str], with_id: bool = False):
    """(store, receipt number) of the members' history baskets recorded among `receipts` (with the
    basket's id first when `with_id`), found through the (member, time) index: a batch holds the
    baskets of a few members, where the receipt's index would be probed once per store and receipt."""
    fields = ("id", "store_id", "receipt_number") if with_id else ("store_id", "receipt_number")
    return Basket.objects.filter(member_id__in=member_ids, till_id=HISTORY_TILL,
                                 receipt_number__in=receipts).values_list(*fields)


def _reason_to_skip(row: tuple, run: _Run) -> str | None:
    basket_id, customer_id, store_id = row[0], row[1], row[2]
    if customer_id is None:
        return "anonymous basket (no customer)"
    if customer_id not in run.members:
        return "customer is not a member"
    if store_id not in run.zones:
        return "store not in the catalogue"
    if len(basket_id) > RECEIPT_LENGTH:
        return f"basket id longer than {RECEIPT_LENGTH} characters"
    return None


def _earn(row: tuple, run: _Run, tiers: dict, earned_on_day: Counter, now, report: HistoryCredit) -> _Earned:
    """The basket to record and its credit, earned as the till earns: the rules in force on the
    store-local day, the member's tier now, what they earned earlier that day (for a daily cap)."""
    basket_id, customer_id, store_id, local_ts, barcode, channel, import_id, product_ids, sales_values = row
    member_id = run.members[customer_id]
    account_id = run.accounts[member_id]
    local_time = local_ts.replace(tzinfo=run.zones[store_id])
    lines = []
    for line_no, (product_id, sales_value) in enumerate(zip(product_ids, sales_values), start=1):
        product = run.products.get(product_id)
        if product is None:
            report.lines_of_unknown_products += 1
            product = ProductFacts(product_id, "", "", "")  # no department, category or brand: base points only
        lines.append(LineToEarn(line_no, product, sales_value))
    day_key = (member_id, local_time.date())
    context = EarningContext(store_id, local_time, tiers[account_id], earned_on_day[day_key])
    earning = earn_on_basket(lines, context, run.rules(local_time.date()))
    earned_on_day[day_key] += earning.total
    transacted_at = local_time.astimezone(timezone.utc)
    total = sum(sales_values, Decimal(0)).quantize(CENT)
    result = {"receipt": f"{store_id}/{HISTORY_TILL}/{basket_id}", "total": str(total),
              "points_earned": earning.total}
    ops = connection.ops
    # Its lines came from the lake (`import_id`) and are marked synced: `lake sync` never sends them again.
    basket = (store_id, HISTORY_TILL, basket_id, ops.adapt_datetimefield_value(transacted_at), member_id,
              run.cards.get(barcode), channel or "store", total, earning.total, "", ops.adapt_json_value(result, None),
              ACTOR, now, (import_id or "")[:32], now)
    return _Earned(basket, account_id, earning.total, transacted_at + timedelta(days=run.programme.return_window_days),
                   ledger.add_months(local_time.date(), run.programme.expiry_months), earning.explanation)


def _earned_on_days(rows: list[tuple], run: _Run) -> Counter:
    """Points the batch's members earned on recorded baskets of the batch's store-local days (for a
    daily cap), by (member, day)."""
    member_ids = {run.members[row[1]] for row in rows}
    first = min(row[3] for row in rows) - timedelta(days=2)
    last = max(row[3] for row in rows) + timedelta(days=2)
    earned = Counter()
    recorded = Basket.objects.filter(member_id__in=member_ids, transacted_at__gte=first.replace(tzinfo=timezone.utc),
                                     transacted_at__lt=last.replace(tzinfo=timezone.utc))
    for member_id, store_id, moment, points in recorded.values_list("member_id", "store_id", "transacted_at",
                                                                    "points_earned"):
        zone = run.zones.get(store_id, timezone.utc)
        earned[(member_id, moment.astimezone(zone).date())] += points
    return earned


def _review_tiers_after(report: HistoryCredit) -> None:
    """Review the tiers as of the last recorded history basket's (UTC) day, when this run credited
    baskets or no review has been run since that day (a run killed before its review)."""
    last = Basket.objects.filter(till_id=HISTORY_TILL).aggregate(last=Max("transacted_at"))["last"]
    if last is None:
        return
    day = last.astimezone(timezone.utc).date()
    if report.credited or not TierChange.objects.filter(reviewed_on__gte=day).exists():
        report.tier_moves = review_tiers(day)
        report.tiers_reviewed_on = day
