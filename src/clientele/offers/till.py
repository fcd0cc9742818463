"""The offers at the till: what a checkout reads of them, applies and writes (decision 0045).

The checkout (`loyalty.checkout`) calls, in its transaction:

1. `scanned_list(number, day)` when the till scanned a list barcode (in the basket's `list_number`,
   or in `card`: a list's number has the in-store prefix 28, never a card's): the list, refused
   when unknown, not current on the basket's day (`expired_list`); its member is the one credited.
2. `offers_for_till(stamp, at)`: every active offer's terms, kept in the worker for as long as the
   offers' stamp (`OFFERS_STAMP_SQL`, read in the checkout's first query on PostgreSQL) is the
   same; the budget left in them may be stale, the database's write is what counts.
3. `member_offers(member, day)`: the member's uses of each offer, their current list's offers
   with its sizing factor and the offers they activated in the portal (one query), as
   `evaluate.MemberView`.
4. `evaluate.apply_offers`, in the checkout's plain-Python `decide`.
5. The store writes the redemptions with the basket: `OrmStore` through
   `services.record_redemptions`; `OneStatementStore` in its one statement (`REDEMPTION_CTES`),
   which refuses itself whole (`clientele_refuse`) when a budget or a member's limit could not be
   taken. The checkout then evaluates again with fresh terms (`forget_terms`), at most
   `ATTEMPTS` times, before answering 409 with the code.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections

from clientele.barcodes import LIST_PREFIX, is_valid_ean13
from clientele.offers import segments
from clientele.offers.errors import ExpiredList, ListOfAnotherMember, UnknownList
from clientele.offers.evaluate import Line, MemberView, OfferResult, OfferTerms, apply_offers
from clientele.offers.models import Offer

#: How often a checkout evaluates its offers again when another till took a budget meanwhile.
ATTEMPTS = 3
#: A till's offline queue is at most this old (loyalty.checkout.MAX_BASKET_AGE): offers that ended
#: before are never needed again.
_OLDEST_BASKET = timedelta(days=400)
#: The offers' version (PostgreSQL, within the checkout's first query): changes with any saved
#: change to an offer (each bumps its `version`), a new offer or a removed one.
OFFERS_STAMP_SQL = ("(SELECT count(*)::text || ':' || COALESCE(sum(version), 0)::text || ':' || "
                    "COALESCE(max(id), 0)::text FROM offers_offer)")
_terms_kept: dict[str, list[OfferTerms]] = {}


def is_list_number(barcode: str | None) -> bool:
    """Whether a scanned barcode is a shopping list's (EAN-13 with the lists' prefix 28)."""
    return bool(barcode) and barcode.startswith(LIST_PREFIX) and is_valid_ean13(barcode)


class ScannedList(NamedTuple):
    list_id: int
    number: str
    status: str
    member_id: int
    customer_id: int
    valid_from: str
    valid_until: str


_SCANNED_LIST = """
SELECT l.id AS list_id, l.number AS number, l.status AS status, l.member_id AS member_id,
       m.customer_id AS customer_id, CAST(l.valid_from AS TEXT) AS valid_from,
       CAST(l.valid_until AS TEXT) AS valid_until
