"""Pages refuse a control character in what a browser sends (decision 0104)."""

from __future__ import annotations

import re

from django.http import HttpResponseBadRequest

#: C0 control characters and DEL, but tab, line feed and carriage return (a text area's own).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RefuseControlCharacters:
    """A page's request whose path, query string or form holds a control character (NUL, escape,
    a unit separator...) answers 400 naming the field, before any view reads it. PostgreSQL's text
    cannot store a NUL (SQLite can), and many pages read their parameters without a Django form
    (whose fields refuse a NUL), so a NUL answered 500 on PostgreSQL alone; the others would be
    stored in a name or a note and reach an export, a printed list or a terminal. No person types
    one; a page's text keeps tabs and line breaks, and every printable character of any script.

    The APIs (under /api/) are left to their schemas, which refuse them with their own 422 problem."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            return self.get_response(request)
        found = _field_holding_a_control_character(request)
        if found is not None:
            field, character = found
            return HttpResponseBadRequest(f"{field}: holds a control character (0x{ord(character):02x}), which "
                                          "is not text; remove it and send again",
                                          content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _field_holding_a_control_character(request) -> tuple[str, str] | None:
    """The first part of the request holding a control character ('path', or a parameter's name,
    its control characters escaped) and that character."""
    if found := CONTROL.search(request.path_info):
        return "path", found.group()
    parameters = [request.GET] + ([request.POST] if request.method == "POST" else [])
    for values in parameters:
        for name, given in values.lists():
            for text in (name, *given):
                if found := CONTROL.search(text):
                    return CONTROL.sub(lambda c: f"\\x{ord(c.group()):02x}", name), found.group()
    return None
