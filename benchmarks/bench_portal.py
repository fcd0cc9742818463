"""The member portal's account page and its API call, server time with 3M members (PostgreSQL):
p95 of GET /portal/account/ (the page: the card's barcode drawn, history, expiry, tier progress,
rewards) and of GET /api/portal/account (target <= 150 ms each).

The members, cards, accounts and opening balances are seeded as bench_checkout seeds them (its
`prepare`, on a database of this benchmark's own); the programme's tiers and rewards are the default
programme's. Then `--shoppers` members (the ones measured) get a weekly shopper's two years: 104
baskets, each with its `points_earned` ledger entry (the last 30 days' still pending), a redemption
every quarter, a tier, and a live portal session; every other member keeps the seed's opening
balance, so the tables hold 3M members' accounts, cards and entries around the measured ones. The
pages are asked through Django's test client, in process: server time without the network, each
request for a random shopper. The reference in the same run: GET /api/portal/profile (the same
session check and one member row), the floor under every call at this moment's machine load.
Prints its figures; asserts nothing on time.

    CLIENTELE_BENCH_DB=bench_i25_portal python benchmarks/bench_portal.py [--members 3000000]
        [--shoppers 20000] [--requests 300]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_checkout  # noqa: E402  (its seeding, reused)

bench_checkout.BENCH_DB = os.environ.get("CLIENTELE_BENCH_DB", "bench_i25_portal")

#: A weekly shopper's two years for members 1..%(shoppers)s: baskets, their credits, quarterly
#: redemptions; then each one's tier (Silver) and a portal session of token 'bench-<customer_id>'.
HISTORY_SQL = """
INSERT INTO loyalty_basket (store_id, till_id, receipt_number, transacted_at, member_id, channel, total, points_earned,
  request_hash, result, actor, created_at, lake_import_id)
SELECT 1, 'bench', m.customer_id || '-' || w, now() - (w * 7 || ' days')::interval - interval '2 hours', m.id, 'store',
  20 + (m.customer_id + w) % 60, 20 + (m.customer_id + w) % 60, '', '{}', 'benchmark', now(), ''
FROM members_member m, generate_series(0, 103) AS w WHERE m.customer_id <= %(shoppers)s;
INSERT INTO loyalty_pointsentry (account_id, kind, amount, available_from, expires_on, source, basket_id, idempotency_key,
  explanation, actor, created_at)
SELECT a.id, 'points_earned', b.points_earned, b.transacted_at + interval '30 days', (b.transacted_at + interval '24 months')::date,
  'basket 1/bench/' || b.receipt_number, b.id, 'earn:' || b.id,
  '[{"rule": "1 point per dollar", "rule_id": 1, "version": 1, "points": 1}]', 'benchmark', b.transacted_at
FROM loyalty_basket b JOIN loyalty_loyaltyaccount a ON a.member_id = b.member_id WHERE b.till_id = 'bench';
INSERT INTO loyalty_pointsentry (account_id, kind, amount, available_from, source, idempotency_key, explanation, actor,
  created_at)
SELECT a.id, 'points_redeemed', -500, now() - (q * 91 || ' days')::interval, 'reward VOUCHER-5',
  'redeem:bench:' || a.id || ':' || q, '[]', 'benchmark', now() - (q * 91 || ' days')::interval
FROM loyalty_loyaltyaccount a JOIN members_member m ON m.id = a.member_id, generate_series(1, 7) AS q
WHERE m.customer_id <= %(shoppers)s;
UPDATE loyalty_loyaltyaccount a SET tier_id = (SELECT id FROM loyalty_tier WHERE name = 'Silver'), tier_since = current_date
FROM members_member m WHERE m.id = a.member_id AND m.customer_id <= %(shoppers)s;
INSERT INTO portal_portalsession (token_hash, member_id, created_at, expires_at)
SELECT encode(sha256(('bench-' || customer_id)::bytea), 'hex'), id, now(), now() + interval '10 years'
FROM members_member WHERE customer_id <= %(shoppers)s;
"""


def programme_tiers_and_rewards() -> None:
    """The default programme's tiers and rewards (its earning rules are bench_checkout's)."""
    from clientele.loyalty.default_programme import DEFAULT_FILE
    from clientele.loyalty.models import Reward, Tier

    programme = tomllib.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    for tier in programme["tiers"]:
        Tier.objects.get_or_create(name=tier["name"], defaults=tier)
    for reward in programme["rewards"]:
        Reward.objects.get_or_create(code=reward["code"], defaults=reward)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def timed(client, url: str, **headers) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed


def describe(name: str, samples: list[float], floor: list[float]) -> str:
    return (f"{name}: p50 {statistics.median(samples):.1f}, p95 {p95(samples):.1f} ms (target <= 150); "
            f"ratio of the p50s to the reference {statistics.median(samples) / statistics.median(floor):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=3_000_000)
    parser.add_argument("--shoppers", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    bench_checkout.prepare(args.members, args.members, fresh=False)
    programme_tiers_and_rewards()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM portal_portalsession WHERE token_hash = encode(sha256('bench-1'::bytea), 'hex')")
        if not cursor.fetchone()[0]:
            started = time.perf_counter()
            cursor.execute(HISTORY_SQL.replace("%(shoppers)s", str(args.shoppers)))
            print(f"history of {args.shoppers:,} weekly shoppers: {time.perf_counter() - started:.0f} s")
        cursor.execute("SELECT count(*), (SELECT count(*) FROM loyalty_basket), (SELECT count(*) FROM members_member) "
                       "FROM loyalty_pointsentry")
        entries, baskets, members = cursor.fetchone()
    bench_checkout.psql("VACUUM (ANALYZE) loyalty_basket, loyalty_pointsentry, loyalty_loyaltyaccount, "
                        "portal_portalsession", bench_checkout.BENCH_DB)

    from django.contrib.sessions.backends.db import SessionStore
    from django.test import Client

    from clientele.portal.views import TOKEN

    rng = random.Random(0)
    picks = [rng.randint(1, args.shoppers) for _ in range(args.requests)]
    api, page = Client(), Client()

    def page_session(customer_id: int) -> None:
        session = SessionStore()
        session[TOKEN] = f"bench-{customer_id}"
        session.create()
        page.cookies["sessionid"] = session.session_key

    def api_call(url: str, customer_id: int) -> float:
        return timed(api, url, Authorization=f"Bearer bench-{customer_id}")

    def page_call(customer_id: int) -> float:
        page_session(customer_id)
        return timed(page, "/portal/account/")

    api_call("/api/portal/account", picks[0])  # the first requests load the code
    page_call(picks[0])
    account_api = [api_call("/api/portal/account", n) for n in picks]
    account_page = [page_call(n) for n in picks]
    floor = [api_call("/api/portal/profile", n) for n in picks]
    print(f"members {members:,}; ledger entries {entries:,}; baskets {baskets:,}; {args.requests} requests each for "
          f"random shoppers among {args.shoppers:,} (104 baskets, 111 entries each); server time in process")
    print(describe("account API call (GET /api/portal/account)", account_api, floor))
    print(describe("account page (GET /portal/account/, barcode drawn)", account_page, floor))
    print(f"reference, GET /api/portal/profile: p50 {statistics.median(floor):.1f}, p95 {p95(floor):.1f} ms")


if __name__ == "__main__":
    main()
