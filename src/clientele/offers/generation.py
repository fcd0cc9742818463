"""Generating every qualifying member's shopping list at once, as tables (decision 0090).

The lake's part (`analytics.shopping_lists.read_list_inputs`) gives Arrow tables: each member's
due products, their brand cells, the store-brand leaders and the unit prices. Here an in-process
DuckDB joins them with what only the operational database knows (the members, their consent and
pyramid level, the offers, their budgets and audiences, the members' uses) and computes every list
and item in a few set-based statements; the database receives them in bulk (`COPY` on PostgreSQL,
the items into a partition of their own attached once its keys are checked, decision 0096; batched
`executemany` on SQLite), in one transaction with the previous lists superseded.

What stays in Python is per offer, never per member: which of the listed products an offer
targets, and the offer's value on one unit of each, sized for each pyramid level (the same
`evaluate.sized` and `lists.unit_value` as the till's evaluation reads).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
from django.db import connection, transaction

from clientele.analytics.shopping_lists import ListInputs, ListRules
from clientele.catalog.models import Product
from clientele.members.models import CustomerProfile, Member
from clientele.offers import segments, services
from clientele.offers.evaluate import ZERO, Line, OfferTerms, cents, sized
from clientele.offers.list_models import ShoppingList, ShoppingListItem, ValueSizing
from clientele.offers.models import MemberOfferUse, Offer

#: Rows sent to SQLite per `executemany`.
BATCH = 20_000
MONEY = pa.decimal128(12, 2)


@dataclass(frozen=True)
class GenerationResult:
    """How many lists and items were written, how many members qualified but refused profiling."""

    lists: int
    items: int
    offers: int
    without_consent: int


def describe(terms: OfferTerms) -> str:
    """The offer in a few words, as printed on the list."""
    return {
        "amount_off": lambda: f"{terms.amount} off each",
        "percent_off": lambda: f"{terms.percent.normalize():f}% off",
        "fixed_price": lambda: f"{terms.amount} each",
        "buy_x_get_y": lambda: f"buy {terms.buy_quantity} get {terms.get_quantity} free",
        "bonus_points": lambda: f"{terms.bonus_points} bonus points",
        "points_multiplier": lambda: f"x{terms.multiplier.normalize():f} points",
    }[terms.benefit]()


def unit_value(terms: OfferTerms, price: float | None) -> Decimal:
    """The money the (sized) offer gives on one purchase of a product at `price` (0 for points)."""
    unit = Decimal(str(round(price, 2))) if price else ZERO
    if terms.benefit == "amount_off":
        return min(terms.amount, unit) if unit else terms.amount
    if terms.benefit == "percent_off":
        return cents(unit * terms.percent / 100)
    if terms.benefit == "fixed_price":
        return max(ZERO, unit - terms.amount)
    if terms.benefit == "buy_x_get_y":
        return cents(unit * terms.get_quantity)
    return ZERO


def generate_lists(inputs: ListInputs, now: datetime, rules: ListRules = ListRules()) -> GenerationResult:
    """Write a new current list for every member among the candidates who is active and consented
    to profiling (their previous current list superseded); returns what was written. The list runs
    from the day after the inputs' `as_of` (the last day of history) for `cycle_days` days."""
    if inputs.as_of is None or inputs.candidates.num_rows == 0:
        return GenerationResult(0, 0, 0, 0)
    valid_from = inputs.as_of + timedelta(days=1)
    valid_until = inputs.as_of + timedelta(days=rules.cycle_days)
    at = datetime.combine(valid_from, time.min, tzinfo=timezone.utc)
    con = duckdb.connect(config={"memory_limit": "2GB", "preserve_insertion_order": "false"})
    try:
        con.register("candidates_in", inputs.candidates)
        con.register("cells_in", inputs.cells)
        offers = [terms for terms in services.offer_terms(at) if terms.target != "basket"]
        catalogue = _catalogue(con, inputs)
        _members(con, any(terms.eligibility == Offer.Eligibility.SEGMENT for terms in offers))
        sizing = _sizing(con)
        _offer_tables(con, offers, catalogue, inputs, sizing, valid_until)
        _chosen(con, offers, catalogue, inputs)
        with transaction.atomic():
            first = _reserve_ids(con)
            _lists_and_items(con, first, sizing)
            _write(con, now, valid_from, valid_until, inputs.as_of)
        lists, items, offered, refused = con.execute(
            "SELECT (SELECT count(*) FROM lists), (SELECT count(*) FROM items), "
            "(SELECT count(*) FROM items WHERE offer_id IS NOT NULL), "
            "(SELECT count(*) FROM members m WHERE NOT m.consent "
            " AND m.customer_id IN (SELECT customer_id FROM candidates_in))").fetchone()
        return GenerationResult(lists, items, offered, refused)
    finally:
        con.close()


