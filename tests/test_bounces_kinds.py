"""The message kind, decided before any address is read: delays never count, replies name nobody.

The real samples in tests/fixtures/replies (see its README for where each comes from) carry their
kind in kinds.jsonl; the messages built here cover what no public sample shows: Korean and
Spanish replies quoting their own header lines, Korean out-of-office subjects.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bouncekit import TODAY, FakeLedger, dsn
from webzine.bounces.dsn import parse_report
from webzine.bounces.events import BounceEvent, Kind
from webzine.bounces.importer import events_from_report, run_import
from webzine.bounces.kinds import MessageKind
from webzine.bounces.policy import soft_streak, suppressions
from webzine.bounces.sources import FileSource

REPLIES = Path(__file__).parent / "fixtures" / "replies"
SAMPLES = [json.loads(line) for line in (REPLIES / "kinds.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("row", SAMPLES, ids=[r["file"] for r in SAMPLES])
def test_each_real_sample_gets_its_kind_and_only_a_bounce_or_delay_names_recipients(row: dict) -> None:
    report = parse_report((REPLIES / row["file"]).read_bytes())
    assert report.kind == row["kind"]
    if report.kind not in {MessageKind.BOUNCE, MessageKind.DELAY}:
        assert report.findings == ()


def _mail(headers: str, body: str) -> bytes:
    return (headers.strip() + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + body).replace(
        "\n", "\r\n").encode("utf-8")


KOREAN_REPLY = _mail("""
From: 김민준 <minjun.kim@example.com>
To: 초록상회 소식 <news@example.co.kr>
Subject: RE: 12월 소식: 연말 배송 일정 안내
In-Reply-To: <issue-2026-12.kim@example.co.kr>
Message-ID: <reply-1@example.com>
""", """안녕하세요, 배송 일정 잘 받았습니다. 견적서도 함께 부탁드립니다.

김민준 드림

-----Original Message-----
보낸 사람: 초록상회 <news@example.co.kr>
받는 사람: minjun.kim@example.com
참조: sales.team@example.com; 이서연 <seoyeon.lee@example.com>
제목: 12월 소식: 연말 배송 일정 안내
""")
SPANISH_REPLY = _mail("""
From: Lucia Gomez <lucia@example.es>
To: news@example.co.kr
Subject: Re: Boletin de diciembre
Message-ID: <reply-2@example.es>
""", """Gracias, nos interesa el catalogo.

Lucia Gomez
Email : lucia.gomez@example.es
Tel: +34 600 000 000

De: Choroksanghoe <news@example.co.kr>
Enviado el: martes, 1 de diciembre de 2026 9:00
Para: lucia@example.es
Cc: compras@example.es
Asunto: Boletin de diciembre
""")
ENGLISH_REPLY = _mail("""
From: Jane Park <jane@example.org>
To: news@example.co.kr
Subject: Re: December news
References: <issue-2026-12.jane@example.co.kr>
""", """Please send the price list to procurement@example.org as well.

