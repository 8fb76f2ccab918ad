"""Bounces and replies share one real IMAP mailbox (Dovecot on 127.0.0.1 over IMAPS).

The mailbox holds bounces, a delay warning, auto-replies and human replies. `bounces import`
takes only the bounces and the delay (moves them to Processed) and leaves the rest; `replies
import` takes the replies and auto-replies and leaves nothing behind; running both again reads
nothing and changes no file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bouncekit import (FIXTURES, PASSWORD, TODAY, USER, FakeLedger, Server, append, count, dovecot,  # noqa: F401
                       dsn, reply)
from webzine.bounces.events import Kind
from webzine.bounces.importer import run_import as import_bounces
from webzine.bounces.sources import ImapSource
from webzine.models import Manager
from webzine.replies.importer import Customer
from webzine.replies.importer import run_import as import_replies
from webzine.replies.store import load_replies

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

REPLIES = Path(__file__).parent / "fixtures" / "replies"
ISSUE = "2026-12-year-end"
LEDGER = FakeLedger(message_ids={f"{ISSUE}.kim@example.co.kr": (ISSUE, "kim@example.com"),
                                 f"{ISSUE}.lee@example.co.kr": (ISSUE, "lee@example.com")})
CUSTOMERS = {"kim@example.com": Customer("kim@example.com", "김갑수", "갑수상사", "m1"),
             "lee@example.com": Customer("lee@example.com", "이을순", "", "m2")}
MANAGERS = {"m1": Manager("m1", "박영업", "young@example.co.kr"), "m2": Manager("m2", "최담당", "choi@example.co.kr")}


def _source(server: Server) -> ImapSource:
    return ImapSource(f"imaps://{USER}@127.0.0.1:{server.tls_port}/INBOX", PASSWORD, "Processed",
                      ca_file=server.ca_file)


def _bounces(server: Server, state: Path):  # type: ignore[no-untyped-def]
    source = _source(server)
    try:
        return import_bounces([source], events_path=state / "events.jsonl", suppressions_path=state / "suppressions.csv",
                              soft_limit=3, today=TODAY, lookup=LEDGER)
    finally:
        source.close()


def _replies(server: Server, state: Path):  # type: ignore[no-untyped-def]
    source = _source(server)
    try:
        return import_replies([source], store_path=state / "replies.jsonl", customers=CUSTOMERS, managers=MANAGERS,
                              lookup=LEDGER)
    finally:
        source.close()


def _files(state: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(state.iterdir()) if not path.name.endswith(".lock")}


def test_bounces_and_replies_each_take_only_their_own_and_twice_changes_nothing(dovecot: Server,
                                                                                  tmp_path: Path) -> None:
    bounces = [dsn("park@example.com"), (FIXTURES / "eml" / "lhost-postfix-04.eml").read_bytes(),
               (REPLIES / "delay" / "bounceparser-warning-8.eml").read_bytes()]
    auto_replies = [(REPLIES / "auto_reply" / "bounceparser-aol-vacation.eml").read_bytes(),
                    reply("kim@example.com", "[부재중] 12월 소식", "12월 31일까지 휴가입니다.", number=1,
                          answers=f"{ISSUE}.kim@example.co.kr", extra="Auto-Submitted: auto-replied\n")]
    humans = [reply("김갑수 <kim@example.com>", "RE: 12월 소식", "견적 부탁드립니다.\n\n-----Original Message-----\n"
                    "보낸 사람: news@example.co.kr\n참조: team@example.com\n", number=2, answers=f"{ISSUE}.kim@example.co.kr"),
              reply("Eulsun <eulsun@other.example>", "Re: 12월 소식", "Email : eulsun@other.example\nCc: x@example.org",
                    number=3, answers=f"{ISSUE}.lee@example.co.kr")]
    append(dovecot.port, bounces + auto_replies + humans)
    state = tmp_path / "state"

    first = _bounces(dovecot, state)
    assert first.kinds == {"bounce": 2, "delay": 1, "auto_reply": 2, "human_reply": 2}
    assert [e.kind for e in first.fresh if e.email == "fred.bloggs@alfred.b.c"] == [Kind.DELAYED]
    assert [e.kind for e in first.fresh if e.email == "park@example.com"] == [Kind.HARD] and first.suppressed
    assert all(e.email not in {"team@example.com", "x@example.org", "eulsun@other.example"} for e in first.fresh)
    assert (count(dovecot.port, "INBOX"), count(dovecot.port, "Processed")) == (4, 3)

    replies = _replies(dovecot, state)
    assert (replies.read, len(replies.fresh_replies), replies.fresh_auto_replies, replies.strangers) == (4, 2, 2, 0)
    assert {(r.sender, r.customer, r.manager) for r in replies.fresh_replies} == {
        ("kim@example.com", "김갑수", "m1"), ("eulsun@other.example", "이을순", "m2")}
    assert (count(dovecot.port, "INBOX"), count(dovecot.port, "Processed")) == (0, 7)
    before = _files(state)
    assert set(before) == {"events.jsonl", "suppressions.csv", "replies.jsonl"}

    again_bounces, again_replies = _bounces(dovecot, state), _replies(dovecot, state)
    assert (again_bounces.read, again_bounces.fresh, again_bounces.suppressed) == (0, [], [])
    assert (again_replies.read, again_replies.fresh) == (0, [])
    assert _files(state) == before and len(load_replies(state / "replies.jsonl")) == 4
