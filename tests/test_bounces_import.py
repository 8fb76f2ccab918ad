"""Importing: VERP resolution, idempotence, bad messages, suppressions, and the CLI contract."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

from bouncekit import FIXTURES, TODAY, FakeLedger, cli, dsn  # noqa: F401 - cli is a fixture
from webzine.bounces.events import Kind
from webzine.bounces.importer import run_import
from webzine.bounces.sources import FileSource
from webzine.bounces.store import load_events
from webzine.providers import PROVIDERS
from webzine.send.ledger import Claim, Ledger
from webzine.recipients.suppressions import load_suppressions
from webzine.tokens import verp_address, verp_token

SAMPLES = ["lhost-postfix-04.eml", "lhost-exim-01.eml", "lhost-qmail-01.eml", "lhost-gmail-01.eml",
           "arf-01.eml", "rfc3834-01.eml", "lhost-dragonfly-01.eml", "lhost-exchange2003-01.eml"]


def maildir(folder: Path, messages: dict[str, bytes]) -> Path:
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for name, data in messages.items():
        (folder / "new" / name).write_bytes(data)
    return folder


def samples() -> dict[str, bytes]:
    return {name: (FIXTURES / "eml" / name).read_bytes() for name in SAMPLES}


def run(tmp_path: Path, *sources, lookup=None, soft_limit: int = 3):  # type: ignore[no-untyped-def]
    return run_import([FileSource(Path(s)) for s in sources], events_path=tmp_path / "state" / "events.jsonl",
                      suppressions_path=tmp_path / "lists" / "suppressions.csv", soft_limit=soft_limit,
                      lookup=lookup, today=TODAY, readers=tuple(PROVIDERS.values()))


def test_verp_names_the_recipient_and_issue_through_the_real_ledger(tmp_path: Path) -> None:
    secret, issue, email = "s3cret", "2026-12-year-end", "kim@example.com"
    token = verp_token(secret, issue, email)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        ledger.commit(issue, transport="smtp", run_id=None,
                      claims=[Claim(email, email, "msg-1@example.co.kr", token)])
        # The report names a forwarding target, not the address we mailed: VERP knows better.
        report = dsn("kim.forward@other.example", to=verp_address("bounces@example.co.kr", token))
        box = maildir(tmp_path / "Maildir", {"1.eml": report})
        result = run(tmp_path, box, lookup=ledger)
    [event] = result.fresh
    assert (event.email, event.issue, event.kind) == (email, issue, Kind.HARD)
    assert event.evidence["reported_recipient"] == "kim.forward@other.example"
    assert load_suppressions(tmp_path / "lists" / "suppressions.csv")[email].detail.endswith(f"(issue {issue})")


def test_the_bounced_message_id_finds_the_issue_when_there_is_no_verp(tmp_path: Path) -> None:
    ledger = FakeLedger(message_ids={"issue-7@example.co.kr": ("2026-11-autumn", "lee@example.com")})
    box = maildir(tmp_path / "Maildir", {"1.eml": dsn("lee@example.com", original_id="<issue-7@example.co.kr>")})
    [event] = run(tmp_path, box, lookup=ledger).fresh
    assert (event.email, event.issue) == ("lee@example.com", "2026-11-autumn")


def test_importing_the_same_maildir_twice_changes_nothing(tmp_path: Path) -> None:
    box = maildir(tmp_path / "Maildir", samples())
    first = run(tmp_path, box)
    assert len(first.fresh) + first.kinds["auto_reply"] >= len(SAMPLES) and first.suppressed
    events_file, suppressions_file = tmp_path / "state" / "events.jsonl", tmp_path / "lists" / "suppressions.csv"
    before = (events_file.read_bytes(), events_file.stat().st_mtime_ns, suppressions_file.read_bytes(),
              suppressions_file.stat().st_mtime_ns)
    second = run(tmp_path, box)
    assert (second.fresh, second.suppressed, second.known) == ([], [], len(first.fresh))
    assert (events_file.read_bytes(), events_file.stat().st_mtime_ns, suppressions_file.read_bytes(),
            suppressions_file.stat().st_mtime_ns) == before


def test_an_mbox_and_a_maildir_of_the_same_reports_are_the_same_events(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for data in samples().values():
        box.add(data)
    box.close()
    from_mbox = run(tmp_path / "a", tmp_path / "bounces.mbox").fresh
    from_maildir = run(tmp_path / "b", maildir(tmp_path / "Maildir", samples())).fresh
    assert sorted((e.dedupe_key, e.kind) for e in from_mbox) == sorted((e.dedupe_key, e.kind) for e in from_maildir)


def test_bad_messages_are_reported_and_skipped_without_stopping_the_import(tmp_path: Path) -> None:
    good = dsn("park@example.com")
    truncated = dsn("choi@example.com")[:420]  # cut inside the MIME structure, boundary never closed
    huge = b"From: x@example.com\r\nSubject: big\r\n\r\n" + b"A" * (20 * 1024 * 1024)
    box = maildir(tmp_path / "Maildir", {"1-garbage.eml": bytes(range(256)) * 40, "2-truncated.eml": truncated,
                                         "3-huge.eml": huge, "4-good.eml": good})
    result = run(tmp_path, box)
    assert [e.email for e in result.fresh] == ["park@example.com"]
    skipped = dict(result.skipped)
    assert "larger than" in skipped[f"maildir:{box / 'new' / '3-huge.eml'}"]
    assert "not a bounce" in skipped[f"maildir:{box / 'new' / '1-garbage.eml'}"]
    assert f"maildir:{box / 'new' / '2-truncated.eml'}" in skipped
    assert result.read == 4


def test_sender_problems_are_stored_but_never_suppress(tmp_path: Path) -> None:
    dmarc = dsn("kim@example.com", status="5.7.26", diagnostic="550 5.7.26 Unauthenticated email from "
                "example.co.kr is not accepted due to domain's DMARC policy")
    blocked = dsn("lee@example.com", status="5.7.1", message_id="<dsn-2@mx.example.net>",
                  diagnostic="554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org")
    result = run(tmp_path, maildir(tmp_path / "Maildir", {"1.eml": dmarc, "2.eml": blocked}), soft_limit=1)
    assert [e.kind for e in result.fresh] == [Kind.SENDER_PROBLEM, Kind.SENDER_PROBLEM]
    assert result.suppressed == [] and not (tmp_path / "lists" / "suppressions.csv").exists()
    assert len(result.to_json()["attention"]) == 2


def test_soft_bounces_across_issues_reach_the_limit_through_the_ledger(tmp_path: Path) -> None:
    ledger = FakeLedger(message_ids={f"{m}@example.co.kr": (f"2026-{m}", "kim@example.com") for m in ("10", "11", "12")})
    full = "552 5.2.2 <{r}>: Mailbox full"
    box = maildir(tmp_path / "Maildir", {})
    for month in ("10", "11"):
        (box / "new" / f"{month}.eml").write_bytes(dsn("kim@example.com", status="5.2.2", diagnostic=full,
                                                       message_id=f"<b{month}@mx>", original_id=f"<{month}@example.co.kr>"))
    assert run(tmp_path, box, lookup=ledger).suppressed == []
    (box / "new" / "12.eml").write_bytes(dsn("kim@example.com", status="5.2.2", diagnostic=full, message_id="<b12@mx>",
                                             original_id="<12@example.co.kr>"))
    [entry] = run(tmp_path, box, lookup=ledger).suppressed
    assert entry.reason.value == "soft_bounce_limit" and "2026-10, 2026-11, 2026-12" in entry.detail


def test_provider_event_files_import_like_mail(tmp_path: Path) -> None:
    events = [{"email": "kim@example.com", "event": "bounce", "type": "bounce", "status": "5.1.1",
               "reason": "550 5.1.1 user unknown", "sg_event_id": "e1", "timestamp": 1764547200},
              {"email": "lee@example.com", "event": "spamreport", "sg_event_id": "e2", "timestamp": 1764547200}]
    (tmp_path / "sendgrid.json").write_text(json.dumps(events), encoding="utf-8")
    result = run(tmp_path, tmp_path / "sendgrid.json")
    assert {(e.email, e.kind) for e in result.fresh} == {("kim@example.com", Kind.HARD), ("lee@example.com",
                                                                                         Kind.COMPLAINT)}
    assert run(tmp_path, tmp_path / "sendgrid.json").fresh == []
    assert len(load_events(tmp_path / "state" / "events.jsonl")) == 2
    lines = [{"event": "failed", "severity": "permanent", "id": "mg-1", "recipient": "park@example.com",
              "timestamp": 1764547200, "delivery-status": {"code": 550, "message": "5.1.1 No such user"}},
             {"event": "complained", "id": "mg-2", "recipient": "choi@example.com", "timestamp": 1764547201}]
    (tmp_path / "mailgun.jsonl").write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    (tmp_path / "other.json").write_text('{"hello": "world"}', encoding="utf-8")
    result = run(tmp_path, tmp_path / "mailgun.jsonl", tmp_path / "other.json")
    assert {(e.email, e.kind) for e in result.fresh} == {("park@example.com", Kind.HARD),
                                                         ("choi@example.com", Kind.COMPLAINT)}
    assert result.skipped == [(f"file:{tmp_path / 'other.json'}",
                               "JSON, but not SES, SendGrid, Mailgun or Postmark events")]


# --- the command line ---------------------------------------------------------------------------


def test_cli_import_then_report(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    box = maildir(project / "bounces", samples())
    code, out, err = cli("bounces", "import", str(box))
    assert code == 0
    assert out.splitlines()[0] == "Read 8: 7 new events, 0 already imported, 0 skipped."
    assert out.splitlines()[1] == "Messages: bounces 6, delays 0, auto-replies 1, human replies 0, complaints 1"
    assert out.splitlines()[2] == "By class: hard 4, sender_problem 2, complaint 1"
    assert out.count("suppressed  ") == 5 and "hard_bounce" in out and "complaint" in out
    assert err.startswith("Warning: 2 sender problem(s): servers refused our mail")
    code, out, _ = cli("bounces", "report")
    assert code == 0 and out.startswith("Last import: ") and "7 new events" in out
    assert "Messages: bounces 6, delays 0, auto-replies 1, human replies 0, complaints 1" in out
    assert "By class: hard 4, sender_problem 2, complaint 1" in out and "By domain: " in out
    problems = [line for line in out.splitlines() if line.startswith("  SENDER PROBLEM  ")]
    assert len(problems) == 2 and any("5.7.26" in line and "DMARC" in line for line in problems)
    code, out, err = cli("bounces", "import", str(box))
    assert (code, err) == (0, "") and out.startswith("Read 8: 0 new events, 7 already imported, 0 skipped.\n")
    code, out, _ = cli("bounces", "report")
    assert code == 0 and out.startswith("Last import: ") and "0 new events, 7 already known" in out
    assert json.loads(cli("bounces", "report", "--json")[1])["known_events"] == 7


def test_cli_errors_are_one_sentence_with_exit_2(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("bounces", "report")
    assert code == 2
    assert err.splitlines()[0] == f"Error: {project / 'state' / 'bounce-report.json'}: no bounce import has run yet."
    code, _, err = cli("bounces", "import", "missing.mbox")
    assert (code, err.splitlines()[0]) == (2, "Error: missing.mbox: no such file or folder; pass an mbox file, a "
                                              "Maildir folder, a provider event .json file or imaps://user@host/INBOX.")
    code, _, err = cli("bounces", "import", "imap://bounces@mail.example.com/INBOX")
    assert code == 2 and "WEBZINE_IMAP_PASSWORD" in err


def test_a_missing_source_in_korean(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("--lang", "ko", "bounces", "import", "missing.mbox")
    assert (code, err.splitlines()[0]) == (2, "오류: missing.mbox: 그런 파일이나 폴더가 없습니다. mbox 파일, Maildir 폴더, "
                                              "발송 서비스의 이벤트 .json 파일 또는 imaps://user@host/INBOX를 지정하세요.")


def test_a_source_that_cannot_be_read_does_not_lose_the_others(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    box = maildir(project / "bounces", {"1.eml": dsn("kim@example.com")})
    code, out, err = cli("bounces", "import", "missing.mbox", str(box))
    assert code == 2 and err.startswith("Error: missing.mbox: no such file or folder;")
    assert out.startswith("Read 1: 1 new events")
    assert [e.email for e in load_events(project / "state" / "bounce-events.jsonl")] == ["kim@example.com"]


def test_an_unreadable_report_to_a_verp_address_is_kept_as_unknown(tmp_path: Path) -> None:
    token = verp_token("s", "2026-12-year-end", "kim@example.com")
    ledger = FakeLedger(verp={token: ("2026-12-year-end", "kim@example.com")})
    mail = (f"From: MAILER-DAEMON@mx.example.net\r\nTo: {verp_address('bounces@example.co.kr', token)}\r\n"
            "Subject: Undeliverable\r\nMessage-ID: <odd-1@mx>\r\n\r\nSomething went wrong.\r\n").encode()
    [event] = run(tmp_path, maildir(tmp_path / "Maildir", {"1.eml": mail}), lookup=ledger).fresh
    assert (event.kind, event.email, event.issue, event.reason) == (Kind.UNKNOWN, "kim@example.com",
                                                                   "2026-12-year-end", "unparsed")
