"""Access export of a member with 1,000 baskets (target 5 s) and erasure of a member beside a
100M-line lake (target 60 s).

Set-up (not timed): a fresh operational database (SQLite in <home>, or --database-url) holding the
member, a card, 1,000 till baskets of 10 lines each with their ledger credits, consents; the lake
is a folder of its own whose basket_lines link to an existing lake (--lake, read only: neither
the export nor the erasure writes basket lines, decision 0065).
Timed: `privacy.access.export_member` (database and the member's lake lines) and
`privacy.erasure.erase_member` (database, registered files, the lake's reference tables and the
list of profiling refusals).

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_privacy.py --lake /work/lakes/i20-3m-100m
     [--customer 1] [--baskets 1000] [--database-url postgresql://...]
Prints its figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lake", type=Path, required=True, help="A lake whose basket_lines are read (never written).")
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench-privacy")
    parser.add_argument("--customer", type=int, default=1)
    parser.add_argument("--baskets", type=int, default=1000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    shutil.rmtree(args.home, ignore_errors=True)
    (args.home / "lake").mkdir(parents=True)
    for table in ("basket_lines", "products"):
        if (args.lake / table).exists():
            (args.home / "lake" / table).symlink_to((args.lake / table).resolve())
    os.environ["CLIENTELE_HOME"] = str(args.home)  # read once by clientele.config, below
    os.environ.pop("CLIENTELE_LAKE", None)
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("flush" if args.database_url else "migrate", interactive=False, verbosity=0)
    if args.database_url:
        call_command("migrate", interactive=False, verbosity=0)
    member = plant(args.customer, args.baskets)

    from clientele.privacy.access import export_member
    from clientele.privacy.erasure import erase_member

    started = time.perf_counter()
    archive = export_member(member)
    exported = time.perf_counter() - started
    size = archive.path.stat().st_size / 1e6
    started = time.perf_counter()
    answer = erase_member(member, reason="benchmark", requested_by="dpo", approved_by="deputy")
    erased = time.perf_counter() - started
    lines = sum(1 for _ in (args.home / "lake" / "basket_lines").rglob("*.parquet"))
    print(f"database: {'postgresql' if args.database_url else 'sqlite'}; lake: {args.lake} ({lines} files)")
    print(f"access export of member {member}: {exported:.2f} s; sections {archive.sections['till_baskets']} "
          f"till baskets, {archive.sections['till_basket_lines']} till lines, "
          f"{archive.sections['lake_basket_lines']} lake lines, archive {size:.1f} MB")
    print(f"erasure: {erased:.2f} s ({answer.summary})")
    print(f"load average {os.getloadavg()[0]:.1f}")


def plant(customer_id: int, baskets: int) -> int:
    """The member with a card, consents and `baskets` till baskets of 10 lines, each credited."""
    from clientele.barcodes import card_barcode
    from clientele.catalog.models import Product, Store
    from clientele.loyalty.models import Basket, BasketLine, LoyaltyAccount, PointsEntry
    from clientele.members.models import Card, Member
    from clientele.privacy.consent import record_consent

    store = Store.objects.create(store_id=1)
    Product.objects.bulk_create([Product(product_id=p, manufacturer_id=1) for p in range(1, 11)])
    member = Member.objects.create(customer_id=customer_id, first_name="Bench", last_name="Member",
                                   email="bench@example.test", phone="+13125550000", join_date=date(2020, 1, 1))
    card = Card.objects.create(barcode=card_barcode(customer_id), member=member)
    account = LoyaltyAccount.objects.create(member=member)
    now = datetime.now(timezone.utc)
    record_consent(member, "marketing", "email", True, occurred_at=now, source="web", text_version="v1")
    rows = [Basket(store=store, till_id="1", receipt_number=str(n), transacted_at=now - timedelta(hours=n),
                   member=member, card=card, total=Decimal("100.00"), points_earned=100, request_hash="x",
                   result={"greeting": "Hello Bench"}, actor="bench") for n in range(baskets)]
    Basket.objects.bulk_create(rows, batch_size=500)
    ids = list(Basket.objects.filter(member=member).values_list("id", flat=True))
    line_fields = {f.name for f in BasketLine._meta.concrete_fields}
    BasketLine.objects.bulk_create([
        BasketLine(basket_id=b, line_no=n, product_id=n + 1, quantity=Decimal("1"), **_line_money(line_fields))
        for b in ids for n in range(10)], batch_size=5000)
    PointsEntry.objects.bulk_create([
        PointsEntry(account=account, kind="points_earned", amount=100, available_from=now, source=f"basket {b}",
                    basket_id=b, idempotency_key=f"bench-{b}", actor="bench") for b in ids], batch_size=5000)
    return customer_id


def _line_money(fields: set[str]) -> dict:
    money = {"unit_price": Decimal("10.00"), "sales_value": Decimal("10.00"), "amount": Decimal("10.00"),
             "discount": Decimal("0"), "retail_disc": Decimal("0")}
    return {name: value for name, value in money.items() if name in fields}


if __name__ == "__main__":
    main()
