"""Finding the member behind a card, a phone number or a member number, and the till's key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import signals
from django.db.models.base import ModelState

from clientele.barcodes import is_valid_ean13
from clientele.catalog.models import Store
from clientele.loyalty import errors, ledger, libpq
from clientele.loyalty.models import ApiKey, LoyaltyAccount, Tier
from clientele.members.models import Card, Member


def resolve_member(card: str | None = None, phone: str | None = None,
                   member_number: int | None = None) -> tuple[Member, Card | None]:
    """The active member (and the card scanned, if any) a till identified, by the first
    identifier given among card barcode, phone number and member number."""
    if card:
        return _checked_card(Card.objects.select_related("member").filter(barcode=card).first(), card)
    if phone:
        return _only_member_with_phone(list(Member.objects.filter(phone=phone, status=Member.Status.ACTIVE)[:2]),
                                       phone), None
    if member_number is not None:
        return _checked_member(Member.objects.filter(customer_id=member_number).first(), member_number), None
    raise errors.MissingIdentifier("give a card barcode, a phone number or a member number")


#: What the till shows on identify: the member, their tier and their balance summed over the ledger
#: ({context}: with the nightly till context's row, `members.TillContext`, when it is on).
_GREETING = """
SELECT {card_columns}, m.id AS member_id, m.customer_id AS customer_id, m.status AS member_status,
       m.first_name AS first_name, m.last_name AS last_name, t.id AS tier_id, t.name AS tier_name,
       t.perks AS tier_perks, {available} AS available, {pending} AS pending{context_columns}
FROM {members}
LEFT JOIN loyalty_loyaltyaccount a ON a.member_id = m.id
LEFT JOIN loyalty_tier t ON t.id = a.tier_id
LEFT JOIN loyalty_pointsentry e ON e.account_id = a.id{context_join}
WHERE {condition}
GROUP BY {card_group}m.id, t.id{context_group}
LIMIT 2
"""
#: The till context's columns, by name (`greet_member` reads them into `TillContext`).
CONTEXT_COLUMNS = ("top_categories", "last_bought", "last_bought_on", "goes_with")
_CONTEXT = {True: {"context_columns": "".join(f", x.{name} AS {name}" for name in CONTEXT_COLUMNS),
                   "context_join": "\nLEFT JOIN members_tillcontext x ON x.member_id = m.id", "context_group": ", x.id"},
            False: {"context_columns": "", "context_join": "", "context_group": ""}}
_BALANCE = dict(zip(("available", "pending"), ledger.balance_sums_sql("%s")))
_CARD = {"card_columns": "c.id AS card_id, c.status AS card_status", "card_group": "c.id, ",
         "members": "members_card c JOIN members_member m ON m.id = c.member_id", **_BALANCE}
_NO_CARD = {"card_columns": "NULL AS card_id, NULL AS card_status", "card_group": "", "members": "members_member m",
            **_BALANCE}
#: The greeting by identifier and with the till context or not.
_GREET = {(by, context): _GREETING.format(condition=condition, **members, **_CONTEXT[context])
          for by, condition, members in (
              ("card", "c.barcode = %s", _CARD),
              ("phone", f"m.phone = %s AND m.status = '{Member.Status.ACTIVE.value}'", _NO_CARD),
              ("member_number", "m.customer_id = %s", _NO_CARD))
          for context in (True, False)}


#: The greeting with the till's key checked in the same query: a column `till_key_id` that is
#: NULL when the key is refused, then the greeting's columns (NULLs when it found no member).
_GREETING_WITH_KEY = """
WITH till_key AS ({till_key}), greeting AS ({greeting})
SELECT till_key.key_id AS till_key_id, greeting.card_id, greeting.card_status, greeting.member_id,
       greeting.customer_id, greeting.member_status, greeting.first_name, greeting.last_name, greeting.tier_id,
       greeting.tier_name, greeting.tier_perks, greeting.available, greeting.pending{context_columns}
