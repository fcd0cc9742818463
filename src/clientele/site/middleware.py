"""Pages refuse a NUL character in what a browser sends (decision 0104)."""

from __future__ import annotations

from django.http import HttpResponseBadRequest

NUL = "\x00"


class RefuseNulCharacters:
    """A page's request whose path, query string or form holds a NUL (0x00) answers 400 naming the
    field, before any view reads it: PostgreSQL's text cannot store a NUL (SQLite can), and many
    pages read their parameters without a Django form (whose fields refuse it), so a NUL answered
    500 on PostgreSQL alone. No person types one; a page's text keeps every other character.

    The APIs (under /api/) are left to their schemas, which refuse it with their own 422 problem."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            return self.get_response(request)
        field = _field_holding_nul(request)
        if field is not None:
            return HttpResponseBadRequest(f"{field}: holds a NUL character (0x00), which cannot be stored; "
                                          "remove it and send again", content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _field_holding_nul(request) -> str | None:
    """The name of the first part of the request holding a NUL: 'path', or a parameter's name."""
    if NUL in request.path_info:
        return "path"
    parameters = [request.GET] + ([request.POST] if request.method == "POST" else [])
    for values in parameters:
        for name, given in values.lists():
            if NUL in name or any(NUL in value for value in given):
                return name.replace(NUL, "\\x00")
    return None
