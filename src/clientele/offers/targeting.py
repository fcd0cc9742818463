"""Coupon targeting: each (member, coupon) pair's chance of redeeming the coupon, from the lake's
history strictly before a date (decision 0112).

A pair is a member, a coupon (its products: the lake's `coupons` rows of its campaign) and the date
it is offered from (`as_of`). Its signals read only basket lines dated before that day and
redemptions dated before it:

- the member's coupon habit: redemptions before (count, campaigns, recency), campaigns that targeted
  them and ended before and how many they redeemed in, baskets with a coupon discount (share and
  count), manufacturer-matched lines;
- the member's shopping: baskets, spend, recency, baskets in the last four weeks;
- the pair: baskets, spend, recency and coupon-discounted lines of the coupon's products, how many
  of them, the share of the member's spend in the coupon's categories, departments, subcategories
  and manufacturers, this very coupon redeemed before, the coupon's rank among the member's coupons
  of the campaign and the member's percentile among the coupon's targets;
- the coupon: households that bought its products, its earlier redemptions, its products' count;
- the campaign: its type and how many coupons it offers (not its size nor its length: with a
  handful of earlier campaigns, such values only name a campaign and do not carry to the next).

One model per day, trained on the pairs of the campaigns that ENDED before `as_of` (their labels
are then final), outputs a calibrated probability: gradient boosting on a sample of the unredeemed
pairs, the odds corrected for the sampling, a few such models averaged; every campaign's scores
share one scale. With too few earlier redemptions to learn from, the score is the prior (the earlier
campaigns' redemption rate, else `DEFAULT_PRIOR`) times a relative chance fixed beforehand, not
fitted on labels: the member's coupon habit (coupon-discounted baskets, shrunk towards the targets'
share), "bought the coupon's products before" (with a coupon or not) and redemptions before; it is
divided by its mean over the pairs targeted by the day, so the mean stays the prior, and bounded
to `FALLBACK_BOUND` either way (decision 0112).

Decision 0119 adds candidate signals, chosen among on the early campaigns only (`VARIANTS`): the
counts as rates per week of history (V1, comparable across start days), the shrunk redemption rates
of the coupon's products and of the member by campaign type (V2), the member's share of lines bought
on display or in the mailer (V3). `FEATURES` is what the product's model reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from clientele.errors import ClienteleError

#: The lake's tables the signals read.
TABLES = ("basket_lines", "campaigns", "campaign_descriptions", "coupons", "coupon_redemptions", "products")
#: Read when the lake has it (the Complete Journey's display and mailer weeks), else empty (decision 0119's V3).
PROMOTIONS = "promotions"

FEATURES_0112 = [
    "bought_baskets", "bought_spend", "days_since_bought", "bought_products", "bought_coupon_lines",
    "bought_recent_baskets", "category_share", "department_share", "subcategory_share", "manufacturer_share",
    "category_coupon_lines", "coupon_redeemed_by_member",
    "member_redemptions", "member_redeemed_campaigns", "days_since_redemption",
    "member_targeted_ended", "member_redeemed_ended", "member_coupon_baskets", "member_coupon_basket_share",
    "member_match_lines", "member_baskets", "member_spend", "days_since_visit", "member_recent_baskets",
    "coupon_buyers", "coupon_redeemed_before", "coupon_products",
    "campaign_type_a", "campaign_type_b", "campaign_coupons",
    "rank_in_member_bought", "rank_in_member_subcategory", "rank_in_member_category", "percentile_in_coupon_bought",
]

#: Counts since the lake's first day that decision 0119's V1 turns into rates per week of history.
PER_WEEK = ["bought_baskets", "bought_spend", "bought_coupon_lines", "category_coupon_lines", "member_redemptions",
            "member_redeemed_campaigns", "member_coupon_baskets", "member_match_lines", "member_baskets", "member_spend",
            "coupon_redeemed_before"]
#: V1 (decision 0119): the same signals, each meaning the same on every start day.
FEATURES_V1 = ([name for name in FEATURES_0112 if name not in PER_WEEK + [
                   "member_targeted_ended", "member_redeemed_ended", "coupon_buyers"]]
               + [f"{name}_per_week" for name in PER_WEEK] + ["member_ended_rate", "coupon_penetration"])
#: V2: V1 plus the shrunk redemption rates of the coupon's products and of the member by campaign type.
FEATURES_V2 = FEATURES_V1 + ["coupon_product_rate", "member_type_rate"]
#: V3: V2 plus the member's share of lines bought on display and in the mailer.
FEATURES_V3 = FEATURES_V2 + ["member_display_share", "member_mailer_share"]
#: The variants of decision 0119, by name.
VARIANTS = {"V0": FEATURES_0112, "V1": FEATURES_V1, "V2": FEATURES_V2, "V3": FEATURES_V3}
#: The signals the product's model reads.
FEATURES = FEATURES_0112

#: Signals ranking each pair within its campaign: name -> (grouped by, ranked signal).
RANKS = {"rank_in_member_bought": ("customer_id", "bought_spend"),
         "rank_in_member_subcategory": ("customer_id", "subcategory_share"),
         "rank_in_member_category": ("customer_id", "category_share"),
         "percentile_in_coupon_bought": ("coupon_upc", "bought_spend")}
#: Signals whose rise can only raise the chance (+1) or lower it (-1): the model is held to them.
MONOTONE = {"bought_baskets": 1, "member_redemptions": 1, "member_redeemed_campaigns": 1, "member_redeemed_ended": 1,
            "coupon_redeemed_by_member": 1, "days_since_redemption": -1,
            "bought_baskets_per_week": 1, "member_redemptions_per_week": 1, "member_redeemed_campaigns_per_week": 1,
            "member_ended_rate": 1}
#: The chance of redemption assumed when no earlier campaign has labels to learn from.
DEFAULT_PRIOR = 0.005
#: Fewest earlier redemptions a model is trained on; below, the prior times the fallback's relative chance.
MIN_POSITIVES = 20
#: Baskets of the targets' average coupon habit a member's own coupon-basket share is shrunk with.
HABIT_SHRINK = 10
#: The fallback's relative chance stays within [1/FALLBACK_BOUND, FALLBACK_BOUND] x the prior.
FALLBACK_BOUND = 10.0
#: Share of the unredeemed pairs kept for training (they outnumber the redeemed ones ~300 to 1).
NEGATIVE_SAMPLE = 0.1
#: Models averaged, each trained on another sample of the unredeemed pairs.
BAGS = 5
#: Campaigns of the day's overall rate a member's own rate of campaigns redeemed in is shrunk with (V1, V2).
MEMBER_RATE_SHRINK = 2
#: Days standing for "never" in the recency signals.
NEVER = 400


class TargetingInputError(ClienteleError):
    """The pairs to score lack a column or a table is missing."""


def connect(lake: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake's tables the signals read as views."""
    con = duckdb.connect()
    for name in TABLES:
        folder = lake / name
        if not any(folder.rglob("*.parquet")):
            raise TargetingInputError(f"the lake at {lake} has no table {name!r}: import data first")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{folder}/**/*.parquet', "
                    "hive_partitioning = true, union_by_name = true)")
    folder = lake / PROMOTIONS
    if folder.exists() and any(folder.rglob("*.parquet")):
        con.execute(f"CREATE VIEW {PROMOTIONS} AS SELECT product_id, store_id, display_location, mailer_location, week "
                    f"FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true, union_by_name = true)")
    else:
        con.execute(f"CREATE VIEW {PROMOTIONS} AS SELECT NULL::BIGINT AS product_id, NULL::BIGINT AS store_id, "
                    "NULL::VARCHAR AS display_location, NULL::VARCHAR AS mailer_location, NULL::INTEGER AS week "
                    "WHERE false")
    return con