On Tue, Dec 1, 2026 at 9:00 AM Choroksanghoe <news@example.co.kr> wrote:
> Our December issue
> Contact: sales@example.co.kr
""")
KOREAN_OUT_OF_OFFICE = _mail("""
From: 박지훈 <jihoon.park@example.com>
To: news@example.co.kr
Subject: [부재중] 12월 소식: 연말 배송 일정 안내
Message-ID: <ooo-1@example.com>
""", """12월 24일부터 1월 2일까지 휴가입니다. 급한 용무는 대리 최유나(yuna.choi@example.com)에게 연락 바랍니다.
""")
KOREAN_AUTOMATIC = _mail("""
From: support@example.kr
To: news@example.co.kr
Subject: 자동 응답: 12월 소식
Auto-Submitted: auto-replied
""", """문의해 주셔서 감사합니다. 담당자: help-desk@example.kr
""")
TICKET_ACK = _mail("""
From: Example Support <support@example.net>
To: news@example.co.kr
Subject: [Ticket #48213] We have received your request
""", """Thank you for contacting us. An agent will reply to news@example.co.kr within one business day.
Cc: escalations@example.net
""")
OUT_OF_OFFICE = _mail("""
From: Tom Lee <tom@example.com>
To: news@example.co.kr
Subject: Out of Office: December news
X-Autoreply: yes
""", """I am on vacation until January 4. For urgent matters contact:
Email : backup.person@example.com
""")


@pytest.mark.parametrize("raw", [KOREAN_REPLY, SPANISH_REPLY, ENGLISH_REPLY, KOREAN_OUT_OF_OFFICE, KOREAN_AUTOMATIC,
                                 TICKET_ACK, OUT_OF_OFFICE],
                         ids=["ko-reply", "es-reply", "en-reply", "ko-ooo", "ko-auto", "ticket", "en-ooo"])
def test_replies_and_auto_replies_with_quoted_headers_name_no_address(raw: bytes) -> None:
    report = parse_report(raw)
    assert report.findings == ()
    assert report.kind in {MessageKind.HUMAN_REPLY, MessageKind.AUTO_REPLY}
    assert events_from_report(report, "test") == []


def test_a_reply_is_a_human_reply_and_an_out_of_office_an_auto_reply() -> None:
    assert [parse_report(m).kind for m in (KOREAN_REPLY, SPANISH_REPLY, KOREAN_OUT_OF_OFFICE, TICKET_ACK)] == [
        MessageKind.HUMAN_REPLY, MessageKind.HUMAN_REPLY, MessageKind.AUTO_REPLY, MessageKind.AUTO_REPLY]
    assert parse_report(KOREAN_AUTOMATIC).sender == "support@example.kr"


# Plain-text delay warnings in the wording of real MTAs (Exim, Gmail old and new, Sendmail).
DELAY_TEXTS = [
    ("Warning: message 1GdV3O-0002RD-H2 delayed 72 hours",
     "A message that you sent has not yet been delivered to one or more of its\nrecipients after more than 72 "
     "hours on the queue.\n\nThe address to which the message has not yet been delivered is:\n\n  {r}\n"
     "    Delay reason: SMTP error from remote mail server after RCPT TO:\n    451 4.2.2 mailbox is full\n\n"
     "No action is required on your part. Delivery attempts will continue for some time."),
    ("Delivery Status Notification (Delay)",
     "THIS IS A WARNING MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\nDelivery to the following "
     "recipient has been delayed:\n\n     {r}\n\nMessage will be retried for 2 more day(s)\n"),
    ("Delivery Status Notification (Delay)",
     "** Delivery incomplete **\n\nThere was a temporary problem delivering your message to {r}. Gmail will retry "
     "for 47 more hours. You'll be notified if the delivery fails permanently.\n"),
    ("Warning: could not send message for past 4 hours",
     "    **********************************************\n    **      THIS IS A WARNING MESSAGE ONLY      **\n"
     "    **********************************************\n\nThe original message was received at Tue, 1 Dec 2026\n"
     "----- Transcript of session follows -----\n<{r}>... Deferred: Connection timed out\n"
     "Warning: message still undelivered after 4 hours\nWill keep trying until message is 5 days old\n"),
    ("Mail delivery problem",
     "Your message to <{r}> could not be delivered yet: 452 4.2.2 Mailbox full. We are still trying.\n"),
]


def _delay(recipient: str, number: int, moment: datetime, template: int = 0) -> bytes:
    subject, text = DELAY_TEXTS[template]
    return _mail(f"""
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: news@example.co.kr
Subject: {subject}
Message-ID: <delay-{number}@mx.example.net>
Date: {format_datetime(moment)}
""", text.format(r=recipient) + "\n------ This is a copy of the message, including all the headers. ------\n\n"
        f"From: news@example.co.kr\nTo: {recipient}\nSubject: news\nMessage-ID: <issue-{number}@example.co.kr>\n")


AUTO_HEADERS = ["Auto-Submitted: auto-replied", "X-Autoreply: yes", "Precedence: auto_reply", "X-Autorespond: on",
                "Subject: 자동 회신: 소식", "Subject: [부재중] 소식", "Subject: Out of Office: news",
                "Subject: Automatic reply: news", "Subject: Vacation reply", "Subject: [Ticket #771] Request received"]
T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)


def _auto_reply(sender: str, number: int, moment: datetime, header: int) -> bytes:
    line = AUTO_HEADERS[header]
    subject = line if line.startswith("Subject:") else "Subject: Re: news"
    extra = "" if line.startswith("Subject:") else line
    return _mail(f"""
From: {sender}
To: news@example.co.kr
{subject}
{extra}
Message-ID: <auto-{number}@example.com>
Date: {format_datetime(moment)}
""", f"I am away. Email : deputy@example.com\nCc: {sender}\n")


@st.composite
def not_failures(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    recipient = draw(st.sampled_from(["kim@example.com", "lee.soo@example.co.kr", "park+news@example.net"]))
    messages = []
    for number in range(draw(st.integers(1, 4))):
        moment = T0 + timedelta(days=31 * number + draw(st.integers(0, 20)))
        if draw(st.booleans()):
            messages.append(_delay(recipient, number, moment, draw(st.integers(0, len(DELAY_TEXTS) - 1))))
        else:
            messages.append(_auto_reply(recipient, number, moment, draw(st.integers(0, len(AUTO_HEADERS) - 1))))
    return recipient, messages


@settings(max_examples=60, deadline=None)
@given(case=not_failures(), earlier=st.integers(0, 2))
def test_no_delay_or_auto_reply_ever_adds_to_a_soft_count(case: tuple[str, list[bytes]], earlier: int) -> None:
    recipient, messages = case
    history = [BounceEvent(Kind.SOFT, recipient, f"soft-{i}", "test", issue=f"2026-0{i + 1}",
                           occurred_at=datetime(2026, i + 1, 2, tzinfo=timezone.utc), reason="mailbox_full")
               for i in range(earlier)]
    ledger = FakeLedger(message_ids={f"issue-{n}@example.co.kr": (f"2026-{6 + n:02d}", recipient) for n in range(4)})
    events = [e for raw in messages for e in events_from_report(parse_report(raw), "test", ledger)]
    assert all(e.kind in {Kind.DELAYED} for e in events)
    assert soft_streak(history + events).issues == soft_streak(history).issues
    assert suppressions(history + events, soft_limit=earlier + 1, today=TODAY) == []


def test_the_same_delay_warning_three_months_running_suppresses_nobody(tmp_path: Path) -> None:
    mbox = tmp_path / "bounces.mbox"
    with mbox.open("wb") as handle:
        for month in range(3):
            raw = _delay("kim@example.com", month, T0 + timedelta(days=31 * month)).replace(b"\r\n", b"\n")
            handle.write(b"From MAILER-DAEMON Mon Jun  1 00:00:00 2026\n" + raw + b"\n")
    result = run_import([FileSource(mbox)], events_path=tmp_path / "events.jsonl",
                        suppressions_path=tmp_path / "suppressions.csv", soft_limit=3, today=TODAY)
    assert [e.kind for e in result.fresh] == [Kind.DELAYED] * 3
    assert result.suppressed == [] and not (tmp_path / "suppressions.csv").exists()


def test_a_dsn_delay_is_delayed_and_a_failure_still_counts() -> None:
    [delayed] = parse_report(dsn("kim@example.com", status="4.2.2", action="delayed",
                                 diagnostic="452 4.2.2 mailbox full")).findings
    assert delayed.kind is Kind.DELAYED
    [failed] = parse_report(dsn("kim@example.com", status="5.2.2", diagnostic="552 5.2.2 mailbox full")).findings
    assert failed.kind is Kind.SOFT
