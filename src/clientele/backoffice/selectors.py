"""The back office's reads of members: search and the member a user may open."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Value
from django.db.models.functions import Upper
from django.http import Http404

from clientele.errors import ClienteleError
from clientele.members.models import Card, Member

SEARCH_LIMIT = 20
EVERY_STORE = "backoffice.view_all_stores"
MAX_NAME_WORDS = 6


class MalformedSearch(ClienteleError):
    """The search text cannot name a member."""


def _in_reach(user):
    """The members the user may open: every member, or a store manager's own store's members."""
    if user.has_perm(EVERY_STORE):
        return Member.objects.all()
    store = _own_store(user)
    return Member.objects.filter(home_store_id=store) if store is not None else Member.objects.none()


def _own_store(user) -> int | None:
    """The store a store manager works at (None for anyone else)."""
    return getattr(getattr(user, "staff_store", None), "store_id", None)


def find_members(user, query: str) -> list[Member]:
    """Members matching a card barcode, member number, phone, e-mail or name, at most SEARCH_LIMIT,
    by member number; each kind of search reads one index.

    The e-mail and name are compared as the indexes `member_email_any_case` and
    `member_name_any_case` hold them (UPPER of the column), so both databases read the index.

    Digits are a member number, a card barcode or a phone; text with '@' an e-mail (any case); text
    starting with '+' a phone; other text a last name, or first names and a last name (any case).
    """
    text = " ".join(query.split())
    if not text:
        raise MalformedSearch("type a card barcode, member number, phone, e-mail or name")
    if len(text) > 200:
        raise MalformedSearch("a search is at most 200 characters")
    if len(text.split(" ")) > MAX_NAME_WORDS:
        raise MalformedSearch(f"a name is at most {MAX_NAME_WORDS} words")
    reach = _in_reach(user)
    digits = text.replace(" ", "").replace("-", "")
    found: list[Member] = []
    if digits.lstrip("+").isdigit():
        number = digits.lstrip("+")
        if not digits.startswith("+") and len(number) <= 18:
            found += reach.filter(customer_id=int(number))
        card = Card.objects.filter(barcode=number).values_list("member_id", flat=True).first()
        if card is not None:
            found += reach.filter(pk=card)
        found += reach.filter(phone__in=["+" + number, number])
    elif "@" in text:
        found += reach.alias(key=Upper("email")).filter(key=Upper(Value(text)))[:SEARCH_LIMIT]
    else:
        by_name = reach.alias(last=Upper("last_name"), first=Upper("first_name"))
        found += by_name.filter(last=Upper(Value(text)))[:SEARCH_LIMIT]
        words = text.split(" ")
        for cut in range(1, len(words)):  # "Mary Ann Smith": Mary + Ann Smith, Mary Ann + Smith
            first, last = " ".join(words[:cut]), " ".join(words[cut:])
            found += by_name.filter(last=Upper(Value(last)), first=Upper(Value(first)))[:SEARCH_LIMIT]
    unique = {member.pk: member for member in found}
    return sorted(unique.values(), key=lambda m: m.customer_id)[:SEARCH_LIMIT]


def member_for(user, customer_id: int) -> Member:
    """The member the user asked to open: 404 if there is none, 403 if the member is out of the
    user's reach (another store's member for a store manager)."""
    # the member's one-to-one rows every 360 shows come in the same statement
    member = (Member.objects.select_related("home_store", "profile", "demographics", "loyalty_account__tier")
              .filter(customer_id=customer_id).first())
    if member is None:
        raise Http404(f"no member number {customer_id}")
    if not user.has_perm(EVERY_STORE):
        store = _own_store(user)
        if store is None or member.home_store_id != store:
            raise PermissionDenied(f"member {customer_id} belongs to another store than yours")
    return member


def one_to_one(member: Member, name: str):
    """The member's row of a one-to-one table (`profile`, `demographics`, `loyalty_account`), None
    when there is none."""
    return getattr(member, name, None)
