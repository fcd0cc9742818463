"""Helpers of the portal's tests: a mailbox for the SMTP server, signing in by API."""

from __future__ import annotations

from email import message_from_bytes

import portal_builders as build
from django.test import Client


class Mailbox:
    """An SMTP handler keeping each message: (recipient, text)."""

    def __init__(self):
        self.messages: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        text = message_from_bytes(envelope.content).get_payload(decode=True).decode()
        self.messages.append((envelope.rcpt_tos[0], text))
        return "250 OK"

    def last_code(self, to: str) -> str:
        """The code of the last message sent to `to`."""
        texts = [text for recipient, text in self.messages if recipient == to]
        return build.CODE.search(texts[-1]).group(1)


def api_sign_in(client: Client, identifier: str, mailbox: Mailbox, to: str) -> str:
    """Sign in through the API with the code the mail server received; returns the token."""
    challenge = client.post("/api/portal/sign-in", {"identifier": identifier}, content_type="application/json")
    assert challenge.status_code == 200, challenge.json()
    verified = client.post("/api/portal/sign-in/verify", {"challenge": challenge.json()["challenge"],
                                                          "code": mailbox.last_code(to)}, content_type="application/json")
    assert verified.status_code == 200, verified.json()
    return verified.json()["token"]
