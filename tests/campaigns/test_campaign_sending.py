"""Sending a campaign: only to consenting treated members, never to the holdout, through a real
SMTP server and a real HTTP webhook on 127.0.0.1 that fail and recover without losing or repeating."""

from __future__ import annotations

import csv
import json
import socket
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from campaign_builders import WINDOW_END, WINDOW_START
from django.db import DatabaseError, transaction

from clientele.campaigns import errors, services
from clientele.campaigns.models import Contact
from clientele.config import settings


class FlakyMailbox:
    """An SMTP handler that refuses the first `failures` messages (451), then accepts and keeps them."""

    def __init__(self, failures: int = 0):
        self.failures, self.received = failures, []

    async def handle_DATA(self, server, session, envelope):
        if self.failures > 0:
            self.failures -= 1
            return "451 Try again later"
        self.received.append(envelope.rcpt_tos[0])
        return "250 OK"


@pytest.fixture
def smtp_server(monkeypatch):
    mailbox = FlakyMailbox(failures=7)
    with socket.socket() as probe:  # a free port (the controller checks it can connect to its port)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CLIENTELE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CLIENTELE_SMTP_PORT", str(port))
    settings.cache_clear()
    yield mailbox
    controller.stop()
    settings.cache_clear()


@pytest.fixture
def sms_webhook(monkeypatch):
    received, failures = [], {"left": 3}

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if failures["left"] > 0:
                failures["left"] -= 1
                self.send_response(503)
            else:
                received.append((body["to"], self.headers["Idempotency-Key"]))
                self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CLIENTELE_SMS_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/sms")
    settings.cache_clear()
    yield received
    server.shutdown()
    server.server_close()
    settings.cache_clear()


def launched(channels=("email", "sms", "post", "till")):
    campaign = services.create_campaign(services.CampaignIn(
        name="Win back", owner="ana", goal_metric="spend", goal_target=Decimal("0.05"), window_start=WINDOW_START,
        window_end=WINDOW_END, audience="lifecycle=decline OR pyramid=VIP", channels=channels, message="We miss you",
        holdout_share=Decimal("0.3"), cost_per_contact=Decimal("0.05")))
    services.launch(campaign.id)
    return campaign


def customers(campaign, group):
    return set(campaign.assignments.filter(group=group).values_list("customer_id", flat=True))


def test_email_reaches_each_consenting_treated_member_once_though_the_server_fails_first(lake, members, smtp_server):
    campaign = launched()
    expected = {f"m{c}@example.org" for c in customers(campaign, "treated") if c % 2 == 0}
    first = services.send(campaign.id, "email")
    assert first["failed"] > 0  # the server refused the first messages
    second = services.send(campaign.id, "email")
    assert second["failed"] == 0 and second["sent"] == len(expected)
    assert sorted(smtp_server.received) == sorted(expected)  # none lost, none twice
    services.send(campaign.id, "email")
    assert sorted(smtp_server.received) == sorted(expected)
    holdout = {f"m{c}@example.org" for c in customers(campaign, "holdout")}
    assert holdout and not holdout & set(smtp_server.received)


def test_sms_through_the_webhook_is_retried_until_accepted_and_never_repeated(lake, members, sms_webhook):
    campaign = launched()
    expected = {f"+1312555{c:04d}" for c in customers(campaign, "treated") if c % 5 == 0}
    services.send(campaign.id, "sms")
    services.send(campaign.id, "sms")
    assert sorted(to for to, _ in sms_webhook) == sorted(expected)
    assert len({key for _, key in sms_webhook}) == len(sms_webhook)
    held = {f"+1312555{c:04d}" for c in customers(campaign, "holdout")}
    assert not held & {to for to, _ in sms_webhook}


def test_the_mailing_house_csv_holds_only_consenting_treated_members(lake, members, tmp_path):
    campaign = launched()
    out = tmp_path / "mailing.csv"
    counts = services.send(campaign.id, "post", out=out)
    with out.open() as rows:
        written = {int(row["customer_id"]) for row in csv.DictReader(rows)}
    assert written == {c for c in customers(campaign, "treated") if c % 4 == 0}
    assert counts["sent"] == len(written)
    assert counts["skipped"] == len(customers(campaign, "treated")) - len(written)


def test_the_till_shows_the_message_to_treated_members_only_and_records_it_once(lake, members):
    campaign = launched()
    treated, held = min(customers(campaign, "treated")), min(customers(campaign, "holdout"))
    assert services.till_messages(treated) == [{"campaign": campaign.id, "message": "We miss you", "offers": []}]
    services.till_messages(treated)
    assert Contact.objects.filter(assignment__customer_id=treated, channel="till").count() == 1
    assert services.till_messages(held) == []
    services.end_campaign(campaign.id)
    assert services.till_messages(treated) == []


def test_the_database_refuses_a_contact_for_a_holdout_member(lake, members):
    campaign = launched()
    held = campaign.assignments.filter(group="holdout").first()
    with pytest.raises(DatabaseError), transaction.atomic():
        Contact.objects.create(assignment=held, channel="email")
    assert not Contact.objects.filter(assignment=held).exists()


def test_withdrawn_consent_stops_a_message_not_yet_sent(lake, members, smtp_server):
    from clientele.members.models import Member

    campaign = launched()
    smtp_server.failures = 10**6  # nothing gets through: every contact stays failed
    services.send(campaign.id, "email")
    one = min(c for c in customers(campaign, "treated") if c % 2 == 0)
    from datetime import datetime, timezone

    from clientele.privacy.consent import record_consent

    record_consent(Member.objects.get(customer_id=one), "marketing", "email", False,
                   occurred_at=datetime.now(timezone.utc), source="web", text_version="v1")
    smtp_server.failures = 0
    services.send(campaign.id, "email")
    assert f"m{one}@example.org" not in smtp_server.received
    assert Contact.objects.get(assignment__customer_id=one, channel="email").status == "skipped"


def test_a_channel_the_campaign_does_not_use_or_sms_without_a_webhook_is_refused(lake, members, monkeypatch):
    campaign = launched(channels=("email",))
    with pytest.raises(errors.InvalidCampaign):
        services.send(campaign.id, "sms")
    campaign = launched(channels=("sms",))
    monkeypatch.delenv("CLIENTELE_SMS_WEBHOOK_URL", raising=False)
    settings.cache_clear()
    with pytest.raises(errors.ChannelNotConfigured):
        services.send(campaign.id, "sms")


def test_identify_at_the_till_answers_the_campaign_message_to_the_treated_and_nothing_to_the_holdout(lake, members):
    from django.test import Client

    from clientele.catalog.models import Store
    from clientele.loyalty.identity import issue_api_key

    _, raw = issue_api_key(Store.objects.create(store_id=1, name="Main street"), "till 1")
    till = Client(headers={"X-API-Key": raw})
    campaign = launched()
    treated, held = min(customers(campaign, "treated")), min(customers(campaign, "holdout"))
    answer = till.get("/api/members/identify", {"member_number": treated})
    assert answer.status_code == 200, answer.content
    assert answer.json()["messages"] == [{"campaign": campaign.id, "message": "We miss you", "offers": []}]
    assert till.get("/api/members/identify", {"member_number": held}).json()["messages"] == []
    assert not Contact.objects.filter(assignment__customer_id=held).exists()
