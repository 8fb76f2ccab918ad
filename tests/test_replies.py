"""Replies to an issue: kept with the customer and account manager, listed per manager.

The test publication's lists (conftest's project: lists/subscribers.csv, lists/managers.csv)
and a real send ledger name the customers; the mailbox is a Maildir holding replies, an
auto-reply, a stranger's mail, a bounce and a delay warning.
"""

from __future__ import annotations

import json
import mailbox
import tempfile
from pathlib import Path

import pytest

from bouncekit import FakeLedger, SentRow, cli, dsn, mail, reply  # noqa: F401 - cli is a fixture
from webzine.bounces.sources import FileSource
from webzine.errors import ListError
from webzine.i18n import activate
from webzine.send.ledger import Claim, Ledger
from webzine.models import Manager
from webzine.replies.importer import Customer, run_import
from webzine.replies.reader import own_text
from webzine.replies.records import Reply
from webzine.replies.report import build_report
from webzine.replies.store import load_replies

ISSUE = "2026-12-year-end"
KIM_MESSAGE = f"{ISSUE}.0a1b2c3d@example.co.kr"
LEE_MESSAGE = f"{ISSUE}.4e5f6a7b@example.co.kr"
DELAY = mail("""
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: bounces@example.co.kr
Subject: Warning: message 1GdV3O-0002RD-H2 delayed 24 hours
Message-ID: <delay-1@mx.example.net>
""", "A message that you sent has not yet been delivered to one or more of its\nrecipients after more than 24 hours "
     "on the queue.\n\n  lee@example.com\n    Delay reason: 451 4.2.2 mailbox full\n")


def _mailbox(folder: Path) -> Path:
    box = mailbox.Maildir(folder, create=True)
    for raw in [
        reply("김갑수 <kim@example.com>", "RE: 12월 소식", "견적서 부탁드립니다.\n\n-----Original Message-----\n"
              "보낸 사람: 초록상회 <news@example.co.kr>\n참조: someone@example.com\n", number=1, answers=KIM_MESSAGE,
              date="Wed, 02 Dec 2026 09:00:00 +0900"),
        reply("Eulsun Lee <eulsun@other.example>", "Re: 12월 소식", "다른 주소로 답장합니다. 배송일 확인 부탁해요.\n"
              "\nOn Tue, Dec 1, 2026 at 9:00 AM 초록상회 <news@example.co.kr> wrote:\n> 12월 소식\n", number=2,
              answers=LEE_MESSAGE, date="Tue, 01 Dec 2026 15:00:00 +0900"),
        reply("박지훈 <jihoon@example.com>", "[부재중] 12월 소식", "휴가 중입니다.", number=3, answers=KIM_MESSAGE),
        reply("Stranger <who@example.org>", "Re: hello", "Wrong address?", number=4, answers="unknown@example.org"),
        reply("박영업 <young@example.co.kr>", "RE: 12월 소식", "보내 드렸습니다.", number=5,
              answers="reply-1@mail.example.com", date="Wed, 02 Dec 2026 11:00:00 +0900"),
        dsn("park@example.com"),
        DELAY,
    ]:
        box.add(raw)
    return folder


def _ledger(project: Path) -> None:
    with Ledger.open(project / "state" / "ledger.sqlite3") as ledger:
        ledger.commit(ISSUE, transport="outbox", run_id=None, claims=[
            Claim("kim@example.com", "kim@example.com", KIM_MESSAGE, None),
            Claim("lee@example.com", "lee@example.com", LEE_MESSAGE, None)])