def _line(product: dict) -> Line:
    return Line(0, product["product_id"], Decimal("1"), Decimal("1"), product["department"], product["category"],
                product["manufacturer_id"], product["brand_type"])


def _catalogue(con: duckdb.DuckDBPyConnection, inputs: ListInputs) -> dict[int, dict]:
    """The catalogue's products among the listed ones and the store-brand leaders (product -> fields),
    also as the table `catalogue`; the listed products the catalogue lacks are left off the lists."""
    wanted = {row[0] for row in con.execute("SELECT DISTINCT product_id FROM candidates_in").fetchall()}
    wanted |= {product for product, _ in inputs.leaders.values()}
    rows = Product.objects.values("product_id", "department", "category", "manufacturer_id", "brand_type")
    found = {row["product_id"]: row for row in rows.iterator(chunk_size=20_000) if row["product_id"] in wanted}
    con.register("catalogue", pa.table({
        "product_id": pa.array(list(found), pa.int64()),
        "department": pa.array([row["department"] for row in found.values()], pa.string()),
        "category": pa.array([row["category"] for row in found.values()], pa.string()),
    }))
    return found


def _members(con: duckdb.DuckDBPyConnection, with_profile: bool) -> None:
    """The active members (table `members`: member_id, customer_id, consent, level and, for
    segment offers, the profile's fields), read in one query."""
    fields = list(segments.PROFILE_FIELDS.values()) if with_profile else []
    member, profile = Member._meta.db_table, CustomerProfile._meta.db_table
    columns = "".join(f", p.{name}" for name in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT m.id, m.customer_id, m.profiling_consent, p.pyramid_level{columns} "
                       f"FROM {member} m LEFT JOIN {profile} p ON p.member_id = m.id WHERE m.status = %s",
                       [Member.Status.ACTIVE])
        rows = cursor.fetchall()
    found = list(zip(*rows)) if rows else [()] * (4 + len(fields))
    table = {"member_id": pa.array(found[0], pa.int64()), "customer_id": pa.array(found[1], pa.int64()),
             "consent": pa.array([bool(v) for v in found[2]], pa.bool_()),
             "level": pa.array([v or "small" for v in found[3]], pa.string())}
    for name, values in zip(fields, found[4:]):  # as `segments.matches` reads them: booleans as true/false
        boolean = name == "at_risk"
        table[name] = pa.array([None if v is None else ("true" if v else "false") if boolean else str(v)
                                for v in values], pa.string())
    con.register("members", pa.table(table))


def _sizing(con: duckdb.DuckDBPyConnection) -> dict[str, ValueSizing]:
    """Each pyramid level's sizing rule (a level without a row: factor 1, at most 10), as the
    table `sizing`."""
    levels = [row[0] for row in con.execute("SELECT DISTINCT level FROM members").fetchall()]
    stored = {s.pyramid_level: s for s in ValueSizing.objects.all()}
    sizing = {level: stored.get(level) or ValueSizing(pyramid_level=level) for level in levels}
    con.register("sizing", pa.table({
        "level": pa.array(list(sizing), pa.string()),
        "factor": pa.array([s.factor for s in sizing.values()], pa.decimal128(4, 2)),
        "max_value": pa.array([s.max_list_value for s in sizing.values()], MONEY),
    }))
    return sizing