FROM (SELECT 1) AS one LEFT JOIN till_key ON 1 = 1 LEFT JOIN greeting ON 1 = 1
"""
_KEYED_CONTEXT = {True: "".join(f", greeting.{name}" for name in CONTEXT_COLUMNS), False: ""}


@dataclass(frozen=True)
class TillContext:
    """What the nightly refresh tells the cashier about the member (`members.TillContext`): the
    categories they buy most, most first; the category they last bought, its day, and the category
    that goes with it (empty strings and None when the refresh has not described them)."""

    top_categories: tuple[str, ...] = ()
    last_bought: str = ""
    last_bought_on: date | None = None
    goes_with: str = ""

    @property
    def line(self) -> str | None:
        """The one line the till shows, e.g. 'last bought: BAKED BREAD/BUNS/ROLLS (2017-06-01); goes
        with it: DELI MEATS'; None when there is nothing to say."""
        if not self.last_bought:
            return None
        day = f" ({self.last_bought_on.isoformat()})" if self.last_bought_on else ""
        suggestion = f"; goes with it: {self.goes_with}" if self.goes_with else ""
        return f"last bought: {self.last_bought}{day}{suggestion}"


def greet_member(card: str | None = None, phone: str | None = None, member_number: int | None = None,
                 key: PresentedKey | None = None, context: bool = False,
                 ) -> tuple[Member, Tier | None, ledger.Balance, TillContext | None]:
    """The member a till identified (found and checked as by `resolve_member`), their tier (None
    when they have none), their points now and, with `context`, their till context (None without),
    in one plain-SQL query: the till's identify call, made while the customer waits. `key`, the key
    the till presented, is checked in the same query, before anything else (errors.KeyRefused);
    None when the caller has checked it."""
    if card:
        sql, identifier = _GREET["card", context], card
    elif phone:
        sql, identifier = _GREET["phone", context], phone
    elif member_number is not None:
        sql, identifier = _GREET["member_number", context], member_number
    else:
        if key is not None and authenticate(key.raw) is None:
            raise errors.KeyRefused()
        raise errors.MissingIdentifier("give a card barcode, a phone number or a member number")
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each `connection.x` costs a thread-local look-up
    now = db.ops.adapt_datetimefield_value(ledger.now_utc())
    params = [now, now, identifier]
    if key is not None:
        key_sql, key_params = till_key_sql(key)
        sql = _GREETING_WITH_KEY.format(till_key=key_sql, greeting=sql, context_columns=_KEYED_CONTEXT[context])
        params = [*key_params, *params]
    rows = libpq.records(db, sql, params)
    if key is not None:
        if rows[0]["till_key_id"] is None:
            raise errors.KeyRefused()
        rows = [row for row in rows if row["customer_id"] is not None]  # NULL: no member found
    found = [(loaded(Member, id=row["member_id"], customer_id=row["customer_id"], status=row["member_status"],
                     first_name=row["first_name"], last_name=row["last_name"]), row) for row in rows]
    if card:
        scanned = None
        if found:
            member, row = found[0]
            scanned = loaded(Card, id=row["card_id"], barcode=card, member_id=member.pk, status=row["card_status"])
            scanned.member = member
        member = _checked_card(scanned, card)[0]
    elif phone:
        member = _only_member_with_phone([member for member, _ in found], phone)
    else:
        member = _checked_member(found[0][0] if found else None, member_number)
    row = found[0][1]
    perks = Tier._meta.get_field("perks").from_db_value(row["tier_perks"], None, db)
    tier = None if row["tier_id"] is None else loaded(Tier, id=row["tier_id"], name=row["tier_name"], perks=perks)
    told = None
    if context:
        day = row["last_bought_on"]
        told = TillContext(
            tuple(name for name in (row["top_categories"] or "").split("|") if name), row["last_bought"] or "",
            date.fromisoformat(day[:10]) if isinstance(day, str) else day, row["goes_with"] or "")
    return member, tier, ledger.Balance(int(row["available"] or 0), int(row["pending"] or 0)), told


def _only_member_with_phone(members: list[Member], phone: str) -> Member:
    if not members:
        raise errors.UnknownMember(f"no member with phone {phone!r}", field="phone")
    if len(members) > 1:
        raise errors.AmbiguousPhone(f"several members share phone {phone!r}: scan the card")
    return members[0]