FROM offers_shoppinglist l JOIN members_member m ON m.id = l.member_id
WHERE l.number = %s
"""


def scanned_list(number: str) -> ScannedList:
    """The list of that number (UnknownList when there is none); `check_list` says whether it may
    be used for a basket."""
    from clientele.loyalty import libpq

    found = libpq.records(connections[DEFAULT_DB_ALIAS], _SCANNED_LIST, [number])
    if not found:
        raise UnknownList(f"no shopping list {number}", field="list_number")
    row = found[0]
    return ScannedList(row["list_id"], row["number"], row["status"], row["member_id"], row["customer_id"],
                       row["valid_from"][:10], row["valid_until"][:10])


def check_list(scanned: ScannedList, day: date, customer_id: int | None) -> None:
    """Refuses the list for a basket of `day` (its store's day) credited to `customer_id`:
    ExpiredList when replaced by a newer list or outside its dates, ListOfAnotherMember when the
    card scanned with it is another member's."""
    if scanned.status != "current":
        raise ExpiredList(f"list {scanned.number} was replaced by a newer list", field="list_number")
    if not scanned.valid_from <= day.isoformat() <= scanned.valid_until:
        raise ExpiredList(f"list {scanned.number} is valid from {scanned.valid_from} to {scanned.valid_until}, "
                          f"not on {day.isoformat()}", field="list_number")
    if customer_id is not None and scanned.customer_id != customer_id:
        raise ListOfAnotherMember(f"list {scanned.number} belongs to another member than the card scanned",
                                  field="list_number")


def _load_terms(at: datetime) -> list[OfferTerms]:
    from clientele.offers.services import _terms

    offers = (Offer.objects.filter(active=True, valid_until__gt=at - _OLDEST_BASKET).select_related("spend")
              .prefetch_related("products", "audience", "spend__parts"))
    return [_terms(offer) for offer in offers]


def offers_for_till(stamp: str | None, at: datetime) -> list[OfferTerms]:
    """Every active offer a basket of the last 400 days may earn, read once per worker for as long as
    the offers' `stamp` stays the same; read every time without a stamp (SQLite)."""
    if stamp is None:
        return _load_terms(at)
    terms = _terms_kept.get(stamp)
    if terms is None:
        _terms_kept.clear()  # an older stamp is never needed again
        terms = _terms_kept[stamp] = _load_terms(at)
    return terms


def forget_terms() -> None:
    """Drop the kept terms: the next checkout reads them (and the budgets left) afresh."""
    _terms_kept.clear()


class MemberOffers(NamedTuple):
    """What the evaluation knows of the member (`view`) and their list current on the day (or None)."""

    view: MemberView
    list_id: int | None
    list_number: str | None


_MEMBER_OFFERS = """
SELECT 'use' AS kind, u.offer_id AS offer_id, u.uses AS uses, NULL AS list_id, NULL AS number,
       NULL AS valid_from, NULL AS valid_until, NULL AS factor{no_offers}
FROM offers_memberofferuse u WHERE u.member_id = %s AND u.uses > 0
UNION ALL
{lists}
UNION ALL
SELECT 'activation', a.offer_id, 0, NULL, NULL, NULL, NULL, NULL{no_offers}
FROM offers_offeractivation a WHERE a.member_id = %s
"""
#: PostgreSQL: each current list of the member is one row, its offers one array (the 20 offers of a
#: list cost one row to read and load, not 20 rows made into 20 dicts: issue 19's till cost).
_MEMBER_OFFERS_POSTGRESQL = _MEMBER_OFFERS.format(no_offers=", NULL::bigint[] AS offer_ids", lists="""
SELECT 'list', NULL, 0, l.id, l.number, CAST(l.valid_from AS TEXT), CAST(l.valid_until AS TEXT),
       CAST(l.sizing_factor AS TEXT),
       ARRAY(SELECT i.offer_id FROM offers_shoppinglistitem i
             WHERE i.shopping_list_id = l.id AND i.offer_id IS NOT NULL)
FROM offers_shoppinglist l
WHERE l.member_id = %s AND l.status = 'current'""")
#: Elsewhere (SQLite): one row per offer of the list (none: one row for the list itself).
_MEMBER_OFFERS_BY_ROW = _MEMBER_OFFERS.format(no_offers="", lists="""
SELECT 'list', i.offer_id, 0, l.id, l.number, CAST(l.valid_from AS TEXT), CAST(l.valid_until AS TEXT),
       CAST(l.sizing_factor AS TEXT)
FROM offers_shoppinglist l LEFT JOIN offers_shoppinglistitem i ON i.shopping_list_id = l.id AND i.offer_id IS NOT NULL
WHERE l.member_id = %s AND l.status = 'current'""")


def member_offers(member, day: date, terms: list[OfferTerms]) -> MemberOffers:
    """The member's uses of each offer, their current list's offers (when the list is valid on
    `day`) and the offers they activated, in one query; their nightly profile too when a segment
    offer is among `terms`."""
    from clientele.loyalty import libpq

    db = connections[DEFAULT_DB_ALIAS]
    by_array = db.vendor == "postgresql"
    rows = libpq.rows(db, _MEMBER_OFFERS_POSTGRESQL if by_array else _MEMBER_OFFERS_BY_ROW,
                      [member.pk, member.pk, member.pk])
    uses, factors, activated, list_id, number = {}, {}, set(), None, None
    today = day.isoformat()
    for kind, offer_id, used, a_list, a_number, valid_from, valid_until, factor, *offer_ids in rows:
        if kind == "use":
            uses[offer_id] = used
        elif kind == "activation":
            activated.add(offer_id)
        elif valid_from[:10] <= today <= valid_until[:10]:
            list_id, number = a_list, a_number
            listed = offer_ids[0] if by_array else [offer_id] if offer_id is not None else []
            if listed:
                factors.update(dict.fromkeys(listed, Decimal(factor)))
    profile = {}
    if any(t.eligibility == Offer.Eligibility.SEGMENT for t in terms):
        found = _profile(member)
        profile = {name: getattr(found, name) for name in segments.PROFILE_FIELDS.values()} if found else {}
    return MemberOffers(MemberView(member.customer_id, profile, uses, factors, frozenset(activated)), list_id, number)


def _profile(member):
    from clientele.members.models import Member

    try:
        return Member.objects.select_related("profile").get(pk=member.pk).profile
    except Exception:  # no profile yet (RelatedObjectDoesNotExist): no segment matches
        return None


class TillOffers(NamedTuple):
    """What a checkout applies: the evaluation's result, and the list its list offers came from."""

    result: OfferResult
    list_id: int | None
    list_number: str | None
    limited: frozenset[int] = frozenset()  # the offers with a per-member limit (only their uses are counted)

    @property
    def applied(self) -> bool:
        return bool(self.result.applied)


def apply_to_basket(lines: list[Line], terms: list[OfferTerms], member: MemberOffers | None,
                    at: datetime) -> TillOffers:
    """The offers a basket earns (plain Python)."""
    view = member.view if member is not None else MemberView()
    result = apply_offers(lines, terms, view, at)
    limited = frozenset(t.offer_id for t in terms if t.per_member_limit is not None)
    return TillOffers(result, member.list_id if member else None, member.list_number if member else None, limited)


def answer_parts(offers: TillOffers) -> dict:
    """The till's answer's part about offers: each line's discount and offers, the offers applied."""
    result = offers.result
    return {
        "lines": [{"line_no": line.line_no, "discount": str(line.discount), "offers": list(line.offer_codes)}
                  for line in result.lines],
        "offers": [{"code": a.code, "discount": str(a.discount), "bonus_points": a.bonus_points,
                    "funded_by_manufacturer": a.funder_id, "from_list": a.from_list, "lines": list(a.line_nos)}
                   for a in result.applied],
        "discount_total": str(result.total_discount),
        "list_number": offers.list_number,
    }


#: The redemptions in the one-statement write (PostgreSQL), after its `basket` CTE: for each applied
#: offer, one slice of its budget (decision 0091) with enough left, the one the basket's number
#: points to first (probed by its key; the others, in the basket's order, only when it has too
#: little), so tills at once take from different slices; then each slice found is reached by its
#: row's address (decision 0097): locked in the slices' order (two tills never wait for each other
#: in a circle; the lock returns the row's newest version when another till took from it first) and
#: taken by a conditional UPDATE of that version; the member's use counted under their limit; the
#: redemption recorded. The statement's last SELECT refuses the whole statement (`clientele_refuse`)
#: when one budget or one limit was not taken: nothing of the basket is written.
_BUDGET_CTES = """
budget_slices AS (
    SELECT o.offer_id, o.money, pick.id, pick.row_at
    FROM basket, unnest(%(offer_ids)s::bigint[], %(offer_discounts)s::numeric[]) AS o(offer_id, money)
         JOIN offers_offerbudget b ON b.offer_id = o.offer_id
         CROSS JOIN LATERAL (
             (SELECT s.id, s.ctid AS row_at FROM offers_offerbudgetslice s
              WHERE s.budget_id = o.offer_id AND s.slice = basket.id %% b.slices
                AND (s.money_left IS NULL OR s.money_left >= o.money) AND (s.count_left IS NULL OR s.count_left >= 1))
             UNION ALL
             (SELECT s.id, s.ctid FROM offers_offerbudgetslice s
              WHERE s.budget_id = o.offer_id
                AND (s.money_left IS NULL OR s.money_left >= o.money) AND (s.count_left IS NULL OR s.count_left >= 1)
              ORDER BY ((s.slice - basket.id) %% b.slices + b.slices) %% b.slices LIMIT 1)
             LIMIT 1) AS pick
), budgets_locked AS (
    SELECT s.id, s.ctid AS row_at FROM offers_offerbudgetslice s
    WHERE s.ctid = ANY(ARRAY(SELECT row_at FROM budget_slices))
    ORDER BY s.id FOR NO KEY UPDATE OF s
), offer_budgets AS (
    UPDATE offers_offerbudgetslice s
    SET money_left = s.money_left - c.money, count_left = s.count_left - 1,
        given_money = s.given_money + c.money, given_count = s.given_count + 1
    FROM budgets_locked l JOIN budget_slices c ON c.id = l.id
    WHERE s.ctid = l.row_at
      AND (s.money_left IS NULL OR s.money_left >= c.money) AND (s.count_left IS NULL OR s.count_left >= 1)
    RETURNING c.offer_id
)"""
_USES_CTE = """offer_uses AS (
    INSERT INTO offers_memberofferuse AS u (offer_id, member_id, uses)
    SELECT o.offer_id, %(member_id)s, 1 FROM basket, unnest(%(limited_ids)s::bigint[]) AS o(offer_id)
    WHERE %(member_id)s::bigint IS NOT NULL
    ON CONFLICT (offer_id, member_id) DO UPDATE SET uses = u.uses + 1
    WHERE u.uses < COALESCE((SELECT per_member_limit FROM offers_offer WHERE id = EXCLUDED.offer_id), 2147483647)
    RETURNING u.offer_id
)"""
_REDEMPTIONS_CTE = """offer_redemptions AS (
    INSERT INTO offers_offerredemption (redemption_key, kind, offer_id, offer_version, funder_id, member_id,
                                        basket_id, shopping_list_id, discount, bonus_points, uses, redeemed_at)
    SELECT 'basket:' || basket.id || ':' || o.offer_id, 'redeemed', o.offer_id, o.version, o.funder_id,
           %(member_id)s, basket.id, CASE WHEN o.from_list THEN %(list_id)s::bigint END, o.money, o.bonus, 1,
           %(transacted_at)s
    FROM basket, unnest(%(offer_ids)s::bigint[], %(offer_versions)s::integer[], %(offer_funders)s::bigint[],
                        %(offer_discounts)s::numeric[], %(offer_bonus)s::bigint[], %(offer_from_list)s::boolean[])
         AS o(offer_id, version, funder_id, money, bonus, from_list)
)"""
REDEMPTION_CTES = ", ".join((_BUDGET_CTES, _USES_CTE, _REDEMPTIONS_CTE))
#: `REDEMPTION_CTES` for a basket none of whose offers has a per-member limit (a list's, as a rule):
#: no member's use to count, so no upsert for the statement to start and end at every checkout.
REDEMPTION_CTES_UNLIMITED = ", ".join((_BUDGET_CTES, _REDEMPTIONS_CTE))
#: The last SELECT's column refusing the statement when a budget or a limit was not taken.
_BUDGET_REFUSAL = """
    WHEN (SELECT count(*) FROM offer_budgets) < cardinality(%(offer_ids)s::bigint[])
        THEN clientele_refuse('offer_budget_exhausted')"""
_LIMIT_REFUSAL = """
    WHEN %(member_id)s::bigint IS NOT NULL AND (SELECT count(*) FROM offer_uses) < cardinality(%(limited_ids)s::bigint[])
        THEN clientele_refuse('offer_member_limit_reached')"""
REDEMPTION_CHECK = f"CASE{_BUDGET_REFUSAL}{_LIMIT_REFUSAL} END AS offers_refused"
#: `REDEMPTION_CHECK` with `REDEMPTION_CTES_UNLIMITED`: only the budgets can refuse.
REDEMPTION_CHECK_UNLIMITED = f"CASE{_BUDGET_REFUSAL} END AS offers_refused"


def redemption_params(offers: TillOffers) -> dict:
    """`REDEMPTION_CTES`'s parameters (the member's and the basket's come from the basket's): each
    column of the applied offers as an array's text, made in one pass over them."""
    ids, discounts, versions, funders, bonus, from_list, limited = [], [], [], [], [], [], []
    for a in offers.result.applied:
        ids.append(str(a.offer_id))
        discounts.append(str(a.discount))
        versions.append(str(a.version))
        funders.append("NULL" if a.funder_id is None else str(a.funder_id))
        bonus.append(str(a.bonus_points))
        from_list.append("t" if a.from_list else "f")
        if a.offer_id in offers.limited:
            limited.append(ids[-1])
    return {
        "offer_ids": _text(ids), "offer_discounts": _text(discounts), "offer_versions": _text(versions),
        "offer_funders": _text(funders), "offer_bonus": _text(bonus), "offer_from_list": _text(from_list),
        "list_id": offers.list_id, "limited_ids": _text(limited),
    }


def _text(values: list[str]) -> str:
    return "{" + ",".join(values) + "}"


def refusal(error: Exception):
    """The offers' refusal behind a database error raised by `clientele_refuse`, or None."""
    from clientele.offers.errors import BudgetExhausted, MemberLimitReached

    text = str(getattr(error, "__cause__", None) or error)
    if "offer_budget_exhausted" in text:
        return BudgetExhausted("another till took what was left of an offer's budget")
    if "offer_member_limit_reached" in text:
        return MemberLimitReached("the member reached an offer's limit at another till")
    return None


def record_with_orm(basket, offers: TillOffers) -> None:
    """The redemptions of `basket` (a loyalty Basket just saved) written through the ORM
    (`OrmStore`), in the checkout's transaction."""
    from clientele.members.models import Member
    from clientele.offers.list_models import ShoppingList
    from clientele.offers.services import record_redemptions

    member = Member(pk=basket.member_id) if basket.member_id else None
    shopping_list = ShoppingList(pk=offers.list_id) if offers.list_id else None
    record_redemptions(basket, offers.result, member, shopping_list)


def current_offers(member, at: datetime) -> list[dict]:
    """What identify shows: the offers of the member's list current on `day` (each with its product,
    the member's own value and the list's last day) and the offers addressed to them by name, at
    `at` (UTC; the list's dates are compared with its UTC day)."""
    from clientele.offers.list_models import ShoppingListItem

    day = at.date()

    items = (ShoppingListItem.objects.filter(shopping_list__member_id=member.pk, shopping_list__status="current",
                                             shopping_list__valid_from__lte=day, shopping_list__valid_until__gte=day)
             .exclude(offer=None).select_related("offer", "shopping_list").order_by("position"))
    shown = [{"code": item.offer.code, "name": item.offer.name, "product_id": item.product_id,
              "value": str(item.offer_value) if item.offer_value is not None else None,
              "description": item.offer_description, "valid_until": item.shopping_list.valid_until.isoformat(),
              "list_number": item.shopping_list.number} for item in items]
    seen = {offer["code"] for offer in shown}
    for offer in Offer.objects.filter(active=True, eligibility=Offer.Eligibility.MEMBERS, audience__pk=member.pk,
                                      valid_from__lte=at, valid_until__gt=at):
        if offer.code not in seen:
            shown.append({"code": offer.code, "name": offer.name, "product_id": None, "value": None,
                          "description": str(offer), "valid_until": offer.valid_until.date().isoformat(),
                          "list_number": None})
    return shown
