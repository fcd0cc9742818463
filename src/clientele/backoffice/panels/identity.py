"""The members app's panels: identity and consent (masked by role), cards, and the refresh's profile."""

from __future__ import annotations

from clientele.backoffice.masking import identity
from clientele.backoffice.panels import Panel, register
from clientele.backoffice.selectors import one_to_one


def _identity(page) -> dict:
    member = page.member
    demographics = one_to_one(member, "demographics")
    return {
        "fields": identity(member, page.unmasked),
        "masked": not page.unmasked,
        "member": member,
        "consents": [("E-mail", member.email_consent), ("SMS", member.sms_consent), ("Post", member.post_consent),
                     ("Profiling (personal offers from purchases)", member.profiling_consent)],
        "demographics": demographics,
    }


def _cards(page) -> dict:
    return {"cards": list(page.member.cards.order_by("-issued_at"))}


def _profile(page) -> dict:
    """The serving profile the nightly refresh wrote, with the next visit and lifecycle exit."""
    profile = one_to_one(page.member, "profile")
    visit = (page.results["next_visits"] or [None])[0]
    stage = (page.results["lifecycle"] or [None])[0]
    return {"profile": profile, "next_visit": visit, "lifecycle": stage}


register("customer_360", Panel("identity", "Identity and consent", "backoffice/panels/identity.html", 10, _identity))
register("customer_360", Panel("cards", "Cards", "backoffice/panels/cards.html", 20, _cards))
register("customer_360", Panel("profile", "What the nightly refresh computed", "backoffice/panels/profile.html", 30,
                               _profile))