def test_replies_are_kept_per_manager_and_importing_twice_changes_nothing(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    _ledger(project)
    box = _mailbox(project / "Maildir")
    code, out, err = cli("replies", "import", str(box), "--today", "2026-12-06")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == ("Read 7: 2 new replies, 1 new auto-replies (counted, not listed), 0 already "
                                   "imported, 1 not from a customer, 1 marked answered, 0 skipped.")
    assert out.splitlines()[1] == "Messages: bounces 1, delays 1, auto-replies 1, human replies 4, complaints 0"
    store = project / "state" / "replies.jsonl"
    stored = {r.sender: r for r in load_replies(store)}
    assert set(stored) == {"kim@example.com", "eulsun@other.example", "jihoon@example.com"}
    kim, lee = stored["kim@example.com"], stored["eulsun@other.example"]
    assert (kim.issue, kim.customer, kim.company, kim.manager, kim.matched_by) == (
        ISSUE, "김갑수", "갑수상사", "m1", "message_id")
    assert kim.excerpt == "견적서 부탁드립니다." and (kim.answered_at, kim.answered_by) == ("2026-12-02", "박영업")
    # Written from another address, but it answers the message we sent to 이을순: the ledger knows.
    assert (lee.issue, lee.customer, lee.manager) == (ISSUE, "이을순", "")
    assert lee.excerpt == "다른 주소로 답장합니다. 배송일 확인 부탁해요."
    before = (store.read_bytes(), store.stat().st_mtime_ns)

    code, out, _ = cli("replies", "import", str(box), "--today", "2026-12-06")
    assert code == 0 and out.startswith("Read 7: 0 new replies, 0 new auto-replies (counted, not listed), "
                                        "3 already imported,")
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before

    code, out, _ = cli("replies", "report")
    lines = out.splitlines()
    assert lines[0] == f"이번 호에 답장한 고객 — {ISSUE}: 답장 2건 (자동 응답 1건은 목록에서 뺐습니다)"
    assert lines[2] == "박영업 (young@example.co.kr) — 미답변 0건, 답변 1건"
    assert lines[3].startswith("  2026-12-02 09:00  김갑수 · 갑수상사 <kim@example.com>  「RE: 12월 소식」")
    assert lines[3].endswith("(답변함 2026-12-02, 박영업)") and "jihoon" not in out
    assert lines[5] == "담당자 없음 — 미답변 1건, 답변 0건"
    assert lines[6] == ("  2026-12-01 15:00  이을순 <eulsun@other.example>  「Re: 12월 소식」  다른 주소로 답장합니다. "
                        "배송일 확인 부탁해요.")
    report = json.loads(cli("replies", "report", "--json")[1])
    assert (report["replies"], report["auto_replies"], report["managers"][0]["id"]) == (2, 1, "m1")



def test_a_manager_the_list_names_by_address_is_known_to_the_import_and_the_report(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    """A CRM export's own manager columns (`[lists.columns] manager_email`), no managers file: the
    manager's answer still marks the reply answered, and the report names the manager."""
    (project / "lists" / "subscribers.csv").write_text(
        "email,name,company,account_manager,account_manager_email,consent_at\n"
        "kim@example.com,김갑수,갑수상사,박영업,young@example.co.kr,2025-01-02\n"
        "lee@example.com,이을순,,,,2025-02-03\n", encoding="utf-8")
    (project / "lists" / "managers.csv").unlink()
    config = project / "webzine.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[lists.columns]\nmanager = "account_manager"\n'
                      'manager_email = "account_manager_email"\n', encoding="utf-8")
    _ledger(project)
    code, out, err = cli("replies", "import", str(_mailbox(project / "Maildir")), "--today", "2026-12-06")
    assert (code, err) == (0, ""), err
    kim = {r.sender: r for r in load_replies(project / "state" / "replies.jsonl")}["kim@example.com"]
    assert (kim.manager, kim.answered_by) == ("young@example.co.kr", "박영업")
    code, out, _ = cli("replies", "report")
    assert out.splitlines()[2] == "박영업 (young@example.co.kr) — 미답변 0건, 답변 1건"

def test_bounces_and_replies_each_take_only_their_own(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    _ledger(project)
    box = _mailbox(project / "Maildir")
    code, out, _ = cli("bounces", "import", str(box))
    assert code == 0 and out.splitlines()[0].startswith("Read 7: 2 new events")
    events = [json.loads(line) for line in (project / "state" / "bounce-events.jsonl").read_text().splitlines()]
    assert sorted((e["email"], e["kind"]) for e in events) == [("lee@example.com", "delayed"),
                                                              ("park@example.com", "hard")]
    code, out, _ = cli("replies", "import", str(box))
    assert code == 0 and len(load_replies(project / "state" / "replies.jsonl")) == 3


def test_control_characters_from_outside_never_reach_the_terminal(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    _ledger(project)
    box = mailbox.Maildir(project / "Maildir", create=True)
    box.add(reply("김갑수 <kim@example.com>", "RE: \x1b]0;pwned\x07소식 \x1b[2J", "안녕\u202e하세요", number=9,
                  answers=KIM_MESSAGE))
    code, out, _ = cli("replies", "import", str(project / "Maildir"))
    assert code == 0 and "\x1b" not in out
    code, out, _ = cli("replies", "report")
    assert "\x1b" not in out and "\u202e" not in out and "안녕하세요" in out and "pwned" not in out


def test_a_customer_writing_without_a_reference_is_matched_by_the_list_and_the_last_issue_sent() -> None:
    customers = {"kim@example.com": Customer("kim@example.com", "김갑수", "다향 찻집", "m1")}
    ledger = FakeLedger(sent={"kim@example.com": [SentRow("2026-11-autumn", "accepted", "2026-11-01T00:00:00+00:00"),
                                                  SentRow(ISSUE, "accepted", "2026-12-01T00:00:00+00:00")]})
    raw = mail("From: kim@example.com\nTo: news@example.co.kr\nSubject: 주문 문의\nMessage-ID: <n-1@example.com>\n"
               "Date: Mon, 30 Nov 2026 10:00:00 +0900", "11월 소식 보고 연락드립니다.")
    [kept] = _import_one(raw, customers, ledger)
    assert (kept.issue, kept.matched_by, kept.manager) == ("2026-11-autumn", "subscriber", "m1")


def _import_one(raw: bytes, customers: dict, ledger: FakeLedger):  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "one.eml"
        path.write_bytes(raw)
        result = run_import([FileSource(path)], store_path=Path(folder) / "replies.jsonl", customers=customers,
                            managers={}, lookup=ledger)
        return result.fresh


def test_the_report_puts_the_longest_waiting_first_and_customers_without_a_manager_last() -> None:
    managers = {"m1": Manager("m1", "정다솔", "dasol@example.co.kr"), "m2": Manager("m2", "윤재민", "jm@example.co.kr")}
    rows = [Reply("a", "human_reply", "a@x.example", "2026-12-03T09:00:00+09:00", issue=ISSUE, manager="m2"),
            Reply("b", "human_reply", "b@x.example", "2026-12-01T09:00:00+09:00", issue=ISSUE, manager=""),
            Reply("c", "human_reply", "c@x.example", "2026-12-02T09:00:00+09:00", issue=ISSUE, manager="m2"),
            Reply("d", "human_reply", "d@x.example", "2026-12-01T08:00:00+09:00", issue=ISSUE, manager="m2",
                  answered_at="2026-12-01"),
            Reply("e", "auto_reply", "e@x.example", "2026-12-01T08:00:00+09:00", issue=ISSUE),
            Reply("f", "human_reply", "f@x.example", "2026-11-05T08:00:00+09:00", issue="2026-11-autumn", manager="m1")]
    built = build_report(rows, managers)
    assert built.issue == ISSUE and built.auto_replies == 1 and built.issues == (ISSUE, "2026-11-autumn")
    assert [(g.manager_id, [r.message_id for r in g.unanswered], [r.message_id for r in g.answered])
            for g in built.groups] == [("m2", ["c", "a"], ["d"]), ("", ["b"], [])]
    assert [g.manager_id for g in build_report(rows, managers, "2026-11-autumn").groups] == ["m1"]


@pytest.mark.parametrize(("body", "own"), [
    ("네, 좋습니다.\n\n2026년 12월 1일 (화) 오전 9:00, 초록상회 <news@example.co.kr>님이 작성:\n> 소식", "네, 좋습니다."),
    ("Gracias.\n\nDe: Choroksanghoe <news@example.co.kr>\nEnviado el: martes\n", "Gracias."),
    ("OK\r\n________________________________________\r\nFrom: CRM Comments [crm-comment@example.com]\r\n", "OK"),
])
def test_the_excerpt_is_the_writers_own_text(body: str, own: str) -> None:
    assert own_text(body) == own


def test_an_auto_reply_is_counted_not_listed_and_suppresses_nobody(tmp_path: Path) -> None:
    raw = reply("lee@example.com", "Automatic reply: 12월 소식", "I am out of the office.", number=7,
                extra="Auto-Submitted: auto-replied\n")
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(raw)
    result = run_import([FileSource(tmp_path / "Maildir")], store_path=tmp_path / "replies.jsonl",
                        customers={"lee@example.com": Customer("lee@example.com", "이", "", "m1")}, managers={})
    assert result.fresh_auto_replies == 1 and result.fresh_replies == []
    assert build_report(load_replies(tmp_path / "replies.jsonl"), {}).groups == ()
    assert not (tmp_path / "suppressions.csv").exists()


def test_a_broken_stored_reply_is_named_by_file_and_line_in_korean(tmp_path: Path) -> None:
    activate("ko")
    store = tmp_path / "replies.jsonl"
    store.write_text("\n{not json\n", encoding="utf-8")
    with pytest.raises(ListError) as broken:
        load_replies(store)
    assert broken.value.message.startswith(f"{store}:2: 저장된 회신이(가) 아닙니다(")
    assert broken.value.message.endswith("). 백업에서 그 줄을 복원하거나 지우세요.")
