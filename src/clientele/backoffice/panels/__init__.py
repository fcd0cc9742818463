"""The panels pages are made of, contributed by each capability through one registry.

As in Wagtail's admin (`construct_homepage_panels`), the page that shows panels never imports the
capabilities' internals: a capability registers a `Panel` for a page ("customer_360",
"dashboard"), with the permission it needs; the page asks `panels_for(page, user)` and renders
each panel's template with the context the panel builds. Contributions are the modules of this
package and any installed app's `backoffice_panels` module (loaded once, when Django starts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.utils.module_loading import autodiscover_modules

PAGES = ("customer_360", "dashboard")
_CONTRIBUTIONS = ("identity", "loyalty", "analytics", "baskets")


@dataclass(frozen=True)
class Panel:
    """One block of a page: its title, template, place (lower first), the permission a user needs
    to see it (None: anyone who may open the page) and the function building its context."""

    key: str
    title: str
    template: str
    order: int
    context: Callable[..., dict]
    permission: str | None = None


_registry: dict[str, dict[str, Panel]] = {page: {} for page in PAGES}


def register(page: str, panel: Panel) -> Panel:
    """Add a panel to a page (registering the same key again replaces it). Returns the panel."""
    if page not in _registry:
        raise ValueError(f"unknown back-office page {page!r}: pages are {', '.join(PAGES)}")
    _registry[page][panel.key] = panel
    return panel


def panels_for(page: str, user) -> list[Panel]:
    """The panels of `page` the user may see, in page order."""
    return sorted((p for p in _registry[page].values() if p.permission is None or user.has_perm(p.permission)),
                  key=lambda p: (p.order, p.key))


def load_contributed_panels() -> None:
    """Import every contribution once: this package's modules and each app's `backoffice_panels`."""
    for name in _CONTRIBUTIONS:
        import_module(f"{__name__}.{name}")
    autodiscover_modules("backoffice_panels")