#: The member a checkout credits, their account and tier, and whether they were referred: the
#: columns `member_to_credit` reads (by name), selected by `member_to_credit_sql`; then the
#: account's lock taken (`ledger.account_lock_sql`).
_MEMBER_TO_CREDIT = """
SELECT {card_columns}, m.id AS member_id, m.customer_id AS customer_id, m.status AS member_status,
       m.first_name AS first_name, m.last_name AS last_name, m.birth_date AS birth_date, a.id AS account_id,
       a.tier_id AS tier_id, t.name AS tier_name, t.earning_multiplier AS tier_multiplier,
       EXISTS (SELECT 1 FROM loyalty_referral r WHERE r.referred_id = m.id) AS referred, {{lock}} AS locked
FROM {members}
JOIN loyalty_loyaltyaccount a ON a.member_id = m.id
LEFT JOIN loyalty_tier t ON t.id = a.tier_id
WHERE {condition}
"""
_BY_CARD = _MEMBER_TO_CREDIT.format(card_columns="c.id AS card_id, c.status AS card_status",
                                    condition="c.barcode = %s",
                                    members="members_card c JOIN members_member m ON m.id = c.member_id")
_BY_MEMBER_NUMBER = _MEMBER_TO_CREDIT.format(card_columns="NULL AS card_id, NULL AS card_status",
                                             condition="m.customer_id = %s", members="members_member m")
#: The columns of `_MEMBER_TO_CREDIT`, by name.
MEMBER_COLUMNS = ("card_id", "card_status", "member_id", "customer_id", "member_status", "first_name", "last_name",
                  "birth_date", "account_id", "tier_id", "tier_name", "tier_multiplier", "referred", "locked")
#: The columns of `_MEMBER_TO_CREDIT` and no row: a basket without a member.
_NO_MEMBER = "SELECT " + ", ".join(f"NULL AS {name}" for name in MEMBER_COLUMNS) + " WHERE 1 = 0"


def member_to_credit_sql(card: str | None, member_number: int | None) -> tuple[str, list]:
    """The query (and its parameters) selecting the member a checkout credits by card or member
    number, with their points account locked until the end of the transaction: one row of
    MEMBER_COLUMNS, or none for an anonymous basket, an unknown member or one without an account
    yet. The checkout runs it within its first read (`checkout`); `member_to_credit` reads its row."""
    if not card and member_number is None:
        return _NO_MEMBER, []
    sql = (_BY_CARD if card else _BY_MEMBER_NUMBER).replace("{lock}", ledger.account_lock_sql("a.id"))
    return sql, [card or member_number]


def member_to_credit(row: dict, card: str | None,
                     member_number: int | None) -> tuple[Member, Card | None, LoyaltyAccount | None, bool]:
    """The member behind the row of `member_to_credit_sql` (by column name; NULLs when it found
    none: looked up as by `resolve_member`), checked as `resolve_member` checks them: (member,
    card, account, referred). The account is None (and referred True, meaning "not looked up")
    when the member has no account yet. Partly loaded objects (other fields load on access): every
    checkout reads one."""
    if row["account_id"] is None:  # an unknown member (an error) or one without an account yet
        member, scanned = resolve_member(card=card, member_number=member_number)
        return member, scanned, None, True
    member = loaded(Member, id=row["member_id"], customer_id=row["customer_id"], status=row["member_status"],
                    first_name=row["first_name"], last_name=row["last_name"], birth_date=row["birth_date"])
    account = loaded(LoyaltyAccount, id=row["account_id"], member_id=member.pk, tier_id=row["tier_id"])
    account.tier = None if row["tier_id"] is None else loaded(
        Tier, id=row["tier_id"], name=row["tier_name"], earning_multiplier=Decimal(str(row["tier_multiplier"])))
    member.loyalty_account = account
    scanned = None
    if card:
        scanned = loaded(Card, id=row["card_id"], barcode=card, member_id=member.pk, status=row["card_status"])
        scanned.member = member
        member = _checked_card(scanned, card)[0]
    else:
        member = _checked_member(member, member_number)
    return member, scanned, account, bool(row["referred"])


def _checked_card(found: Card | None, card: str) -> tuple[Member, Card]:
    if found is None:
        raise errors.UnknownCard(f"no card {card!r}" if is_valid_ean13(card) else f"{card!r} is not a card barcode")
    if found.status != Card.Status.ACTIVE:
        raise errors.BlockedCard(f"card {card} is {found.get_status_display().lower()}: ask for the member's new card")
    return _active(found.member, "card"), found


def _checked_member(member: Member | None, member_number: int) -> Member:
    if member is None:
        raise errors.UnknownMember(f"no member number {member_number}")
    return _active(member, "member_number")