def _offer_tables(con, offers: list[OfferTerms], catalogue: dict[int, dict], inputs: ListInputs,
                  sizing: dict[str, ValueSizing], until: date) -> None:
    """Per offer, never per member: `offer_values` (offer, product, level: the sized offer's value on
    one unit and its order of precedence), `offer_texts` (offer, level: as printed), `open_offers`
    (offers any member may get on a list: personal ones, or everyone's with budget left),
    `allowed` (offer, customer: segment and explicit-list offers) and `blocked` (offer, customer:
    at their limit of uses)."""
    values: dict[str, list] = {"offer_id": [], "product_id": [], "level": [], "value": [], "rank": []}
    texts: dict[str, list] = {"offer_id": [], "level": [], "description": []}
    open_ids, allowed, blocked = [], ([], []), ([], [])
    for order, terms in enumerate(offers):
        personal = terms.eligibility == Offer.Eligibility.PERSONAL
        if not personal and not _has_budget(terms):
            continue
        if personal or terms.eligibility == Offer.Eligibility.EVERYONE:
            open_ids.append(terms.offer_id)
        elif terms.eligibility == Offer.Eligibility.MEMBERS:
            allowed[0].extend([terms.offer_id] * len(terms.audience))
            allowed[1].extend(terms.audience)
        elif terms.eligibility == Offer.Eligibility.SEGMENT:
            _segment_members(con, terms, allowed)
        if not personal and terms.per_member_limit is not None:
            _at_limit(terms, blocked)
        targeted = [(p, _price(row, inputs)) for p, row in catalogue.items()
                    if (p in terms.product_ids if terms.target == "products" else terms.targets(_line(row)))]
        for level, rule in sizing.items():
            chosen = sized(terms, rule.factor)
            texts["offer_id"].append(terms.offer_id)
            texts["level"].append(level)
            texts["description"].append(f"{describe(chosen)} until {min(chosen.valid_until.date(), until)}")
            for product, price in targeted:
                values["offer_id"].append(terms.offer_id)
                values["product_id"].append(product)
                values["level"].append(level)
                values["value"].append(unit_value(chosen, price))
                values["rank"].append(order)
    con.register("offer_values", pa.table({
        "offer_id": pa.array(values["offer_id"], pa.int64()), "product_id": pa.array(values["product_id"], pa.int64()),
        "level": pa.array(values["level"], pa.string()), "value": pa.array(values["value"], MONEY),
        "rank": pa.array(values["rank"], pa.int32())}))
    con.register("offer_texts", pa.table({
        "offer_id": pa.array(texts["offer_id"], pa.int64()), "level": pa.array(texts["level"], pa.string()),
        "description": pa.array(texts["description"], pa.string())}))
    con.register("open_offers", pa.table({"offer_id": pa.array(open_ids, pa.int64())}))
    con.register("allowed", pa.table({"offer_id": pa.array(allowed[0], pa.int64()),
                                      "customer_id": pa.array(allowed[1], pa.int64())}))
    con.register("blocked", pa.table({"offer_id": pa.array(blocked[0], pa.int64()),
                                      "customer_id": pa.array(blocked[1], pa.int64())}))


def _has_budget(terms: OfferTerms) -> bool:
    """Whether the offer has redemptions and (unless it gives points) money left (`evaluate.available`)."""
    if terms.count_left is not None and terms.count_left <= 0:
        return False
    return terms.money_left is None or terms.money_left > 0 or terms.benefit in ("bonus_points", "points_multiplier")


def _price(product: dict, inputs: ListInputs) -> float | None:
    """The product's unit price, else its category's store-brand leader's (what its value is estimated on)."""
    return inputs.prices.get(product["product_id"]) or inputs.leaders.get(product["category"], (0, None))[1]


def _segment_members(con, terms: OfferTerms, allowed: tuple[list, list]) -> None:
    """The members whose profile is in the offer's segment (`segments.matches`, as a query)."""
    where = " AND ".join(f"{field} IN (SELECT unnest(${n + 1}::VARCHAR[]))" for n, (field, _) in enumerate(terms.segment))
    found = con.execute(f"SELECT customer_id FROM members WHERE {where}",
                        [sorted(accepted) for _, accepted in terms.segment]).fetchall()
    allowed[0].extend([terms.offer_id] * len(found))
    allowed[1].extend(row[0] for row in found)


def _at_limit(terms: OfferTerms, blocked: tuple[list, list]) -> None:
    """The members who used the offer as often as its per-member limit allows."""
    found = MemberOfferUse.objects.filter(offer_id=terms.offer_id, uses__gte=terms.per_member_limit).values_list(
        "member__customer_id", flat=True)
    customers = list(found)
    blocked[0].extend([terms.offer_id] * len(customers))
    blocked[1].extend(customers)


