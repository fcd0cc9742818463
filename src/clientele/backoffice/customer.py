"""What one customer 360 page is about: the member, who is looking, and the member's lake results."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

from clientele.analytics.customer_view import customer_results, refresh_state
from clientele.backoffice.masking import display_name, may_see_personal_data
from clientele.members.models import Member


#: Reads the member's lake results while the page's panels query the operational database: DuckDB
#: and the database driver both release the GIL while they work.
_lake_reads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="customer-360-lake")


@dataclass
class CustomerPage:
    """The member shown, the user looking, and the lake's results of the member (read once; started
    ahead by `read_results_ahead`, else when first asked)."""

    member: Member
    user: object
    unmasked: bool = field(init=False)
    _results: Future | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.unmasked = may_see_personal_data(self.user)

    def read_results_ahead(self) -> CustomerPage:
        """Start reading the member's lake results in the background (while the panels read the
        operational database). Returns the page."""
        if self._results is None:
            self._results = _lake_reads.submit(customer_results, self.member.customer_id)
        return self
    @property
    def title(self) -> str:
        return display_name(self.member, self.unmasked)

    @cached_property
    def results(self) -> dict[str, list[dict]]:
        """The member's rows of each per-customer result table of the last refresh."""
        return self.read_results_ahead()._results.result()

    @cached_property
    def refresh(self) -> dict:
        """The last refresh's date and the day its results describe ({} before any refresh)."""
        return refresh_state()