def campaign_pairs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every (campaign, targeted member, coupon of the campaign) with the campaign's start as
    `as_of`, its type and end, and `redeemed` (0/1: the member redeemed that coupon in that
    campaign) and `redeemed_on` (its first day, else null)."""
    return con.execute("""
        SELECT h.campaign_id, d.campaign_type, CAST(d.start_date AS DATE) AS as_of,
               CAST(d.end_date AS DATE) AS end_date, h.customer_id, c.coupon_upc,
               (r.customer_id IS NOT NULL)::INT AS redeemed, r.redeemed_on
        FROM campaigns h JOIN campaign_descriptions d USING (campaign_id)
        JOIN (SELECT DISTINCT campaign_id, coupon_upc FROM coupons) c USING (campaign_id)
        LEFT JOIN (SELECT campaign_id, customer_id, coupon_upc, min(CAST(redemption_date AS DATE)) AS redeemed_on
                   FROM coupon_redemptions GROUP BY ALL) r
               USING (campaign_id, customer_id, coupon_upc)
        ORDER BY as_of, h.campaign_id, h.customer_id, c.coupon_upc
    """).df()


def pair_signals(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> pd.DataFrame:
    """`pairs` (campaign_id, customer_id, coupon_upc, as_of) with FEATURES added, each computed from
    the basket lines and redemptions dated before the pair's `as_of` day only."""
    missing = {"campaign_id", "customer_id", "coupon_upc", "as_of"} - set(pairs.columns)
    if missing:
        raise TargetingInputError(f"the pairs to score lack the columns {sorted(missing)}")
    keys = pairs[["campaign_id", "customer_id", "coupon_upc", "as_of"]].copy()
    keys["as_of"] = pd.to_datetime(keys["as_of"]).dt.normalize()
    keys["_row"] = np.arange(len(keys))
    con.register("pairs_in", keys)
    try:
        con.execute(_SIGNALS)
        out = con.execute("SELECT * FROM signals ORDER BY _row").df()
    finally:
        con.unregister("pairs_in")
    signals = pairs.reset_index(drop=True).copy()
    for name in out.columns.drop("_row"):
        signals[name] = out[name].astype(float).to_numpy()
    _add_rates(signals)
    # how the coupon stands among the member's coupons of the campaign (a personalised campaign hands each
    # member the few coupons closest to their shopping) and the member among the coupon's targets
    for name, (group, signal) in RANKS.items():
        ranked = signals.groupby([signals["campaign_id"], signals[group]])[signal]
        signals[name] = (ranked.rank(ascending=False, method="min") if group == "customer_id"
                         else ranked.rank(pct=True, method="average"))
    return signals