def _chosen(con, offers: list[OfferTerms], catalogue: dict[int, dict], inputs: ListInputs) -> None:
    """`chosen`: each consenting member's products in the list's order (the forecast's, in the engine's rank,
    then the store-brand moves for the categories where they are heavy national-brand buyers, when
    a personal store-brand offer targets the category's leader), each with the best offer they may
    get on it (the most money for them; on a tie, the first by precedence)."""
    movable = [(category, product) for category, (product, _) in inputs.leaders.items() if product in catalogue
               and any(t.eligibility == Offer.Eligibility.PERSONAL and t.brand_type == "Private"
                       and t.targets(_line(catalogue[product])) for t in offers)]
    con.register("movable", pa.table({"category": pa.array([c for c, _ in movable], pa.string()),
                                      "product_id": pa.array([p for _, p in movable], pa.int64())}))
    con.execute("""
    CREATE TEMP TABLE chosen AS
    WITH consenting AS (
        SELECT member_id, customer_id, level FROM members WHERE consent
    ), due AS MATERIALIZED (
        SELECT CAST(c.customer_id AS BIGINT) AS customer_id, CAST(c.product_id AS BIGINT) AS product_id,
               'due' AS reason, c.probability, CAST(c.expected_date AS DATE) AS expected_date,
               row_number() OVER (PARTITION BY c.customer_id ORDER BY c.rank) AS position
        FROM candidates_in c SEMI JOIN consenting m ON m.customer_id = c.customer_id
        SEMI JOIN catalogue p ON p.product_id = c.product_id
    ), due_count AS (
        SELECT customer_id, count(*) AS n FROM due GROUP BY customer_id
    ), moves AS (
        SELECT CAST(c.customer_id AS BIGINT) AS customer_id, v.product_id, 'cross_sell' AS reason,
               CAST(NULL AS DOUBLE) AS probability, CAST(NULL AS DATE) AS expected_date,
               COALESCE(d.n, 0) + row_number() OVER (PARTITION BY c.customer_id ORDER BY c.category) AS position
        FROM cells_in c JOIN movable v ON v.category = c.category
        LEFT JOIN due_count d ON d.customer_id = c.customer_id
        WHERE c.brand_loyalty = 'national' AND c.usage = 'high'
          AND c.customer_id IN (SELECT customer_id FROM consenting)
          AND NOT EXISTS (SELECT 1 FROM due WHERE due.customer_id = c.customer_id AND due.product_id = v.product_id)
    ), listed AS MATERIALIZED (
        SELECT * FROM due UNION ALL SELECT * FROM moves
    ), eligible AS (
        SELECT l.customer_id, l.position, v.offer_id, v.value,
               row_number() OVER (PARTITION BY l.customer_id, l.position ORDER BY v.value DESC, v.rank) AS best
        FROM listed l JOIN consenting m ON m.customer_id = l.customer_id
        JOIN offer_values v ON v.product_id = l.product_id AND v.level = m.level
        WHERE (v.offer_id IN (SELECT offer_id FROM open_offers)
               OR EXISTS (SELECT 1 FROM allowed a WHERE a.offer_id = v.offer_id AND a.customer_id = l.customer_id))
          AND NOT EXISTS (SELECT 1 FROM blocked b WHERE b.offer_id = v.offer_id AND b.customer_id = l.customer_id)
    )
    SELECT l.*, e.offer_id, e.value FROM listed l
    LEFT JOIN eligible e ON e.customer_id = l.customer_id AND e.position = l.position AND e.best = 1
    """)


def _reserve_ids(con) -> int:
    """The first id (and list serial) of this generation: after every list written so far, the
    table locked on PostgreSQL until the transaction ends (one generation at a time), and after
    every id the lists' sequence ever gave (each generation moves it to its last list), so after
    every range of the items' partitions too: a partition outlives its lists if they are deleted."""
    table = ShoppingList._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT GREATEST((SELECT COALESCE(max(id), 0) FROM {table}), "
                           f"(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}))")
        else:
            cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {table}")
        return cursor.fetchone()[0] + 1


