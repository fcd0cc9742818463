"""How every API reads what it is sent: text (a line: a name, a search; prose: a complaint, a
message; a code), numbers and days, as the database can store them.

No text takes a character the database cannot store: PostgreSQL's text refuses NUL (0x00), which
SQLite keeps, so a NUL reaching the database answered 500 on PostgreSQL alone. A line takes no
control character at all; prose keeps its tabs and line breaks. Every API's schemas, query and path
parameters type their text with these, so the refusal is django-ninja's validation error: a 422
problem naming the field, the same on both databases, and the rule is in the OpenAPI schema as a
pattern for clients (and Schemathesis) to read (decision 0104).

A number is at most what the database's integer column holds (SQLite cannot bind a larger one,
PostgreSQL refuses it in a 32-bit column). A day and a moment are ISO text, as their schemas say:
pydantic alone would also read a number ("0", 1700000000) as seconds since 1970, so a till whose
clock sends a number would have its basket dated silently. A number is never JSON's true or false:
pydantic reads them as 1 and 0, so `"store_id": false` was a basket at store 0 (found by the API
fuzz test, for the enrolment).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from ninja import Field
from pydantic import AwareDatetime, BeforeValidator, StringConstraints

#: No control character (C0 and DEL), NUL included.
LINE = r"^[^\x00-\x1f\x7f]*$"
#: No control character but tab, line feed and carriage return.
PROSE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"



def _not_true_or_false(value):
    if isinstance(value, bool):
        raise ValueError("a number, not true or false")
    return value


#: Refuses JSON's true and false where a number is asked (pydantic would read them as 1 and 0).
NotTrueOrFalse = BeforeValidator(_not_true_or_false)

#: A number naming something stored (a member, a product, a store, a complaint): what the
#: database's 64-bit integers hold, so a larger one is refused, not a 500 when written.
Number = Annotated[int, Field(ge=0, le=2**63 - 1), NotTrueOrFalse]
#: A count or limit stored in a 32-bit integer column (an offer's budget of redemptions).
Count = Annotated[int, Field(ge=1, le=2**31 - 1), NotTrueOrFalse]

#: A code a person chose for something (an offer's, a survey's): 1 to 40 letters, digits, '-' and '_'.
Code = Annotated[str, Field(pattern=r"^[-a-zA-Z0-9_]{1,40}$")]


def line(min_length: int = 0, max_length: int = 100, **field) -> type[str]:
    """A single line of text of `min_length` to `max_length` characters (`field`: the Field's
    other arguments, a description)."""
    return Annotated[str, StringConstraints(pattern=LINE), Field(min_length=min_length, max_length=max_length, **field)]


def prose(min_length: int = 0, max_length: int = 5000, **field) -> type[str]:
    """Free text of `min_length` to `max_length` characters, line breaks and tabs kept."""
    return Annotated[str, StringConstraints(pattern=PROSE), Field(min_length=min_length, max_length=max_length,
                                                                   **field)]


def _iso_day(value):
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)):
        return value
    raise ValueError("a day as text, e.g. 2017-12-31")


#: A day written as ISO text, 2017-12-31 (not a number of seconds since 1970).
Day = Annotated[date, BeforeValidator(_iso_day)]


def _iso_moment(value):
    if isinstance(value, datetime) or (isinstance(value, str) and re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]", value)):
        return value
    raise ValueError("a moment as ISO 8601 text with its offset, e.g. 2017-12-31T09:30:00+01:00")


#: A moment written as ISO 8601 text with its offset, 2017-12-31T09:30:00+01:00 (not a number).
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]