def _add_rates(signals: pd.DataFrame) -> None:
    """Decision 0119's signals derived from the counts: rates per week of history, the coupon's
    penetration and the shrunk redemption rates (the prior rates are the day's, from the ended
    campaigns)."""
    weeks = signals["history_weeks"].clip(lower=1.0)
    for name in PER_WEEK:
        signals[f"{name}_per_week"] = signals[name] / weeks
    signals["coupon_penetration"] = signals["coupon_buyers"] / signals["day_households"].clip(lower=1.0)
    day_rate = signals["day_member_rate"]
    signals["member_ended_rate"] = ((signals["member_redeemed_ended"] + MEMBER_RATE_SHRINK * day_rate)
                                    / (signals["member_targeted_ended"] + MEMBER_RATE_SHRINK))
    type_rate = signals["day_type_rate"].where(signals["day_type_targeted"] > 0, day_rate)
    signals["member_type_rate"] = ((signals["member_type_redeemed"] + MEMBER_RATE_SHRINK * type_rate)
                                   / (signals["member_type_targeted"] + MEMBER_RATE_SHRINK))
    # one pseudo-redemption at the day's pair rate: the coupon's own rate counts once its pairs outweigh it
    pair_rate = signals["day_pair_rate"].where(signals["day_pair_rate"] > 0, DEFAULT_PRIOR)
    signals["coupon_product_rate"] = ((signals["coupon_product_redeemed"] + 1.0)
                                      / (signals["coupon_product_pairs"] + 1.0 / pair_rate))
    lines = signals["member_lines_promoted_weeks"].clip(lower=1.0)
    signals["member_display_share"] = signals["member_display_lines"] / lines
    signals["member_mailer_share"] = signals["member_mailer_lines"] / lines

