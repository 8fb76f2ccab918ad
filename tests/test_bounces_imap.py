"""A real IMAP mailbox: Dovecot on 127.0.0.1 with a throw-away config, user and mail folder.

Bounces are APPENDed to INBOX and imported twice over IMAPS (a throw-away certificate for
127.0.0.1); the first import moves them to the processed folder, the second reads nothing and
changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bouncekit import FIXTURES, PASSWORD, TODAY, USER, Server, append, count, dovecot, dsn  # noqa: F401 - fixture
from webzine.bounces.events import Kind
from webzine.bounces.importer import run_import
from webzine.bounces.sources import ImapSource, SourceError
from webzine.i18n import activate

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]


def _import(server: Server, tmp_path: Path):  # type: ignore[no-untyped-def]
    source = ImapSource(f"imaps://{USER}@127.0.0.1:{server.tls_port}/INBOX", PASSWORD, "Processed",
                        ca_file=server.ca_file)
    try:
        return run_import([source], events_path=tmp_path / "events.jsonl",
                          suppressions_path=tmp_path / "suppressions.csv", soft_limit=3, today=TODAY)
    finally:
        source.close()


def test_import_from_dovecot_twice_changes_nothing_the_second_time(dovecot: Server, tmp_path: Path) -> None:
    reports = [(FIXTURES / "eml" / name).read_bytes() for name in
               ("lhost-postfix-04.eml", "lhost-exim-01.eml", "arf-01.eml", "lhost-qmail-01.eml")]
    reports.append(dsn("kim@example.com"))
    append(dovecot.port, reports)
    first = _import(dovecot, tmp_path)
    assert first.read == 5 and len(first.fresh) == 5 and first.skipped == [] and first.failed == []
    assert {e.kind for e in first.fresh} >= {Kind.HARD, Kind.COMPLAINT}
    assert (count(dovecot.port, "INBOX"), count(dovecot.port, "Processed")) == (0, 5)
    events_before = (tmp_path / "events.jsonl").read_bytes()
    suppressions_before = (tmp_path / "suppressions.csv").read_bytes()

    second = _import(dovecot, tmp_path)
    assert (second.read, second.fresh, second.suppressed) == (0, [], [])
    assert (tmp_path / "events.jsonl").read_bytes() == events_before
    assert (tmp_path / "suppressions.csv").read_bytes() == suppressions_before

    append(dovecot.port, [dsn("lee@example.com", message_id="<dsn-new@mx.example.net>")])
    third = _import(dovecot, tmp_path)
    assert [e.email for e in third.fresh] == ["lee@example.com"]
    assert count(dovecot.port, "Processed") == 6


def test_plain_imap_on_loopback_reads_the_same_mailbox(dovecot: Server, tmp_path: Path) -> None:
    append(dovecot.port, [dsn("park@example.com")])
    source = ImapSource(f"imap://{USER}@127.0.0.1:{dovecot.port}/INBOX", PASSWORD, "Done")
    try:
        result = run_import([source], events_path=tmp_path / "e.jsonl", suppressions_path=tmp_path / "s.csv",
                            soft_limit=3, today=TODAY)
    finally:
        source.close()
    assert [e.email for e in result.fresh] == ["park@example.com"] and count(dovecot.port, "Done") == 1


def test_an_untrusted_certificate_and_a_wrong_password_are_one_sentence(dovecot: Server) -> None:
    untrusted = ImapSource(f"imaps://{USER}@127.0.0.1:{dovecot.tls_port}/INBOX", PASSWORD)
    with pytest.raises(SourceError, match=rf"^127\.0\.0\.1:{dovecot.tls_port}: the IMAP server's certificate is "
                                          r"not trusted .*; set \[bounces\] imap_ca_file to its CA\.$"):
        list(untrusted.items())
    wrong = ImapSource(f"imaps://{USER}@127.0.0.1:{dovecot.tls_port}/INBOX", "wrong", ca_file=dovecot.ca_file)
    with pytest.raises(SourceError, match=rf"^127\.0\.0\.1:{dovecot.tls_port}: IMAP login as bounces failed"):
        list(wrong.items())


def test_plain_imap_is_refused_for_a_remote_host() -> None:
    with pytest.raises(SourceError, match="plain imap:// would send the password unencrypted"):
        ImapSource("imap://bounces@192.0.2.10/INBOX", "x")


def test_a_refused_login_and_plain_imap_in_korean(dovecot: Server) -> None:
    activate("ko")
    wrong = ImapSource(f"imaps://{USER}@127.0.0.1:{dovecot.tls_port}/INBOX", "wrong", ca_file=dovecot.ca_file)
    with pytest.raises(SourceError, match=rf"^127\.0\.0\.1:{dovecot.tls_port}: bounces\(으\)로 IMAP 로그인에 실패했습니다"
                                          r"\(.+\)\. 사용자와 비밀번호 환경 변수를 확인하세요\.$"):
        list(wrong.items())
    with pytest.raises(SourceError) as plain:
        ImapSource("imap://bounces@192.0.2.10/INBOX", "x")
    assert plain.value.message == ("imap://bounces@192.0.2.10/INBOX: 일반 imap://은 비밀번호를 암호화하지 않고 보냅니다. "
                                   "imaps://를 쓰세요.")
