"""The bounced message's `To` stands in for the recipient only when the message is ours.

A notice that names no full address ("The following address(es) failed: kijitora") leaves the
returned original's `To` as the only clue. On a forwarded or mailing-list message that is someone
else, and a wrong hard verdict suppresses a stranger; so the guess is used only when the report
came back to our VERP address or the original's Message-ID is in the send ledger, and only when
the original names exactly one recipient. Old Exchange notices give the recipient in X.400 form.
"""

from __future__ import annotations

from bouncekit import FakeLedger
from webzine.bounces.dsn import parse_report
from webzine.bounces.events import Kind
from webzine.bounces.importer import events_from_report
from webzine.tokens import verp_address, verp_token

TOKEN = verp_token("s3cret", "2026-12-year-end", "kim@example.com")


def _exim(*, to: str = "bounces@example.co.kr", original_to: str = "kim@example.com",
          message_id: str = "<issue-1@example.co.kr>") -> bytes:
    """Exim's wording when the failing address has no domain (lhost-exim-04 in the Sisimai set)."""
    return f"""\
Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: {to}
Subject: Mail delivery failed: returning message to sender
Message-Id: <bounce-1@mx.example.net>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  kim
    SMTP error from remote mail server after RCPT TO:<kim>:
    550 5.1.1 <kim>: Recipient address rejected: User unknown in local recipient table

------ This is a copy of the message, including all the headers. ------

From: news@example.co.kr
To: {original_to}
Subject: 12월 소식
Message-ID: {message_id}

본문
""".replace("\n", "\r\n").encode("utf-8")


def test_a_list_or_forwarded_message_that_is_not_ours_names_nobody() -> None:
    report = parse_report(_exim(original_to="team-list@example.org", message_id="<someone-else@example.org>"))
    assert events_from_report(report, "test", FakeLedger()) == []
    assert events_from_report(report, "test") == []


def test_our_verp_address_lets_the_to_stand_in_and_the_ledger_names_whom_we_mailed() -> None:
    ledger = FakeLedger(verp={TOKEN: ("2026-12-year-end", "kim@example.com")})
    report = parse_report(_exim(to=verp_address("bounces@example.co.kr", TOKEN)))
    [event] = events_from_report(report, "test", ledger)
    assert (event.email, event.issue, event.kind) == ("kim@example.com", "2026-12-year-end", Kind.HARD)


def test_our_message_id_in_the_ledger_lets_the_to_stand_in() -> None:
    ledger = FakeLedger(message_ids={"issue-1@example.co.kr": ("2026-12-year-end", "kim@example.com")})
    [event] = events_from_report(parse_report(_exim()), "test", ledger)
    assert (event.email, event.issue) == ("kim@example.com", "2026-12-year-end")


def test_an_original_with_two_recipients_names_nobody_even_when_ours() -> None:
    ledger = FakeLedger(verp={TOKEN: ("2026-12-year-end", "kim@example.com")})
    report = parse_report(_exim(to=verp_address("bounces@example.co.kr", TOKEN),
                                original_to="kim@example.com, lee@example.com"))
    assert report.findings == ()
    [event] = events_from_report(report, "test", ledger)
    assert (event.email, event.kind, event.reason) == ("kim@example.com", Kind.UNKNOWN, "unparsed")


def test_an_x400_recipient_from_old_exchange_is_read() -> None:
    # The recipient line as quoted from a real Exchange (IMS) notice in the comments of
    # rjbs/Mail-DeliveryStatus-BounceParser (lib/Mail/DeliveryStatus/BounceParser.pm).
    notice = """\
Return-Path: <>
From: System Administrator <postmaster@msx.ndc.mc.uci.edu>
To: bounces@example.co.kr
Subject: Undeliverable: 12월 소식
Message-Id: <x400-1@msx.ndc.mc.uci.edu>

Your message

  Subject: 12월 소식
  Sent:    Thu, 19 Sep 2002 11:32:10 -0700

did not reach the following recipient(s):

c=US;a= ;p=NDC;o=ORANGE;dda:SMTP=slpark@msx.ndc.mc.uci.edu; on Thu, 19 Sep 2002 11:33:00 -0700
    The recipient name is not recognized
\tThe MTS-ID of the original message is: c=us;a= ;p=ndc;l=ORANGE0209191833SHNNYYSZ
    MSEXCH:IMS:NDC:ORANGE:ORANGE 0 (000C05A6) Unknown Recipient
""".replace("\n", "\r\n").encode()
    [finding] = parse_report(notice).findings
    assert (finding.email, finding.kind) == ("slpark@msx.ndc.mc.uci.edu", Kind.HARD)
