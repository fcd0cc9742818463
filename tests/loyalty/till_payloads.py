"""Payloads a till sends, and the till's HTTP client, for the scenarios."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from api_fuzz import connection_kept_open
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import Client

from clientele.loyalty.api_hot_calls import headers
from clientele.site.wsgi import application

BREAD, MILK, SHAMPOO = 1001, 1002, 1003

def minutes_ago(minutes: int = 5) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat()

def basket(receipt: str = "1001", card: str | None = None, lines: list | None = None, store_id: int = 1,
           till_id: str = "T1", at: str | None = None) -> dict:
    """A till's basket payload: by default bread 2 x 2.50 and store-brand milk 1 x 3.00."""
    return {
        "store_id": store_id, "till_id": till_id, "receipt_number": receipt, "transacted_at": at or minutes_ago(),
        "card": card,
        "lines": lines if lines is not None else [
            {"line_no": 1, "product_id": BREAD, "quantity": "2", "unit_price": "2.50"},
            {"line_no": 2, "product_id": MILK, "quantity": "1", "unit_price": "3.00"},
        ],
    }

def post(client: Client, path: str, payload: dict):
    return client.post(f"/api{path}", payload, content_type="application/json")

class TillClient(Client):
    """Django's test client sending each request through the served application (`site.wsgi`), as
    a till's request arrives: identify and the basket post are answered by the hot calls in front
    of Django, every other call by Django."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.handler = _HotCallsFirst(self.handler)

class _HotCallsFirst:
    def __init__(self, django_handler):
        self.django_handler = django_handler

    def __call__(self, environ: dict) -> HttpResponse:
        with connection_kept_open():
            answered = application.answer(environ)
        if answered is None:
            return self.django_handler(environ)
        status, body = answered
        response = HttpResponse(body, status=status)
        for name, value in headers(status, body):
            response[name] = value
        response.wsgi_request = WSGIRequest(environ)
        return response