_SIGNALS = """
CREATE OR REPLACE TEMP TABLE p AS
    SELECT _row, campaign_id, customer_id, coupon_upc, CAST(as_of AS DATE) AS as_of FROM pairs_in;
CREATE OR REPLACE TEMP TABLE offered AS SELECT DISTINCT campaign_id, coupon_upc, as_of FROM p;
CREATE OR REPLACE TEMP TABLE members_as_of AS SELECT DISTINCT customer_id, as_of FROM p;
CREATE OR REPLACE TEMP TABLE coupon_products AS
    SELECT DISTINCT o.campaign_id, o.coupon_upc, o.as_of, c.product_id
    FROM offered o JOIN coupons c USING (campaign_id, coupon_upc);
-- the coupons' products bought before each offer's day, by everyone (popularity) and per member
CREATE OR REPLACE TEMP TABLE bought AS
    SELECT cp.campaign_id, cp.coupon_upc, cp.as_of, l.customer_id,
           count(DISTINCT l.basket_id) AS baskets, sum(l.sales_value) AS spend,
           date_diff('day', max(CAST(l.transaction_ts AS DATE)), cp.as_of) AS days_since,
           count(DISTINCT l.product_id) AS products,
           count(*) FILTER (WHERE l.coupon_disc > 0) AS coupon_lines,
           count(DISTINCT l.basket_id) FILTER (WHERE l.transaction_ts >= cp.as_of - INTERVAL 56 DAY) AS recent_baskets
    FROM coupon_products cp
    JOIN basket_lines l ON l.product_id = cp.product_id AND l.transaction_ts < cp.as_of
    WHERE l.customer_id IS NOT NULL
    GROUP BY cp.campaign_id, cp.coupon_upc, cp.as_of, l.customer_id;
CREATE OR REPLACE TEMP TABLE popularity AS
    SELECT campaign_id, coupon_upc, as_of, count(*) AS buyers FROM bought GROUP BY ALL;
-- each member's days: baskets, spend, coupon use (only the members to score)
CREATE OR REPLACE TEMP TABLE member_days AS
    SELECT customer_id, CAST(transaction_ts AS DATE) AS day, count(DISTINCT basket_id) AS baskets,
           sum(sales_value) AS spend,
           count(DISTINCT basket_id) FILTER (WHERE coupon_disc > 0) AS coupon_baskets,
           count(*) FILTER (WHERE coupon_match_disc > 0) AS match_lines
    FROM basket_lines WHERE customer_id IN (SELECT customer_id FROM members_as_of)
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE member_shopping AS
    SELECT m.customer_id, m.as_of, sum(d.baskets) AS baskets, sum(d.spend) AS spend,
           sum(d.coupon_baskets) AS coupon_baskets, sum(d.match_lines) AS match_lines,
           date_diff('day', max(d.day), m.as_of) AS days_since_visit,
           coalesce(sum(d.baskets) FILTER (WHERE d.day >= m.as_of - INTERVAL 28 DAY), 0) AS recent_baskets
    FROM members_as_of m JOIN member_days d ON d.customer_id = m.customer_id AND d.day < m.as_of
    GROUP BY m.customer_id, m.as_of;
-- spend (and coupon-discounted lines) by category, department, subcategory and manufacturer before
-- each day, for the share of the member's spend in the coupon's ones
CREATE OR REPLACE TEMP TABLE member_group_days AS
    SELECT l.customer_id, CAST(l.transaction_ts AS DATE) AS day, pr.category, pr.department, pr.subcategory,
           pr.manufacturer_id, sum(l.sales_value) AS spend, count(*) FILTER (WHERE l.coupon_disc > 0) AS coupon_lines
    FROM basket_lines l JOIN products pr USING (product_id)
    WHERE l.customer_id IN (SELECT customer_id FROM members_as_of)
    GROUP BY ALL;
{group_spend}
-- redemptions dated before each day (any campaign, those still running included)
CREATE OR REPLACE TEMP TABLE member_redemptions AS
    SELECT m.customer_id, m.as_of, count(*) AS redemptions, count(DISTINCT r.campaign_id) AS campaigns,
           date_diff('day', max(CAST(r.redemption_date AS DATE)), m.as_of) AS days_since
    FROM members_as_of m JOIN coupon_redemptions r
         ON r.customer_id = m.customer_id AND CAST(r.redemption_date AS DATE) < m.as_of
    GROUP BY m.customer_id, m.as_of;
CREATE OR REPLACE TEMP TABLE member_campaigns AS
    SELECT m.customer_id, m.as_of, count(*) AS targeted_ended,
           count(*) FILTER (WHERE r.first_day < m.as_of) AS redeemed_ended
    FROM members_as_of m JOIN campaigns h ON h.customer_id = m.customer_id
    JOIN campaign_descriptions d ON d.campaign_id = h.campaign_id AND CAST(d.end_date AS DATE) < m.as_of
    LEFT JOIN (SELECT customer_id, campaign_id, min(CAST(redemption_date AS DATE)) AS first_day
               FROM coupon_redemptions GROUP BY ALL) r
         ON r.customer_id = m.customer_id AND r.campaign_id = h.campaign_id
    GROUP BY m.customer_id, m.as_of;
CREATE OR REPLACE TEMP TABLE coupon_history AS
    SELECT o.campaign_id, o.coupon_upc, o.as_of, count(r.customer_id) AS redeemed
    FROM offered o LEFT JOIN coupon_redemptions r
         ON r.coupon_upc = o.coupon_upc AND CAST(r.redemption_date AS DATE) < o.as_of
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE pair_history AS
    SELECT p._row, count(*) AS redeemed FROM p JOIN coupon_redemptions r
         ON r.customer_id = p.customer_id AND r.coupon_upc = p.coupon_upc AND CAST(r.redemption_date AS DATE) < p.as_of
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE coupon_sizes AS
    SELECT campaign_id, coupon_upc, as_of, count(*) AS products FROM coupon_products GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE campaign_facts AS
    SELECT d.campaign_id, d.campaign_type,
           (SELECT count(DISTINCT coupon_upc) FROM coupons c WHERE c.campaign_id = d.campaign_id) AS coupons
    FROM campaign_descriptions d;
-- decision 0119: the weeks of history and the households seen before each day
CREATE OR REPLACE TEMP TABLE days AS SELECT DISTINCT as_of FROM p;
CREATE OR REPLACE TEMP TABLE first_seen AS
    SELECT customer_id, min(CAST(transaction_ts AS DATE)) AS first_day FROM basket_lines
    WHERE customer_id IS NOT NULL GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE lake_start AS SELECT min(first_day) AS first_day FROM first_seen;
CREATE OR REPLACE TEMP TABLE day_facts AS
    SELECT d.as_of, greatest(date_diff('day', (SELECT first_day FROM lake_start), d.as_of), 0) / 7.0 AS weeks,
           count(f.customer_id) AS households
    FROM days d LEFT JOIN first_seen f ON f.first_day < d.as_of GROUP BY ALL;
-- the ended campaigns' redemption rates known on each day: per coupon, per household and type
CREATE OR REPLACE TEMP TABLE targeted_first_redemption AS
    SELECT r.campaign_id, r.customer_id, r.coupon_upc, min(CAST(r.redemption_date AS DATE)) AS day
    FROM coupon_redemptions r JOIN campaigns h USING (campaign_id, customer_id) GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE ended_coupons AS
    SELECT d.as_of, c.campaign_id, c.coupon_upc, s.households AS pairs, count(r.customer_id) AS redeemed
    FROM days d JOIN campaign_descriptions dd ON CAST(dd.end_date AS DATE) < d.as_of
    JOIN (SELECT DISTINCT campaign_id, coupon_upc FROM coupons) c ON c.campaign_id = dd.campaign_id
    JOIN (SELECT campaign_id, count(*) AS households FROM campaigns GROUP BY ALL) s ON s.campaign_id = c.campaign_id
    LEFT JOIN targeted_first_redemption r
         ON r.campaign_id = c.campaign_id AND r.coupon_upc = c.coupon_upc AND r.day < d.as_of
    GROUP BY d.as_of, c.campaign_id, c.coupon_upc, s.households;
CREATE OR REPLACE TEMP TABLE day_pair_rate AS
    SELECT as_of, sum(redeemed) / sum(pairs) AS rate FROM ended_coupons GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE coupon_product_history AS
    WITH links AS (SELECT DISTINCT cp.campaign_id, cp.coupon_upc, cp.as_of, c.campaign_id AS ended_campaign,
                          c.coupon_upc AS ended_coupon
                   FROM coupon_products cp JOIN coupons c ON c.product_id = cp.product_id)
    SELECT l.campaign_id, l.coupon_upc, l.as_of, sum(e.pairs) AS pairs, sum(e.redeemed) AS redeemed
    FROM links l JOIN ended_coupons e
         ON e.as_of = l.as_of AND e.campaign_id = l.ended_campaign AND e.coupon_upc = l.ended_coupon
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE household_campaigns AS
    SELECT d.as_of, dd.campaign_type, h.customer_id, (min(r.day) < d.as_of) AS redeemed
    FROM days d JOIN campaign_descriptions dd ON CAST(dd.end_date AS DATE) < d.as_of
    JOIN campaigns h ON h.campaign_id = dd.campaign_id
    LEFT JOIN targeted_first_redemption r ON r.campaign_id = h.campaign_id AND r.customer_id = h.customer_id
    GROUP BY d.as_of, dd.campaign_type, h.campaign_id, h.customer_id;
CREATE OR REPLACE TEMP TABLE day_member_rate AS
    SELECT as_of, count(*) FILTER (WHERE redeemed) / count(*) AS rate FROM household_campaigns GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE day_type_rate AS
    SELECT as_of, campaign_type, count(*) AS targeted, count(*) FILTER (WHERE redeemed) / count(*) AS rate
    FROM household_campaigns GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE member_type_history AS
    SELECT as_of, campaign_type, customer_id, count(*) AS targeted, count(*) FILTER (WHERE redeemed) AS redeemed
    FROM household_campaigns WHERE customer_id IN (SELECT customer_id FROM members_as_of) GROUP BY ALL;
-- the member's lines bought on display / in the mailer (promotions of weeks ended before the day;
-- week 1 starts on the lake's first day)
CREATE OR REPLACE TEMP TABLE promoted AS
    SELECT product_id, store_id, week,
           bool_or(CAST(display_location AS VARCHAR) <> '0') AS display,
           bool_or(CAST(mailer_location AS VARCHAR) <> '0') AS mailer
    FROM promotions WHERE product_id IN (SELECT DISTINCT product_id FROM basket_lines
                                         WHERE customer_id IN (SELECT customer_id FROM members_as_of))
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE member_promoted_weeks AS
    SELECT l.customer_id, w.week_end, count(*) AS lines,
           count(*) FILTER (WHERE pr.display) AS display_lines, count(*) FILTER (WHERE pr.mailer) AS mailer_lines
    FROM basket_lines l
    CROSS JOIN LATERAL (SELECT date_diff('day', (SELECT first_day FROM lake_start), CAST(l.transaction_ts AS DATE)) // 7 + 1
                               AS week) wk
    CROSS JOIN LATERAL (SELECT (SELECT first_day FROM lake_start) + CAST(7 * wk.week AS INTEGER) AS week_end) w
    LEFT JOIN promoted pr ON pr.product_id = l.product_id AND pr.store_id = l.store_id AND pr.week = wk.week
    WHERE l.customer_id IN (SELECT customer_id FROM members_as_of)
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE member_promotions AS
    SELECT m.customer_id, m.as_of, sum(w.lines) AS lines, sum(w.display_lines) AS display_lines,
           sum(w.mailer_lines) AS mailer_lines
    FROM members_as_of m JOIN member_promoted_weeks w ON w.customer_id = m.customer_id AND w.week_end <= m.as_of
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE signals AS
    SELECT p._row,
           coalesce(b.baskets, 0) AS bought_baskets, coalesce(b.spend, 0) AS bought_spend,
           coalesce(b.days_since, {never}) AS days_since_bought, coalesce(b.products, 0) AS bought_products,
           coalesce(b.coupon_lines, 0) AS bought_coupon_lines,
           coalesce(b.recent_baskets, 0) AS bought_recent_baskets,
           coalesce(cs.spend / nullif(ms.spend, 0), 0) AS category_share,
           coalesce(ds.spend / nullif(ms.spend, 0), 0) AS department_share,
           coalesce(ss.spend / nullif(ms.spend, 0), 0) AS subcategory_share,
           coalesce(mf.spend / nullif(ms.spend, 0), 0) AS manufacturer_share,
           coalesce(cs.coupon_lines, 0) AS category_coupon_lines,
           coalesce(ph.redeemed, 0) AS coupon_redeemed_by_member,
           coalesce(mr.redemptions, 0) AS member_redemptions, coalesce(mr.campaigns, 0) AS member_redeemed_campaigns,
           coalesce(mr.days_since, {never}) AS days_since_redemption,
           coalesce(mc.targeted_ended, 0) AS member_targeted_ended, coalesce(mc.redeemed_ended, 0) AS member_redeemed_ended,
           coalesce(ms.coupon_baskets, 0) AS member_coupon_baskets,
           coalesce(ms.coupon_baskets / nullif(ms.baskets, 0), 0) AS member_coupon_basket_share,
           coalesce(ms.match_lines, 0) AS member_match_lines, coalesce(ms.baskets, 0) AS member_baskets,
           coalesce(ms.spend, 0) AS member_spend, coalesce(ms.days_since_visit, {never}) AS days_since_visit,
           coalesce(ms.recent_baskets, 0) AS member_recent_baskets,
           coalesce(pop.buyers, 0) AS coupon_buyers, coalesce(ch.redeemed, 0) AS coupon_redeemed_before,
           coalesce(sz.products, 0) AS coupon_products,
           (cf.campaign_type = 'Type A')::INT AS campaign_type_a, (cf.campaign_type = 'Type B')::INT AS campaign_type_b,
           coalesce(cf.coupons, 0) AS campaign_coupons,
           coalesce(df.weeks, 0) AS history_weeks, coalesce(df.households, 0) AS day_households,
           coalesce(dpr.rate, 0) AS day_pair_rate, coalesce(dmr.rate, 0) AS day_member_rate,
           coalesce(dtr.rate, 0) AS day_type_rate, coalesce(dtr.targeted, 0) AS day_type_targeted,
           coalesce(cph.pairs, 0) AS coupon_product_pairs, coalesce(cph.redeemed, 0) AS coupon_product_redeemed,
           coalesce(mth.targeted, 0) AS member_type_targeted, coalesce(mth.redeemed, 0) AS member_type_redeemed,
           coalesce(mp.lines, 0) AS member_lines_promoted_weeks, coalesce(mp.display_lines, 0) AS member_display_lines,
           coalesce(mp.mailer_lines, 0) AS member_mailer_lines
    FROM p
    LEFT JOIN bought b USING (campaign_id, coupon_upc, as_of, customer_id)
    LEFT JOIN popularity pop USING (campaign_id, coupon_upc, as_of)
    LEFT JOIN coupon_history ch USING (campaign_id, coupon_upc, as_of)
    LEFT JOIN coupon_sizes sz USING (campaign_id, coupon_upc, as_of)
    LEFT JOIN member_shopping ms USING (customer_id, as_of)
    LEFT JOIN member_redemptions mr USING (customer_id, as_of)
    LEFT JOIN member_campaigns mc USING (customer_id, as_of)
    LEFT JOIN category_spend cs USING (_row)
    LEFT JOIN department_spend ds USING (_row)
    LEFT JOIN subcategory_spend ss USING (_row)
    LEFT JOIN manufacturer_id_spend mf USING (_row)
    LEFT JOIN pair_history ph USING (_row)
    LEFT JOIN campaign_facts cf USING (campaign_id)
    LEFT JOIN day_facts df USING (as_of)
    LEFT JOIN day_pair_rate dpr USING (as_of)
    LEFT JOIN day_member_rate dmr USING (as_of)
    LEFT JOIN day_type_rate dtr ON dtr.as_of = p.as_of AND dtr.campaign_type = cf.campaign_type
    LEFT JOIN coupon_product_history cph USING (campaign_id, coupon_upc, as_of)
    LEFT JOIN member_type_history mth
         ON mth.as_of = p.as_of AND mth.customer_id = p.customer_id AND mth.campaign_type = cf.campaign_type
    LEFT JOIN member_promotions mp USING (customer_id, as_of);
"""

