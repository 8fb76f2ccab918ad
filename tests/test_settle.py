"""Settling unknowns (issue 15, failure 8): after a lost answer, `--resend-unknown` duplicated the
ones that had arrived and leaving them skipped the others. `status --unknown` lists them;
`settle` decides each from evidence — the mail server's log, imported reports — or, explicitly, to
send again; every decision is recorded in the ledger."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from clikit import ISSUE, copy_sample, new_dkim_key, run, set_section, set_send
from smtp_server import Fault, SmtpTestServer

from webzine.send.ledger import Row, State
from webzine.send.settle import evidence_lines, settle

SLUG = "2026-12-year-end"


@pytest.fixture(scope="module")
def dkim_key() -> str:
    return new_dkim_key()


@pytest.fixture
def smtp() -> SmtpTestServer:
    server = SmtpTestServer(tls="none").start()
    yield server
    server.stop()


def arrivals(server: SmtpTestServer) -> Counter[str]:
    return Counter(rcpt.lower() for received in server.messages for rcpt in received.rcpt_tos)


@pytest.mark.slow
def test_unknowns_are_listed_then_settled_from_the_server_log_and_by_decision(
        tmp_path: Path, smtp: SmtpTestServer, dkim_key: str) -> None:
    project = copy_sample(tmp_path)
    set_section(project, "smtp", host="127.0.0.1", port=smtp.port, security="none", timeout=5, connect_timeout=5)
    set_send(project, rate=1000)
    smtp.faults.add(Fault("message", action="accept_then_drop", match="jihye.park@"))  # arrived, answer lost
    smtp.faults.add(Fault("message", action="drop", match="cheol.lee@"))  # never arrived, answer lost
    first = run(project, "send", ISSUE, "--yes", "--transport", "smtp", "--json", dkim=dkim_key)
    assert first.returncode == 3 and json.loads(first.stdout)["unknown"] == 2

    listed = json.loads(run(project, "status", ISSUE, "--unknown", "--json").stdout)
    assert sorted(item["email"] for item in listed) == ["cheol.lee@example.co.kr", "jihye.park@example.com"]
    assert all(item["message_id"] and item["claimed_at"] for item in listed)

    arrived = next(m for m in smtp.messages if "jihye.park@example.com" in m.rcpt_tos)
    log = project / "maillog"
    log.write_text(f"Dec  6 09:00:01 relay postfix/smtp[77]: 4F2A: to=<x@y>, status=sent\n"
                   f"Dec  6 09:00:02 relay postfix/cleanup[78]: 4F2B: message-id={arrived.message['Message-ID']}\n",
                   encoding="utf-8")
    dry = run(project, "settle", SLUG, "--delivered", str(log))
    assert dry.returncode == 1 and "1 delivered, 0 to send again, 1 still unknown — a dry run" in dry.stdout
    recorded = run(project, "settle", SLUG, "--delivered", str(log), "--yes")
    assert recorded.returncode == 1 and "webzine settle 2026-12-year-end --resend --yes" in recorded.stderr
    decided = run(project, "settle", ISSUE, "--resend", "--yes")
    assert decided.returncode == 0 and "0 delivered, 1 to send again, 0 still unknown." in decided.stdout

    smtp.faults.clear()
    finished = run(project, "send", ISSUE, "--yes", "--transport", "smtp", "--json", dkim=dkim_key)
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["accepted"] == 1
    received = arrivals(smtp)
    assert received["jihye.park@example.com"] == 1 and received["cheol.lee@example.co.kr"] == 1
    with sqlite3.connect(project / "state" / "ledger.sqlite3") as db:
        text = db.execute("SELECT text FROM sends WHERE key = 'jihye.park@example.com'").fetchone()[0]
    assert text.startswith("settled: delivered per ") and "maillog line 2" in text


def row(email: str, message_id: str, transport: str = "smtp") -> Row:
    return Row("i", email, email, State.CLAIMED, 1, None, None, "", None, message_id, None, transport, "t", "t")


def test_evidence_is_read_by_message_id_or_address_and_rehearsals_only_from_the_outbox() -> None:
    seen = evidence_lines(["status=sent to=<Kim@Example.com>", "message-id=<abc.1@news.example.co.kr>"], "log")
    rows = [row("kim@example.com", "x.9@n"), row("lee@example.com", "abc.1@news.example.co.kr"),
            row("park@example.com", "p.2@n"), row("choi@example.com", "c.3@n", transport="outbox")]
    decisions = settle(rows, seen=seen, resend=False, rehearsed={"c.3@n": "the outbox file new/1"})
    assert [(d.email, d.delivered, d.evidence) for d in decisions] == [
        ("kim@example.com", True, "delivered per log line 1"),
        ("lee@example.com", True, "delivered per log line 2"),
        ("choi@example.com", True, "delivered per the outbox file new/1")]
    assert [d.email for d in settle(rows, seen={}, resend=True) if not d.delivered] == [r.email for r in rows]
