"""Builders for bounce tests: RFC 3464 reports addressed to a VERP return path, and a fake ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "bounces"
TODAY = date(2026, 12, 1)  # the policy's "today", passed in: no test depends on the real date


def dsn(recipient: str, *, status: str = "5.1.1", diagnostic: str = "550 5.1.1 <{r}>: Recipient address rejected: "
        "User unknown", to: str = "bounces@example.co.kr", message_id: str = "<dsn-1@mx.example.net>",
        original_id: str = "<issue-1@example.co.kr>", action: str = "failed",
        date: str = "Tue, 01 Dec 2026 09:00:00 +0900") -> bytes:
    """A Postfix-style multipart/report for one recipient."""
    diagnostic = diagnostic.format(r=recipient)
    text = f"""\
Return-Path: <>
Date: {date}
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Message-Id: {message_id}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

<{recipient}>: host mx.example.org[192.0.2.1] said: {diagnostic} (in reply to RCPT TO command)

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--BOUNDARY
Content-Type: text/rfc822-headers

From: 초록상회 <news@example.co.kr>
To: {recipient}
Subject: 12월 소식
Message-ID: {original_id}

--BOUNDARY--
"""
    return text.replace("\n", "\r\n").encode("utf-8")


@dataclass
class SentRow:
    issue: str
    state: str
    claimed_at: str


@dataclass
class FakeLedger:
    """The lookup interface of webzine.ledger.Ledger, in memory."""

    verp: dict[str, tuple[str, str]] = field(default_factory=dict)
    message_ids: dict[str, tuple[str, str]] = field(default_factory=dict)
    provider_ids: dict[str, tuple[str, str]] = field(default_factory=dict)
    sent: dict[str, list[SentRow]] = field(default_factory=dict)

    def find_by_verp(self, token: str) -> tuple[str, str] | None:
        return self.verp.get(token.lower())

    def find_by_message_id(self, message_id: str) -> tuple[str, str] | None:
        return self.message_ids.get(message_id.strip("<>"))

    def find_by_provider_id(self, provider_id: str) -> tuple[str, str] | None:
        return self.provider_ids.get(provider_id)

    def history(self, email: str) -> list[SentRow]:
        return self.sent.get(email.lower(), [])
