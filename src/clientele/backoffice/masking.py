"""Personal data as a role may see it: whole for roles that serve the member, masked for the others."""

from __future__ import annotations

from datetime import date

PERMISSION = "backoffice.view_personal_data"
MASK = "•••"

#: The member's personal data, as labels for people.
PERSONAL_FIELDS = {
    "first_name": "First name", "last_name": "Last name", "email": "E-mail", "phone": "Phone",
    "birth_date": "Birth date", "address_line": "Address", "postal_code": "Postal code", "city": "City",
}


def may_see_personal_data(user) -> bool:
    """Whether the user's role needs members' names and contact details."""
    return user.has_perm(PERMISSION)


def masked(value: str | date | None) -> str:
    """What a role without the permission sees of one personal value: its first letter (an e-mail's
    first letter and nothing of its domain), a phone's last two digits, nothing of a date; an empty
    value stays empty so a missing e-mail is still seen as missing."""
    if value in (None, ""):
        return ""
    if isinstance(value, date):
        return f"{MASK}-{MASK}-{MASK}"
    text = str(value)
    if "@" in text:
        return f"{text[0]}{MASK}@{MASK}"
    if text.startswith("+") or text.replace(" ", "").isdigit():
        return f"{MASK}{text[-2:]}"
    return f"{text[0]}{MASK}"


def identity(member, unmasked: bool) -> dict[str, str]:
    """The member's personal data field by field (label -> text), masked unless `unmasked`."""
    shown = {}
    for field, label in PERSONAL_FIELDS.items():
        value = getattr(member, field)
        shown[label] = ("" if value is None else str(value)) if unmasked else masked(value)
    return shown


def display_name(member, unmasked: bool) -> str:
    """The name a page is titled with: the member's name, or only the member number when masked."""
    return member.display_name if unmasked else f"Member {member.customer_id}"
