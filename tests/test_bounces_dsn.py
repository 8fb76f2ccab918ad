"""Reading one report: VERP, unsubscribe requests, auto-replies, and input that is not mail at all."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bouncekit import FIXTURES, dsn
from webzine.bounces.dsn import parse_report
from webzine.bounces.fastmime import read_fast
from webzine.bounces.events import Kind
from webzine.bounces.kinds import MessageKind
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
    report = parse_report((FIXTURES / "eml" / "rfc3834-01.eml").read_bytes())
    assert (report.kind, report.findings) == (MessageKind.AUTO_REPLY, ())
    korean = ("From: lee@example.com\r\nTo: news@example.co.kr\r\nSubject: [자동회신] 부재중입니다\r\n"
              "Auto-Submitted: auto-replied\r\n\r\n12월 31일까지 휴가입니다.\r\n").encode()
    report = parse_report(korean)
    assert (report.kind, report.sender, report.findings) == (MessageKind.AUTO_REPLY, "lee@example.com", ())


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


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=len(SAMPLE) - 1), st.integers(0, 255)), max_size=30))
def test_flipped_bytes_are_read_without_an_exception_by_both_readers(flips: list[tuple[int, int]]) -> None:
    data = bytearray(SAMPLE)
    for index, value in flips:
        data[index] = value
    parse_report(bytes(data))
    parse_report(bytes(data), fast_reader=False)


FIXTURE_FILES = sorted((FIXTURES / "eml").glob("*.eml")) + sorted((FIXTURES / "not-bounce").glob("*.eml"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_the_fast_reader_finds_what_the_email_package_finds(path) -> None:  # type: ignore[no-untyped-def]
    raw = path.read_bytes()
    fast, full = parse_report(raw), parse_report(raw, fast_reader=False)
    assert (fast.form, fast.kind, fast.message_id, fast.verp_token, fast.subject, fast.occurred_at) == (
        full.form, full.kind, full.message_id, full.verp_token, full.subject, full.occurred_at)
    assert [(f.email, f.kind, f.reason, f.status) for f in fast.findings] == [
        (f.email, f.kind, f.reason, f.status) for f in full.findings]
    assert full.original_message_id in {"", fast.original_message_id}


def test_the_fast_reader_splits_at_boundary_lines_only() -> None:
    raw = (b"Content-Type: multipart/report; boundary=\"b1\"\r\n\r\npreamble --b1 inline\r\n--b1\r\n"
           b"Content-Type: text/plain\r\n\r\nhello --b1x\r\n--b1  \r\nContent-Type: message/delivery-status\r\n\r\n"
           b"Final-Recipient: rfc822; a@b.example\r\n--b1--\r\nepilogue\r\n")
    top, parts = read_fast(raw)
    assert top.get_boundary() == "b1"
    assert parts.notice == ["hello --b1x"] and parts.status_blocks == ["Final-Recipient: rfc822; a@b.example"]
    assert read_fast(b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts at all\r\n") is None
