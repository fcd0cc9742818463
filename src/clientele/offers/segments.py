"""Segment expressions over the nightly customer profile, for offer eligibility (pure Python).

An expression is one or more terms joined by "&", each KIND=VALUE or KIND=VALUE|VALUE:
"pyramid=VIP|major & lifecycle=decline" holds for a VIP or major customer in decline. The kinds
are the profile's segments, named as `clientele export` names them.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Expression kind -> the customer profile's field (members.CustomerProfile, analytics.results).
PROFILE_FIELDS = {
    "rfm": "rfm_segment",
    "pyramid": "pyramid_level",
    "class": "value_class",
    "tier": "value_tier",
    "lifecycle": "lifecycle_stage",
    "at_risk": "at_risk",
}

HELP = ("Segment offers: KIND=VALUE terms joined by '&', alternatives by '|', KIND in "
        + ", ".join(PROFILE_FIELDS) + ", e.g. 'pyramid=VIP|major & lifecycle=decline'.")

Expression = tuple[tuple[str, frozenset[str]], ...]


def parse(expression: str) -> Expression:
    """The expression's terms as (profile field, accepted values); ValueError saying what is wrong."""
    if not expression.strip():
        raise ValueError("a segment offer needs a segment expression, e.g. 'pyramid=VIP'")
    terms = []
    for term in expression.split("&"):
        kind, equals, values = (part.strip() for part in term.partition("="))
        if not equals or not values:
            raise ValueError(f"term {term.strip()!r} is not KIND=VALUE")
        if kind not in PROFILE_FIELDS:
            raise ValueError(f"unknown segment kind {kind!r}: use one of {', '.join(PROFILE_FIELDS)}")
        accepted = frozenset(value.strip() for value in values.split("|"))
        if "" in accepted:
            raise ValueError(f"term {term.strip()!r} has an empty alternative")
        terms.append((PROFILE_FIELDS[kind], accepted))
    return tuple(terms)


def matches(expression: Expression, profile: Mapping[str, object]) -> bool:
    """True when the customer's profile (field -> value; booleans as 'true'/'false') meets every term."""
    for field, accepted in expression:
        value = profile.get(field)
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value is None or str(value) not in accepted:
            return False
    return True
