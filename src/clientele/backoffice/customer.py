"""What one customer 360 page is about: the member, who is looking, and the member's lake results."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from clientele.analytics.customer_view import customer_results, refresh_state
from clientele.backoffice.masking import display_name, may_see_personal_data
from clientele.members.models import Member


@dataclass
class CustomerPage:
    """The member shown, the user looking, and the lake's results of the member (read once)."""

    member: Member
    user: object
    unmasked: bool = field(init=False)

    def __post_init__(self) -> None:
        self.unmasked = may_see_personal_data(self.user)

    @property
    def title(self) -> str:
        return display_name(self.member, self.unmasked)

    @cached_property
    def results(self) -> dict[str, list[dict]]:
        """The member's rows of each per-customer result table of the last refresh."""
        return customer_results(self.member.customer_id)

    @cached_property
    def refresh(self) -> dict:
        """The last refresh's date and the day its results describe ({} before any refresh)."""
        return refresh_state()
