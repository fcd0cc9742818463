"""The member portal's fixtures: a real SMTP server and SMS webhook on 127.0.0.1 that keep what they
receive (the sign-in codes), members with a real history, and API clients signed in as them."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import portal_builders as build
import pytest
from portal_helpers import Mailbox, api_sign_in
from aiosmtpd.controller import Controller
from django.test import Client

from clientele.config import settings


@pytest.fixture
def mailbox(monkeypatch, free_port):
    """A real SMTP server on 127.0.0.1 the portal sends its codes through."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CLIENTELE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CLIENTELE_SMTP_PORT", str(port))
    settings.cache_clear()
    yield box
    controller.stop()
    settings.cache_clear()


@pytest.fixture
def sms_webhook(monkeypatch):
    """A real HTTP webhook on 127.0.0.1 keeping each SMS: (phone, text)."""
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((body["to"], body["text"]))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CLIENTELE_SMS_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/sms")
    settings.cache_clear()
    yield received
    server.shutdown()
    server.server_close()
    settings.cache_clear()


@pytest.fixture
def till_key(db) -> str:
    return build.programme()


@pytest.fixture
def members(till_key) -> dict:
    """Ada (e-mail, phone, four baskets), Bob (e-mail, one basket), Carol (new, never shopped)."""
    found = {"ada": build.member(build.ADA, "Ada", "ada@example.org", "+13125550100"),
             "bob": build.member(build.BOB, "Bob", "bob@example.org", "+13125550111"),
             "carol": build.member(build.CAROL, "Carol", "carol@example.org")}
    build.history(till_key)
    return found


@pytest.fixture
def ada_api(members, mailbox) -> Client:
    """An API client signed in as Ada (by her e-mail and the code she received)."""
    token = api_sign_in(Client(), "ada@example.org", mailbox, "ada@example.org")
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def bob_api(members, mailbox) -> Client:
    token = api_sign_in(Client(), "bob@example.org", mailbox, "bob@example.org")
    return Client(headers={"Authorization": f"Bearer {token}"})
