"""The tier review: members move up and down on 12-month spend and visits, never on the balance.

A member who qualifies for a higher tier moves up at once. One who falls below the current tier's
thresholds keeps it for the programme's grace period, then moves down to the tier they qualify
for; qualifying again during the grace period ends it. Every move and grace period is recorded
with its reason and the figures behind it.

The review is set-based, a few SQL statements whatever the number of members (3 million accounts
review in minutes, docs/benchmarks.md): one statement decides every account's outcome into a
temporary table of the moves, one records them as `TierChange` rows with their reasons, one
updates the accounts. It runs in one transaction: a review happens for every member or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

from django.db import connection, transaction

from clientele.loyalty.models import Basket, BasketReturn, LoyaltyAccount, Programme, Tier, TierChange

OUTCOMES = ("promoted", "demoted", "grace_started", "grace_ended")
MOVES = "loyalty_tier_moves"  # the review's temporary table


def _tables() -> dict[str, str]:
    return {"moves": MOVES, "account": LoyaltyAccount._meta.db_table, "basket": Basket._meta.db_table,
            "returns": BasketReturn._meta.db_table, "tier": Tier._meta.db_table,
            "change": TierChange._meta.db_table}


def _money_text(column: str) -> str:
    """SQL writing a money column with two decimals, e.g. 600.00 (SQLite sums decimals as floats)."""
    if connection.vendor == "sqlite":
        return f"printf('%%.2f', {column})"
    return f"CAST(CAST({column} AS NUMERIC(14, 2)) AS TEXT)"


def _target_tier_sql(tiers: list[Tier]) -> tuple[str, list]:
    """A CASE giving the highest tier whose thresholds `spend` and `visits` meet, and its parameters."""
    if not tiers:
        return "CAST(NULL AS BIGINT)", []
    whens = " ".join("WHEN spend >= CAST(%s AS NUMERIC) AND visits >= %s THEN %s" for _ in tiers)
    params = [value for tier in reversed(tiers) for value in (tier.min_spend_12m, tier.min_visits_12m, tier.pk)]
    return f"CASE {whens} ELSE NULL END", params


# Every account with its 12-month figures, the tier they earn and the outcome of the review; only
# the accounts that move (or enter or leave a grace period) are kept.
DECIDE_SQL = """
CREATE TEMPORARY TABLE {moves} AS
WITH spend AS (
    SELECT member_id, ROUND(SUM(total), 2) AS spend, COUNT(*) AS visits FROM {basket}
    WHERE member_id IS NOT NULL AND transacted_at >= %s AND transacted_at < %s GROUP BY member_id
), refunds AS (
    SELECT b.member_id, ROUND(SUM(r.refund), 2) AS refunded FROM {returns} r JOIN {basket} b ON b.id = r.basket_id
    WHERE b.member_id IS NOT NULL AND r.returned_at >= %s GROUP BY b.member_id
), figures AS (
    SELECT a.id AS account_id, a.tier_id, a.tier_grace_until,
           COALESCE(s.spend - COALESCE(r.refunded, 0), 0) AS spend, COALESCE(s.visits, 0) AS visits
    FROM {account} a LEFT JOIN spend s ON s.member_id = a.member_id LEFT JOIN refunds r ON r.member_id = a.member_id
), targeted AS (
    SELECT figures.*, {target} AS target_id FROM figures
), decided AS (
    SELECT t.*, COALESCE(current_tier.rank, -1) AS current_rank, COALESCE(target_tier.rank, -1) AS target_rank
    FROM targeted t LEFT JOIN {tier} current_tier ON current_tier.id = t.tier_id
    LEFT JOIN {tier} target_tier ON target_tier.id = t.target_id
), outcomes AS (
    SELECT account_id, tier_id AS from_tier_id, target_id, spend, visits,
           CASE
               WHEN target_rank = current_rank THEN
                   CASE WHEN tier_grace_until IS NULL THEN 'unchanged' ELSE 'grace_ended' END
               WHEN target_rank > current_rank THEN 'promoted'
               WHEN tier_grace_until IS NULL AND %s > 0 THEN 'grace_started'
               WHEN tier_grace_until > %s THEN 'unchanged'
               ELSE 'demoted'
           END AS outcome
    FROM decided
)
SELECT account_id, from_tier_id, outcome, spend, visits,
       CASE WHEN outcome IN ('promoted', 'demoted') THEN target_id ELSE from_tier_id END AS to_tier_id
