"""Standardising contact fields, the same way for every source and for the members: phone numbers
to E.164 (phonenumbers), e-mail addresses, names and addresses cleaned, dates of birth parsed.

Two forms: the *clean* form kept on the record (readable: 'Anne-Marie Dupré', '+13125550100'), and
the *matching* form the scoring compares (lower case, no accents, abbreviations spelled out:
'anne marie dupre', '12 main street'). A value that cannot be standardised raises `Unusable` with
the reason the import quarantines the row for.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import phonenumbers


class Unusable(ValueError):
    """A value that cannot be standardised; the message is the quarantine reason."""


_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
#: Street words as written in addresses, spelled out in the matching form.
ABBREVIATIONS = {
    "st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue", "blvd": "boulevard",
    "dr": "drive", "ln": "lane", "ct": "court", "pl": "place", "sq": "square", "hwy": "highway",
    "pkwy": "parkway", "apt": "apartment", "ste": "suite", "fl": "floor", "n": "north", "s": "south",
    "e": "east", "w": "west", "mt": "mount", "cres": "crescent", "tce": "terrace",
}


def clean_text(value: object) -> str:
    """Spaces trimmed and collapsed; None and spaces only are ''."""
    if value is None:
        return ""
    return _SPACES.sub(" ", str(value)).strip()


def clean_name(value: object) -> str:
    """A name as it is greeted: spaces collapsed, and title case when written all in one case
    ('ANNE MARIE' and 'anne marie' read 'Anne Marie'; 'McDonald' stays as written)."""
    text = clean_text(value)
    if text and (text.isupper() or text.islower()):
        text = text.title()
    return text


def unaccented(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def matching_name(value: object) -> str:
    """'Anne-Marie  Dupré' -> 'anne marie dupre': lower case, no accents, punctuation as spaces."""
    text = unaccented(clean_text(value)).lower()
    return _SPACES.sub(" ", re.sub(r"[^a-z0-9 ]", " ", text)).strip()


def matching_address(value: object) -> str:
    """'12, Main St.' -> '12 main street': the name's rules, then the street words spelled out."""
    return " ".join(ABBREVIATIONS.get(word, word) for word in matching_name(value).split())


def clean_email(value: object) -> str:
    """Trimmed and in lower case; '' when empty; Unusable when it is not an address."""
    text = clean_text(value).lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:"):]
    if text and not _EMAIL.match(text):
        raise Unusable("not an e-mail address")
    return text


def matching_email(value: object) -> str:
    """The address a mailbox receives: a '+tag' dropped from the local part."""
    text = clean_text(value).lower()
    local, at, domain = text.partition("@")
    return f"{local.split('+', 1)[0]}{at}{domain}" if at else text


def clean_phone(value: object, region: str = "US") -> str:
    """E.164 ('+13125550100'); '' when empty; Unusable when phonenumbers finds no valid number
    (a national number is read in `region`, ISO 3166-1 alpha-2)."""
    text = clean_text(value)
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        raise Unusable("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise Unusable("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


#: Formats a date of birth is read in when the mapping names none: ISO 8601 and its compact form.
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d")


def parse_birth_date(value: object, formats: tuple[str, ...] = DEFAULT_DATE_FORMATS,
                     today: date | None = None) -> date | None:
    """The date of birth, None when empty; Unusable when unreadable, in the future or before 1900."""
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    else:
        text = clean_text(value)
        if not text:
            return None
        parsed = None
        for fmt in formats:
            try:
                parsed = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
        if parsed is None:
            raise Unusable("unparseable date of birth")
    if parsed > (today or date.today()) or parsed.year < 1900:
        raise Unusable("date of birth out of range (before 1900 or in the future)")
    return parsed


def clean_country(value: object) -> str:
    text = clean_text(value).upper()
    if text and not re.fullmatch(r"[A-Z]{2}", text):
        raise Unusable("country is not an ISO 3166-1 alpha-2 code")
    return text


def clean_postal_code(value: object) -> str:
    return clean_text(value).upper()


#: The fields a complete profile has, with their weight in the completeness score (summing to 1).
COMPLETENESS_WEIGHTS = {
    "first_name": 0.15, "last_name": 0.15, "email": 0.15, "phone": 0.15, "birth_date": 0.10,
    "address_line": 0.10, "postal_code": 0.10, "city": 0.10,
}


def completeness(profile: dict) -> float:
    """The profile's completeness, 0 to 1: the weights of the fields it fills."""
    return round(sum(weight for name, weight in COMPLETENESS_WEIGHTS.items()
                     if profile.get(name) not in (None, "")), 2)