#: The member's spend (and coupon lines) in the coupon's groups of products before the day, per group column.
_GROUP_SPEND = """
CREATE OR REPLACE TEMP TABLE coupon_{column}_groups AS
    SELECT DISTINCT cp.campaign_id, cp.coupon_upc, cp.as_of, pr.{column} FROM coupon_products cp
    JOIN products pr USING (product_id);
CREATE OR REPLACE TEMP TABLE {column}_spend AS
    SELECT p._row, sum(d.spend) AS spend, sum(d.coupon_lines) AS coupon_lines
    FROM p JOIN coupon_{column}_groups c USING (campaign_id, coupon_upc, as_of)
    JOIN (SELECT customer_id, day, {column}, sum(spend) AS spend, sum(coupon_lines) AS coupon_lines
          FROM member_group_days GROUP BY ALL) d
         ON d.customer_id = p.customer_id AND d.{column} = c.{column} AND d.day < p.as_of
    GROUP BY ALL;
"""
_SIGNALS = _SIGNALS.replace("{never}", str(NEVER)).replace("{group_spend}", "".join(
    _GROUP_SPEND.replace("{column}", column) for column in ("category", "department", "subcategory", "manufacturer_id")))


@dataclass
class TargetingModel:
    """The redemption model as of a day: a classifier and the sampling correction of its odds, or
    only a prior when too few earlier redemptions exist."""

    as_of: pd.Timestamp
    prior: float
    classifiers: tuple = ()
    log_odds_shift: float = 0.0
    #: Without classifiers: the targets' coupon-basket share and the mean relative chance on the day.
    coupon_share: float = 0.0
    reference: float = 1.0
    #: The signals the classifiers read, in order.
    features: tuple = tuple(FEATURES)

    def expected_redemption(self, signals: pd.DataFrame) -> np.ndarray:
        """Each pair's probability of redeeming its coupon (rows of `pair_signals`)."""
        if not self.classifiers:
            relative = relative_chance(signals, self.coupon_share) / self.reference
            return self.prior * np.clip(relative, 1.0 / FALLBACK_BOUND, FALLBACK_BOUND)
        values = signals[list(self.features)].to_numpy(float)
        chances = []
        for classifier in self.classifiers:
            raw = np.clip(classifier.predict_proba(values)[:, 1], 1e-9, 1 - 1e-9)
            chances.append(1.0 / (1.0 + np.exp(-(np.log(raw / (1 - raw)) + self.log_odds_shift))))
        return np.mean(chances, axis=0)


