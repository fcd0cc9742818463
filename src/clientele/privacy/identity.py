"""Finding the member a privacy request is about, following merges to the survivor."""

from __future__ import annotations

from typing import Callable

from clientele.members.models import Member
from clientele.privacy.errors import UnknownMember

#: Functions answering, for a member number merged away, the survivor's number (None: not merged
#: away). The identity resolution (members' merges, issue 22) registers its lookup here with
#: `register_survivor_lookup`; until then a number is its own survivor.
_SURVIVOR_LOOKUPS: list[Callable[[int], int | None]] = []


def register_survivor_lookup(lookup: Callable[[int], int | None]) -> None:
    """Hook for the merges: `lookup(customer_id)` answers the surviving member's number of a
    member merged away, or None when the number was not merged away."""
    if lookup not in _SURVIVOR_LOOKUPS:
        _SURVIVOR_LOOKUPS.append(lookup)


def survivor_of(customer_id: int) -> int:
    """The member number that answers for `customer_id`: itself, or the survivor of its merges
    (followed through chains of merges)."""
    seen = {customer_id}
    current = customer_id
    changed = True
    while changed:
        changed = False
        for lookup in _SURVIVOR_LOOKUPS:
            survivor = lookup(current)
            if survivor is not None and survivor not in seen:
                seen.add(survivor)
                current, changed = survivor, True
                break
    return current


def find_member(customer_id: int) -> Member:
    """The member a request about `customer_id` is answered for (the survivor of a merge);
    UnknownMember when no member has that number."""
    survivor = survivor_of(customer_id)
    member = Member.objects.filter(customer_id=survivor).first()
    if member is None:
        raise UnknownMember(f"no member number {customer_id}")
    return member
