"""Every write to members, cards and their reference data: one transaction per business event."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import duckdb
from django.db import transaction
from rich.console import Console
from rich.progress import Progress

from clientele.barcodes import card_barcode
from clientele.catalog.models import Product, Store
from clientele.lake.completejourney import SOURCE_TIMEZONE, data_dir
from clientele.members.models import Card, CustomerProfile, HouseholdDemographics, Member, TillContext

BATCH = 5_000


def _bulk_upsert(model, rows: list, unique_fields: list[str], update_fields: list[str], progress, task) -> None:
    for start in range(0, len(rows), BATCH):
        model.objects.bulk_create(
            rows[start : start + BATCH],
            update_conflicts=bool(update_fields),
            ignore_conflicts=not update_fields,
            unique_fields=unique_fields if update_fields else None,
            update_fields=update_fields or None,
        )
        if progress is not None:
            progress.advance(task, min(BATCH, len(rows) - start))


def import_completejourney_reference(console: Console | None = None) -> dict[str, int]:
    """Load the Complete Journey's stores, products, households (as members with one card each)
    and demographics into the operational database; a second run updates, never duplicates.

    Returns how many of each the database holds for the Complete Journey afterwards.
    """
    source = data_dir()
    con = duckdb.connect()
    stores = con.execute(f"SELECT DISTINCT store_id FROM read_parquet('{source / 'transactions.parquet'}') ORDER BY 1").fetchall()
    products = con.execute(
        f"""SELECT product_id, manufacturer_id, coalesce(department, ''), coalesce(product_category, ''),
                   coalesce(product_type, ''), coalesce(brand, 'National'), coalesce(package_size, '')
            FROM read_parquet('{source / 'products.parquet'}')"""
    ).fetchall()
    households = con.execute(
        f"""SELECT household_id, min(timezone('{SOURCE_TIMEZONE}', timezone('UTC', transaction_timestamp)))::DATE,
                   mode(store_id)
            FROM read_parquet('{source / 'transactions.parquet'}') GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    demographics = con.execute(f"SELECT * FROM read_parquet('{source / 'demographics.parquet'}')").fetchall()
    con.close()

    total = len(stores) + len(products) + 2 * len(households) + len(demographics)
    with Progress(console=console, disable=console is None, transient=True) as progress:
        task = progress.add_task("Loading the operational database", total=total)
        with transaction.atomic():
            # the source's store times are New York's (decision 0001): the till's UTC times are kept in it too
            _bulk_upsert(Store, [Store(store_id=s, timezone=SOURCE_TIMEZONE) for (s,) in stores], ["store_id"],
                         ["timezone"], progress, task)
            _bulk_upsert(
                Product,
                [Product(product_id=p, manufacturer_id=m, department=d, category=c, subcategory=s, brand_type=b, package_size=z)
                 for p, m, d, c, s, b, z in products],
                ["product_id"],
                ["manufacturer_id", "department", "category", "subcategory", "brand_type", "package_size"],
                progress, task,
            )
            _bulk_upsert(
                Member,
                [Member(customer_id=h, join_date=joined, home_store_id=store, profiling_consent=True)
                 for h, joined, store in households],
                ["customer_id"], ["join_date", "home_store"], progress, task,
            )
            member_ids = dict(Member.objects.filter(customer_id__in=[h for h, _, _ in households]).values_list("customer_id", "id"))
            _bulk_upsert(
                Card,
                [Card(barcode=card_barcode(h), member_id=member_ids[h]) for h, _, _ in households],
                ["barcode"], [], progress, task,
            )
            _bulk_upsert(
                HouseholdDemographics,
                [
                    HouseholdDemographics(
                        member_id=member_ids[h], age_band=age or "", income_band=income or "",
                        home_ownership=own or "", marital_status=marital or "",
                        household_size=_leading_int(size), household_composition=comp or "",
                        kids_count=_leading_int(kids),
                    )
                    for h, age, income, own, marital, size, comp, kids in demographics
                    if h in member_ids
                ],
                ["member"],
                ["age_band", "income_band", "home_ownership", "marital_status", "household_size",
                 "household_composition", "kids_count"],
                progress, task,
            )
    return {
        "stores": Store.objects.count(),
        "products": Product.objects.count(),
        "members": Member.objects.count(),
        "cards": Card.objects.count(),
        "household demographics": HouseholdDemographics.objects.count(),
    }


def _leading_int(value: str | None) -> int | None:
    """'3+' -> 3, '5+' -> 5, None -> None: the Complete Journey's bands keep their lower bound."""
    if not value:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    return int(digits) if digits else None


def write_customer_profiles(profiles: list[dict], refreshed_on: date | None = None) -> int:
    """Replace the serving table of customer profiles with the nightly refresh's results.

    Each dict has customer_id and the CustomerProfile fields; customers unknown to the
    operational database are skipped. Returns the number of profiles written.
    """
    refreshed_on = refreshed_on or datetime.now(timezone.utc).date()
    member_ids = dict(Member.objects.values_list("customer_id", "id"))
    fields = ["rfm_segment", "recency_days", "frequency", "monetary", "pyramid_level", "value_class",
              "value_tier", "lifecycle_stage", "deal_proneness", "expected_purchases", "probability_alive",
              "churn_risk", "at_risk", "predicted_clv", "clv_lower", "clv_upper", "expected_next_visit"]
    money = ("monetary", "predicted_clv", "clv_lower", "clv_upper")
    rows = []
    for profile in profiles:
        member_id = member_ids.get(profile["customer_id"])
        if member_id is None:
            continue
        # a forecast the models could not make is missing, whether the lake says null or NaN
        values = {name: None if profile.get(name) != profile.get(name) else profile.get(name) for name in fields}
        for amount in money:
            if values[amount] is not None:
                values[amount] = Decimal(str(values[amount])).quantize(Decimal("0.01"))
        for text in ("rfm_segment", "pyramid_level", "value_class", "value_tier", "lifecycle_stage"):
            values[text] = values[text] or ""
        rows.append(CustomerProfile(member_id=member_id, refreshed_on=refreshed_on, **values))
    with transaction.atomic():
        CustomerProfile.objects.all().delete()
        CustomerProfile.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


#: The separator of `TillContext.top_categories` (no category name holds it).
CATEGORY_SEPARATOR = "|"


def write_till_context(rows: list[dict], refreshed_on: date | None = None) -> int:
    """Replace the till context serving table with the nightly refresh's `till_context` rows
    (customer_id, top_category_1..3, last_bought, last_bought_on, goes_with); customers unknown to
    the operational database are skipped. Returns the number of rows written."""
    refreshed_on = refreshed_on or datetime.now(timezone.utc).date()
    member_ids = dict(Member.objects.values_list("customer_id", "id"))
    written = []
    for row in rows:
        member_id = member_ids.get(row["customer_id"])
        if member_id is None:
            continue
        top = [row.get(f"top_category_{n}") for n in (1, 2, 3)]
        day = row.get("last_bought_on")
        written.append(TillContext(
            member_id=member_id, refreshed_on=refreshed_on,
            top_categories=CATEGORY_SEPARATOR.join(name for name in top if isinstance(name, str) and name),
            last_bought=row.get("last_bought") or "", goes_with=row.get("goes_with") or "",
            last_bought_on=None if day is None or day != day else day))
    with transaction.atomic():
        TillContext.objects.all().delete()
        TillContext.objects.bulk_create(written, batch_size=BATCH)
    return len(written)