FROM outcomes WHERE outcome <> 'unchanged'
"""

# The reasons read as the per-member review used to write them (docs/loyalty.md, "Tiers").
RECORD_SQL = """
INSERT INTO {change} (account_id, from_tier_id, to_tier_id, reason, spend_12m, visits_12m, reviewed_on)
SELECT m.account_id, m.from_tier_id, m.to_tier_id,
       CASE m.outcome
           WHEN 'promoted' THEN 'promoted: meets the thresholds of ' || to_tier.name || ' (' || {figures} || ')'
           WHEN 'grace_ended' THEN 'qualifies again for ' || from_tier.name || ': grace period ended ('
                || {figures} || ')'
           WHEN 'grace_started' THEN 'below the thresholds of ' || from_tier.name || ' (' || {figures}
                || '): kept until ' || %s
           ELSE 'demoted: grace period over, qualifies for ' || COALESCE(to_tier.name, 'no tier') || ' ('
                || {figures} || ')'
       END,
       m.spend, m.visits, %s
FROM {moves} m LEFT JOIN {tier} from_tier ON from_tier.id = m.from_tier_id
LEFT JOIN {tier} to_tier ON to_tier.id = m.to_tier_id
"""

MOVE_SQL = """
UPDATE {account} SET
    tier_id = m.to_tier_id,
    tier_since = CASE WHEN m.outcome IN ('promoted', 'demoted') THEN %s ELSE {account}.tier_since END,
    tier_grace_until = CASE WHEN m.outcome = 'grace_started' THEN %s ELSE NULL END
FROM {moves} m WHERE {account}.id = m.account_id
"""


def review_tiers(today: date, on_step: Callable[[str], None] | None = None) -> dict[str, int]:
    """Move every member to the tier their last 12 months earn, with the grace period on the way
    down, and record why. Returns how many members moved up, moved down, entered grace, left it,
    and were unchanged. `on_step` is told each step as it starts (for a progress display)."""
    step = on_step or (lambda name: None)
    tiers = list(Tier.objects.order_by("rank"))
    # The 12 months are UTC days: from 364 days before `today` to the end of `today`.
    window_start = connection.ops.adapt_datetimefield_value(
        datetime.combine(today - timedelta(days=364), time.min, tzinfo=timezone.utc))
    window_end = connection.ops.adapt_datetimefield_value(
        datetime.combine(today + timedelta(days=1), time.min, tzinfo=timezone.utc))
    target, target_params = _target_tier_sql(tiers)
    names = _tables()
    figures = (f"'12-month spend ' || {_money_text('m.spend')} || ', ' || CAST(m.visits AS TEXT) || ' visits'")
    with transaction.atomic(), connection.cursor() as cursor:
        # Locking the programme's row makes two reviews started together run one after the other
        # (the second sees the first's moves).
        grace_days = Programme.objects.select_for_update().get(pk=Programme.current().pk).tier_grace_days
        grace_until = today + timedelta(days=grace_days)
        day, grace_day = connection.ops.adapt_datefield_value(today), connection.ops.adapt_datefield_value(grace_until)
        cursor.execute(f"DROP TABLE IF EXISTS {MOVES}")
        step("12-month activity and the tier each member earns")
        cursor.execute(DECIDE_SQL.format(target=target, **names),
                       [window_start, window_end, window_start, *target_params, grace_days, day])
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {MOVES}")
        step("recording the reasons")
        cursor.execute(RECORD_SQL.format(figures=figures, **names), [grace_until.isoformat(), day])
        step("moving the members")
        cursor.execute(MOVE_SQL.format(**names), [day, grace_day])
        cursor.execute(f"SELECT outcome, COUNT(*) FROM {MOVES} GROUP BY outcome")
        counts = dict.fromkeys(OUTCOMES, 0) | dict(cursor.fetchall())
        cursor.execute(f"SELECT COUNT(*) FROM {names['account']}")
        counts["unchanged"] = cursor.fetchone()[0] - sum(counts.values())
        cursor.execute(f"DROP TABLE {MOVES}")
    return counts