def _lists_and_items(con, first: int, sizing: dict[str, ValueSizing]) -> None:
    """`lists` and `items`: the offers kept in the list's order while their values stay within the
    member's `max_list_value` (an offer that does not fit is left off, a later smaller one may fit);
    the due items always, the moves only with their offer; each list numbered (EAN-13, prefix 28)."""
    con.execute("""
    CREATE TEMP TABLE lists AS
    SELECT $first + row_number() OVER (ORDER BY m.customer_id) - 1 AS id, m.member_id, m.customer_id,
           m.level, s.factor, s.max_value
    FROM members m JOIN sizing s ON s.level = m.level
    WHERE m.consent AND m.customer_id IN (SELECT customer_id FROM candidates_in)
    """, {"first": first})
    # a list whose offers are worth the member's maximum or less keeps them all; only the others are walked
    con.execute("""
    CREATE TEMP TABLE kept AS
    WITH RECURSIVE fitting AS (
        SELECT l.customer_id FROM lists l LEFT JOIN (SELECT customer_id, sum(value) AS total FROM chosen
                                                    GROUP BY customer_id) t ON t.customer_id = l.customer_id
        WHERE COALESCE(t.total, 0) <= l.max_value
    ), over AS (
        SELECT c.* FROM chosen c ANTI JOIN fitting f ON f.customer_id = c.customer_id
    ), walk(customer_id, position, left_value, kept) AS (
        SELECT customer_id, 0, CAST(max_value AS DECIMAL(12, 2)), false
        FROM lists l ANTI JOIN fitting f ON f.customer_id = l.customer_id
        UNION ALL
        SELECT w.customer_id, c.position,
               CAST(CASE WHEN c.value <= w.left_value THEN w.left_value - c.value ELSE w.left_value END
                    AS DECIMAL(12, 2)),
               COALESCE(c.value <= w.left_value, false)
        FROM walk w JOIN over c ON c.customer_id = w.customer_id AND c.position = w.position + 1
    )
    SELECT customer_id, position FROM walk WHERE kept
    UNION ALL
    SELECT c.customer_id, c.position FROM chosen c SEMI JOIN fitting f ON f.customer_id = c.customer_id
    WHERE c.value IS NOT NULL
    """)
    con.execute("""
    CREATE TEMP TABLE items AS
    SELECT l.id AS shopping_list_id, c.position, c.product_id, p.department, p.category, c.reason,
           c.probability, c.expected_date, CASE WHEN k.position IS NOT NULL THEN c.offer_id END AS offer_id,
           CASE WHEN k.position IS NOT NULL THEN c.value END AS offer_value,
           CASE WHEN k.position IS NOT NULL THEN t.description ELSE '' END AS offer_description
    FROM chosen c JOIN lists l ON l.customer_id = c.customer_id JOIN catalogue p ON p.product_id = c.product_id
    LEFT JOIN kept k ON k.customer_id = c.customer_id AND k.position = c.position
    LEFT JOIN offer_texts t ON t.offer_id = c.offer_id AND t.level = l.level
    WHERE c.reason = 'due' OR k.position IS NOT NULL
    """)


#: The EAN-13 of a list's serial: prefix 28, ten digits of serial, check digit (`barcodes.list_barcode`).
_NUMBER = ("'28' || lpad(CAST(l.id AS VARCHAR), 10, '0') || CAST((10 - list_sum(list_transform(range(1, 13), lambda "
           "i: CAST(substr('28' || lpad(CAST(l.id AS VARCHAR), 10, '0'), i, 1) AS INTEGER) "
           "* CASE WHEN i % 2 = 1 THEN 1 ELSE 3 END)) % 10) % 10 AS VARCHAR)")