def _active(member: Member, field: str) -> Member:
    if member.status != Member.Status.ACTIVE:
        raise errors.UnknownMember(f"member {member.customer_id} is {member.get_status_display().lower()}", field=field)
    return member


def hash_key(raw_key: str) -> str:
    # A key is 32 random bytes: a fast hash is as safe as a slow one and keeps each till call fast.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def issue_api_key(store, name: str) -> tuple[ApiKey, str]:
    """A new key for a till of `store`: the stored record and the key itself (shown once)."""
    prefix = secrets.token_hex(4)
    raw_key = f"clt_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(store=store, name=name, prefix=prefix, key_hash=hash_key(raw_key))
    return key, raw_key


@dataclass(frozen=True)
class PresentedKey:
    """An API key as the till sent it (`raw`: the X-API-Key header), not yet checked: the checkout
    and identify check it in their first query rather than in a query of its own."""

    raw: str | None


#: A till's key and its store's time zone (what `till_key` reads, by name), by {condition}.
_TILL_KEY = ("SELECT k.id AS key_id, k.store_id AS key_store_id, k.name AS key_name, k.prefix AS key_prefix, "
             "s.timezone AS store_timezone FROM loyalty_apikey k "
             "JOIN catalog_store s ON s.store_id = k.store_id WHERE {condition}")
_KEY_BY_ID = _TILL_KEY.format(condition="k.id = %s")
_LIVE_KEY_BY_HASH = _TILL_KEY.format(condition="k.key_hash = %s AND k.revoked_at IS NULL")


def till_key_sql(key: ApiKey | PresentedKey) -> tuple[str, list]:
    """The query (and its parameter) selecting the till's key with its store's time zone: the key
    given, or the live (not revoked) key matching what the till presented. Raises errors.KeyRefused for a
    presented key that is missing (no query can match it)."""
    if isinstance(key, ApiKey):
        return _KEY_BY_ID, [key.pk]
    if not key.raw:
        raise errors.KeyRefused()
    return _LIVE_KEY_BY_HASH, [hash_key(key.raw)]


def till_key(row: dict) -> ApiKey:
    """The key (and its store) of a row of `till_key_sql` (by column name), partly loaded (other
    fields load on access): every till call reads one."""
    key = loaded(ApiKey, id=row["key_id"], store_id=row["key_store_id"], name=row["key_name"],
                 prefix=row["key_prefix"])
    key.store = loaded(Store, store_id=row["key_store_id"], timezone=row["store_timezone"])
    return key


def authenticate(raw_key: str | None) -> ApiKey | None:
    """The live (not revoked) key matching what the till sent, or None."""
    try:
        sql, params = till_key_sql(PresentedKey(raw_key))
    except errors.KeyRefused:
        return None
    # Plain SQL and a partly loaded key spare the ORM's query building on every till call.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description]
    return None if row is None else till_key(dict(zip(names, row)))


def loaded(model, **values):
    """A model instance as read from the database with only these fields, given by attribute name
    (the others load on access): for the till's plain-SQL reads."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        fields = [field.attname for field in model._meta.concrete_fields if field.attname in values]
        return model.from_db(DEFAULT_DB_ALIAS, fields, [values[name] for name in fields])
    # What `from_db` makes, without `Model.__init__` walking every field to skip the deferred ones
    # (the most expensive Python of a checkout, which builds six of these): the same attributes,
    # the same state, and nothing listens to the signals `__init__` sends.
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS  # `connection`'s alias, without its look-up
    return instance


def unsaved(model, **values):
    """A new instance of `model`, not yet saved, with every concrete field given by attribute name
    (`member_id`, not `member`): `model(**values)` without `Model.__init__`'s walk over the fields
    and its related-object descriptors (a checkout builds its basket this way). A field left out
    is a TypeError, as `Model.__init__` would have filled it with its default."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return model(**values)
    missing = _attnames(model) - values.keys()
    if missing:
        raise TypeError(f"{model.__name__} needs {', '.join(sorted(missing))}")
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()  # adding, no database yet: as `Model.__init__` leaves it
    return instance


@lru_cache(maxsize=None)
def _attnames(model) -> frozenset[str]:
    return frozenset(field.attname for field in model._meta.concrete_fields)
