"""The channels a campaign reaches members through: e-mail (SMTP), SMS (an HTTP webhook), post (a
CSV for the mailing house). Each transport hands one message over and answers None or the error;
it never writes to the database (`campaigns.services` records every contact).

Who may be reached: an active member who consents to the channel and has an address for it.
"""

from __future__ import annotations

import csv
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import requests

from clientele.campaigns import errors
from clientele.config import settings
from clientele.members.models import Member
from clientele.members.selectors import CONSENT_FIELD

#: The member's field holding the channel's address.
ADDRESS_FIELD = {"email": "email", "sms": "phone", "post": "address_line"}
POST_COLUMNS = ["customer_id", "first_name", "last_name", "address_line", "postal_code", "city", "country"]


def _reachable(channel: str, customer_ids=None):
    members = Member.objects.filter(status=Member.Status.ACTIVE, **{CONSENT_FIELD[channel]: True}).exclude(
        **{ADDRESS_FIELD[channel]: ""})
    return members if customer_ids is None else members.filter(customer_id__in=customer_ids)


def reachable_customer_ids(campaign, channel: str):
    """Customer ids of the campaign's treated members who may be reached on `channel` now."""
    treated = campaign.assignments.filter(group="treated").values("customer_id")
    return _reachable(channel).filter(customer_id__in=treated).values_list("customer_id", flat=True).iterator()


def addresses(campaign, channel: str, customer_ids: list[int]) -> dict[int, dict]:
    """Per reachable customer id of `customer_ids`, the fields the channel sends to."""
    rows = _reachable(channel, customer_ids).values(*POST_COLUMNS, "email", "phone")
    return {row["customer_id"]: row for row in rows}


class Transport(Protocol):
    def deliver(self, contact, address: dict) -> str | None:
        """Hand one message over; None when accepted, else why not."""

    def close(self) -> None:
        """Release the connection or file."""


def message_id(contact) -> str:
    """The contact's own id, sent with the message so a receiver can drop a repeat."""
    return f"campaign-{contact.assignment.campaign_id}-contact-{contact.id}"


class EmailTransport:
    """E-mail through the configured SMTP server, one connection per send run (reopened after a failure)."""

    def __init__(self, campaign):
        self.campaign, self.smtp = campaign, None
        self.host, self.port, self.sender = settings().smtp_host, settings().smtp_port, settings().smtp_sender

    def deliver(self, contact, address: dict) -> str | None:
        message = EmailMessage()
        message["From"], message["To"] = self.sender, address["email"]
        message["Subject"] = self.campaign.subject or self.campaign.name
        message["Message-ID"] = f"<{message_id(contact)}@clientele>"
        message.set_content(self.campaign.message)
        try:
            if self.smtp is None:
                self.smtp = smtplib.SMTP(self.host, self.port, timeout=30)
            self.smtp.send_message(message)
            return None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            return f"SMTP {self.host}:{self.port}: {error}"

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None


def send_email(to: str, subject: str, text: str, message_id: str) -> str | None:
    """One e-mail through the configured SMTP server (a connection of its own): None when the
    server accepted it, else why not (the member portal's sign-in codes)."""
    config = settings()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = config.smtp_sender, to, subject
    message["Message-ID"] = f"<{message_id}@clientele>"
    message.set_content(text)
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=30) as smtp:
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        return f"SMTP {config.smtp_host}:{config.smtp_port}: {error}"
    return None


def send_sms(to: str, text: str, key: str) -> str | None:
    """One SMS POSTed to the configured webhook with `key` as its Idempotency-Key: None when
    accepted, else why not. ChannelNotConfigured without a webhook."""
    url = settings().sms_webhook_url
    if not url:
        raise errors.ChannelNotConfigured("SMS needs CLIENTELE_SMS_WEBHOOK_URL, the webhook each SMS is POSTed to")
    try:
        answer = requests.post(url, json={"to": to, "text": text, "id": key}, headers={"Idempotency-Key": key},
                               timeout=30)
    except requests.RequestException as error:
        return f"SMS webhook: {error}"
    return None if answer.ok else f"SMS webhook answered {answer.status_code}"


class SmsTransport:
    """SMS POSTed as JSON to the configured webhook, with the contact's id as Idempotency-Key."""

    def __init__(self, campaign, url: str):
        self.campaign, self.url, self.session = campaign, url, requests.Session()

    def deliver(self, contact, address: dict) -> str | None:
        key = message_id(contact)
        try:
            answer = self.session.post(self.url, json={"to": address["phone"], "text": self.campaign.message, "id": key},
                                       headers={"Idempotency-Key": key}, timeout=30)
        except requests.RequestException as error:
            return f"SMS webhook: {error}"
        return None if answer.ok else f"SMS webhook answered {answer.status_code}"

    def close(self) -> None:
        self.session.close()


class PostTransport:
    """The mailing house's CSV: one row per member to write to (name and postal address)."""

    def __init__(self, out: Path):
        from clientele.privacy.files import register_export

        out.parent.mkdir(parents=True, exist_ok=True)
        self.file = out.open("w", newline="", encoding="utf-8")
        register_export(out)  # names and addresses: an erasure removes the member's row
        self.writer = csv.DictWriter(self.file, fieldnames=[*POST_COLUMNS, "contact_id"], extrasaction="ignore")
        self.writer.writeheader()

    def deliver(self, contact, address: dict) -> str | None:
        self.writer.writerow({**address, "contact_id": message_id(contact)})
        return None

    def close(self) -> None:
        self.file.close()


def transport(channel: str, campaign, out: Path | None) -> Transport:
    """The transport for `channel` (ChannelNotConfigured when its setting is missing)."""
    if channel == "email":
        return EmailTransport(campaign)
    if channel == "sms":
        url = settings().sms_webhook_url
        if not url:
            raise errors.ChannelNotConfigured("SMS needs CLIENTELE_SMS_WEBHOOK_URL, the webhook each SMS is POSTed to")
        return SmsTransport(campaign, url)
    return PostTransport(out)