def relative_chance(signals: pd.DataFrame, coupon_share: float) -> np.ndarray:
    """The fallback's unnormalised chance of each pair, rising with the member's coupon habit, with
    "bought the coupon's products before" (and with a coupon) and with redemptions before: the
    signals known to predict a redemption, combined by a rule fixed beforehand (no label fitted)."""
    baskets = signals["member_baskets"].to_numpy(float)
    coupon_baskets = signals["member_coupon_baskets"].to_numpy(float)
    habit = (np.ones(len(signals)) if coupon_share <= 0 else
             (coupon_baskets + HABIT_SHRINK * coupon_share) / (baskets + HABIT_SHRINK) / coupon_share)
    interest = (1.0 + np.log1p(signals["bought_baskets"].to_numpy(float))
                + np.log1p(signals["bought_coupon_lines"].to_numpy(float)))
    redeemed = 1.0 + np.log1p(signals["member_redemptions"].to_numpy(float))
    return habit * interest * redeemed


def _fallback(history: pd.DataFrame, as_of: pd.Timestamp, prior: float) -> TargetingModel:
    """The prior with the relative chance normalised on the pairs targeted by `as_of` (their signals
    are as of their own starts, all known on the day): its mean there is 1, the scores' the prior."""
    known = history[pd.to_datetime(history["as_of"]) <= as_of]
    if known.empty:
        return TargetingModel(as_of, prior)
    baskets = known["member_baskets"].sum()
    share = float(known["member_coupon_baskets"].sum() / baskets) if baskets > 0 else 0.0
    reference = float(relative_chance(known, share).mean())
    return TargetingModel(as_of, prior, coupon_share=share, reference=reference)


