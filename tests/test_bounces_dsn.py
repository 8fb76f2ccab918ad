"""Reading one report: VERP, unsubscribe requests, auto-replies, and input that is not mail at all."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bouncekit import FIXTURES, dsn
from webzine.bounces.dsn import parse_report
from webzine.bounces.events import Kind
from webzine.tokens import verp_address, verp_token


def test_the_verp_token_comes_from_the_address_the_report_was_sent_to() -> None:
    token = verp_token("secret", "2026-12-year-end", "kim@example.com")
    report = parse_report(dsn("kim@example.com", to=verp_address("bounces@example.co.kr", token)))
    assert report.verp_token == token
    assert report.original_message_id == "issue-1@example.co.kr"
    assert report.message_id == "dsn-1@mx.example.net"
    assert parse_report(dsn("kim@example.com")).verp_token is None


def test_a_mailed_unsubscribe_request_names_its_sender() -> None:
    mail = ("From: 김갑수 <kim@example.com>\r\nTo: unsubscribe@example.co.kr\r\nSubject: 수신거부\r\n"
            "Message-ID: <u1@example.com>\r\n\r\n더 이상 받지 않겠습니다.\r\n").encode()
    [finding] = parse_report(mail).findings
    assert (finding.email, finding.kind) == ("kim@example.com", Kind.UNSUBSCRIBE)
    plain = mail.replace("수신거부".encode(), b"hello")
    assert parse_report(plain).findings == ()
    assert parse_report(plain, unsubscribe_addresses=frozenset({"unsubscribe@example.co.kr"})).findings[0].kind \
        is Kind.UNSUBSCRIBE


def test_an_out_of_office_reply_is_not_a_bounce() -> None:
    [finding] = parse_report((FIXTURES / "eml" / "rfc3834-01.eml").read_bytes()).findings
    assert finding.kind is Kind.AUTO_REPLY
    korean = ("From: lee@example.com\r\nTo: news@example.co.kr\r\nSubject: [자동회신] 부재중입니다\r\n"
              "Auto-Submitted: auto-replied\r\n\r\n12월 31일까지 휴가입니다.\r\n").encode()
    assert parse_report(korean).findings[0].kind is Kind.AUTO_REPLY


def test_a_report_with_a_huge_attached_original_is_read_from_its_report_parts() -> None:
    head, _, tail = dsn("park@example.com").rpartition(b"--BOUNDARY--")
    big = head.replace(b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822") + (
        b"\r\n--BOUNDARY\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@example.co.kr\r\nTo: park@example.com\r\n"
        b"Subject: x\r\nContent-Type: text/plain\r\n\r\n" + b"x" * (6 * 1024 * 1024) + b"\r\n--BOUNDARY--\r\n")
    [finding] = parse_report(big).findings
    assert (finding.email, finding.kind) == ("park@example.com", Kind.HARD)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_are_read_without_an_exception(data: bytes) -> None:
    report = parse_report(data)
    assert report.message_id


SAMPLE = (FIXTURES / "eml" / "lhost-postfix-04.eml").read_bytes()


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(SAMPLE)), st.binary(max_size=40))
def test_a_report_cut_anywhere_or_corrupted_is_read_without_an_exception(cut: int, noise: bytes) -> None:
    parse_report(SAMPLE[:cut] + noise)
    parse_report(noise + SAMPLE[cut:])