def _write(con, now: datetime, valid_from: date, valid_until: date, as_of: date) -> None:
    """Supersede the members' current lists, then write the new lists and their items in bulk."""
    lists, items = ShoppingList._meta.db_table, ShoppingListItem._meta.db_table
    generated = connection.ops.adapt_datetimefield_value(now)
    list_columns = ["id", "number", "member_id", "status", "generated_at", "as_of", "valid_from", "valid_until",
                    "pyramid_level", "sizing_factor", "offers_value"]
    list_rows = f"""
    SELECT l.id, {_NUMBER}, l.member_id, 'current', $generated, $as_of, $valid_from, $valid_until, l.level,
           CAST(l.factor AS VARCHAR), CAST(COALESCE(v.total, 0) AS VARCHAR)
    FROM lists l LEFT JOIN (SELECT shopping_list_id, sum(offer_value) AS total FROM items
                            GROUP BY shopping_list_id) v ON v.shopping_list_id = l.id
    ORDER BY l.id"""
    item_columns = ["shopping_list_id", "position", "product_id", "department", "category", "reason", "probability",
                    "expected_date", "offer_id", "offer_value", "offer_description"]
    item_rows = """
    SELECT shopping_list_id, position, product_id, department, category, reason, probability,
           CAST(expected_date AS VARCHAR), offer_id, CAST(offer_value AS VARCHAR), offer_description
    FROM items ORDER BY shopping_list_id, position"""
    parameters = {"generated": str(generated), "as_of": as_of.isoformat(), "valid_from": valid_from.isoformat(),
                  "valid_until": valid_until.isoformat()}
    members = [row[0] for row in con.execute("SELECT member_id FROM lists").fetchall()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            first, last = con.execute("SELECT min(id), max(id) FROM lists").fetchone()
            with tempfile.TemporaryDirectory(prefix="clientele-lists-") as directory:
                lists_file, items_file = Path(directory) / "lists.csv", Path(directory) / "items.csv"
                con.execute(f"COPY ({list_rows}) TO '{lists_file}' (FORMAT csv, HEADER false)", parameters)
                # DuckDB writes the items while PostgreSQL supersedes and copies the lists
                with ThreadPoolExecutor(1) as writer:
                    written = writer.submit(con.execute, f"COPY ({item_rows}) TO '{items_file}' "
                                                         "(FORMAT csv, HEADER false)")
                    # the lists' foreign key checked as the rows arrive, not queued until the commit
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute(f"UPDATE {lists} SET status = %s WHERE status = %s "
                                   "AND member_id = ANY(%s::bigint[])",
                                   [ShoppingList.Status.SUPERSEDED, ShoppingList.Status.CURRENT, members])
                    _copy(cursor, lists, list_columns, lists_file)
                    written.result()
                if first is not None:
                    _items_partition(cursor, items, item_columns, items_file, first, last)
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{lists}', 'id'), (SELECT max(id) FROM {lists}))")
            return
        for start in range(0, len(members), 500):
            chunk = members[start:start + 500]
            cursor.execute(f"UPDATE {lists} SET status = %s WHERE status = %s AND member_id IN "
                           f"({', '.join(['%s'] * len(chunk))})",
                           [ShoppingList.Status.SUPERSEDED, ShoppingList.Status.CURRENT, *chunk])
        _insert(con, cursor, lists, list_columns, list_rows, parameters)
        _insert(con, cursor, items, item_columns, item_rows, {})


def _items_partition(cursor, items: str, columns: list[str], rows: Path, first: int, last: int) -> None:
    """The generation's items as the partition of its lists' ids `first`..`last` (decision 0096): a
    table of their own, copied without an index or a key to keep row by row, then its keys and
    indexes built and its foreign keys validated each by one statement over all rows (the same
    constraints as the parent's, so that the attach takes them as they are), then attached. The
    check of the range lets the attach skip the rows: it holds the default partition's lock
    (which the till's reads of older items take) only for a moment before the commit."""
    part = f"{items}_{first}"
    cursor.execute(f"SELECT pg_get_serial_sequence('{items}', 'id')")
    sequence = cursor.fetchone()[0]
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname", [items])
    foreign_keys = cursor.fetchall()
    cursor.execute(f"CREATE TABLE {part} (LIKE {items} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(f"ALTER TABLE {part} ALTER id SET DEFAULT nextval('{sequence}')")
    _copy(cursor, part, columns, rows, freeze=True)  # the table is this transaction's: its rows frozen
    cursor.execute(f"ALTER TABLE {part} ALTER id DROP DEFAULT")
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    cursor.execute(f"ALTER TABLE {part} ADD CONSTRAINT {part}_pkey PRIMARY KEY (id), "
                   f"ADD CONSTRAINT {part}_position_once UNIQUE (shopping_list_id, position), "
                   f"ADD CONSTRAINT {part}_lists CHECK (shopping_list_id >= {first} AND shopping_list_id <= {last})")
    for column in ("product_id", "offer_id"):
        cursor.execute(f"CREATE INDEX {part}_{column} ON {part} ({column})")
    cursor.execute(f"ANALYZE {part}")  # the foreign keys' checks are joins: planned on the rows' statistics
    cursor.execute(f"ALTER TABLE {part} " + ", ".join(f"ADD CONSTRAINT {part}_{n} {definition}"
                                                     for n, (_, definition) in enumerate(foreign_keys)))
    cursor.execute(f"ALTER TABLE {items} ATTACH PARTITION {part} FOR VALUES FROM ({first}) TO ({last + 1})")


def _copy(cursor, table: str, columns: list[str], rows: Path, freeze: bool = False) -> None:
    """A CSV file's rows into `table` by one PostgreSQL `COPY`."""
    options = "FORMAT csv, FREEZE" if freeze else "FORMAT csv"
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN ({options})") as copy, \
            rows.open("rb") as csv:
        while chunk := csv.read(1 << 20):
            copy.write(chunk)


def _insert(con, cursor, table: str, columns: list[str], query: str, parameters: dict) -> None:
    """The query's rows into `table` by `executemany` in batches (SQLite)."""
    result = con.execute(query, parameters)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    while rows := result.fetchmany(BATCH):
        cursor.executemany(sql, rows)