def train(history: pd.DataFrame, as_of, seed: int = 0, features: list[str] | None = None) -> TargetingModel:
    """The model for pairs offered from `as_of`, learnt from the rows of `history` (pair_signals
    plus `end_date` and `redeemed_on`) whose campaign ended before `as_of`, on `features` (default
    FEATURES)."""
    features = list(features or FEATURES)
    as_of = pd.Timestamp(as_of).normalize()
    ended = history[pd.to_datetime(history["end_date"]) < as_of].copy()
    # a label counts only if known before the day (a redemption dated after its campaign's end is not)
    ended["redeemed"] = (pd.to_datetime(ended["redeemed_on"]) < as_of).astype(int)
    positives = int(ended["redeemed"].sum())
    if positives < MIN_POSITIVES:
        prior = positives / len(ended) if positives else DEFAULT_PRIOR
        return _fallback(history, as_of, prior)
    from sklearn.ensemble import HistGradientBoostingClassifier

    sampler = np.random.default_rng(seed)
    classifiers = []
    for bag in range(BAGS):  # each on its own sample of the unredeemed pairs, averaged
        kept = ended[(ended["redeemed"] == 1) | (sampler.random(len(ended)) < NEGATIVE_SAMPLE)]
        classifier = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0,
            random_state=seed + bag, monotonic_cst=[MONOTONE.get(name, 0) for name in features])
        classifiers.append(classifier.fit(kept[features].to_numpy(float), kept["redeemed"].to_numpy()))
    return TargetingModel(as_of, positives / len(ended), tuple(classifiers), float(np.log(NEGATIVE_SAMPLE)),
                          features=tuple(features))


def score(history: pd.DataFrame, signals: pd.DataFrame, features: list[str] | None = None) -> pd.Series:
    """Each row of `signals` (pair_signals) scored by the model of its `as_of` day, trained on
    `history` (on `features`, default FEATURES); days whose earlier campaigns are the same share
    one model."""
    scores = pd.Series(np.nan, index=signals.index)
    ends = pd.to_datetime(history["end_date"])
    models: dict[tuple, TargetingModel] = {}
    for as_of, rows in signals.groupby(pd.to_datetime(signals["as_of"]).dt.normalize()):
        # the same ended campaigns with the same labels known give the same training rows
        ended = history[ends < as_of]
        key = (tuple(sorted(ended["campaign_id"].unique())), int((pd.to_datetime(ended["redeemed_on"]) < as_of).sum()))
        if key[1] < MIN_POSITIVES:  # the fallback is normalised on the pairs targeted by the day
            key += (as_of,)
        if key not in models:
            models[key] = train(history, as_of, features=features)
        scores[rows.index] = models[key].expected_redemption(rows)
    return scores


def expected_redemptions(lake: Path, pairs: pd.DataFrame) -> pd.Series:
    """Each pair's probability of redemption (pairs: campaign_id, customer_id, coupon_upc, as_of),
    each as_of scored by the model trained on the campaigns ended before it."""
    con = connect(lake)
    try:
        history = pair_signals(con, campaign_pairs(con))
        signals = pair_signals(con, pairs)
    finally:
        con.close()
    return score(history, signals).set_axis(pairs.index)
