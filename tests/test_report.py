"""`webzine report`: the issue's headline numbers, by mailbox provider, account manager and month,
from the ledger and what came back; SVG charts and no script; `--history` across issues."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import lxml.html
import pytest

import managerkit
from webzine.managers.facts import Person, Rated
from webzine.managers.outcomes import CustomerOutcome, Status
from webzine.managers.report import build_report, provider_of, tally_outcomes
from webzine.models import Manager

SLUG = managerkit.SLUG


@pytest.fixture()
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", managerkit.SECRET)
    return managerkit.sent_and_answered(tmp_path / "publication")


def report_json(project: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert managerkit.run(project, "report", *args, "--json", "--today", "2026-12-10") == 0
    return json.loads(capsys.readouterr().out)


def test_mailbox_providers_are_grouped_as_korean_readers_know_them() -> None:
    assert [provider_of(a) for a in ("a@naver.com", "b@hanmail.net", "c@daum.net", "d@kakao.com", "e@gmail.com",
                                     "f@nate.com", "g@hanbit.co.kr", "h@Outlook.com")] == [
        "네이버", "다음·카카오", "다음·카카오", "다음·카카오", "Gmail", "네이트", "회사 도메인", "해외 웹메일"]


def test_the_numbers_of_the_issue_and_its_breakdowns(sent: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = report_json(sent, SLUG, capsys=capsys)
    assert data["report"] == str(sent / "build" / SLUG / "report.html")
    assert {k: data["issue"][k] for k in ("list_size", "sent", "reached", "rehearsed", "hard_bounces", "unsubscribed",
                                          "ratings", "mean_rating", "replies", "key_customers",
                                          "key_customers_reached")} == {
        "list_size": 6, "sent": 5, "reached": 4, "rehearsed": 4, "hard_bounces": 1, "unsubscribed": 1, "ratings": 2,
        "mean_rating": 3.5, "replies": 1, "key_customers": 3, "key_customers_reached": 1}
    page = (sent / "build" / SLUG / "report.html").read_text(encoding="utf-8")
    document = lxml.html.document_fromstring(page)
    assert not document.xpath("//script") and len(document.xpath("//svg")) >= 4
    sections = {h2.text_content(): h2.getparent().text_content() for h2 in document.xpath("//h2")}
    assert set(sections) >= {"한눈에 보기", "월별 추이", "메일 서비스별", "담당자별"}
    assert "박영업" in sections["담당자별"] and "최담당" in sections["담당자별"] and "담당자 없음" in sections["담당자별"]
    assert "핵심 고객 1/3명이 받음" in sections["한눈에 보기"]
    assert re.search(r"최담당\s*2\s*1\s*50\.0%", sections["담당자별"])  # park bounced, choi got it


def test_history_across_issues_month_by_month(sent: Path, capsys: pytest.CaptureFixture[str]) -> None:
    issue = (sent / "issues" / f"{SLUG}.md").read_text(encoding="utf-8")
    (sent / "issues" / "2026-11-autumn.md").write_text(
        issue.replace("date: 2026-12-01", "date: 2026-11-02").replace("한 해를 돌아보며", "가을 소식"), encoding="utf-8")
    assert managerkit.run(sent, "send", str(sent / "issues" / "2026-11-autumn.md"), "--yes", "--today", "2026-11-02",
                          "--allow-gaps", "테스트") == 0
    data = report_json(sent, SLUG, capsys=capsys)
    assert [(h["issue"], h["sent"]) for h in data["history"]] == [("2026-11-autumn", 4), (SLUG, 5)]
    history = report_json(sent, "--history", capsys=capsys)
    assert history["issue"] is None and [h["issue"] for h in history["history"]] == ["2026-11-autumn", SLUG]
    page = (sent / "build" / "history" / "report.html").read_text(encoding="utf-8")
    assert "월별 발송 보고서 (2개 호)" in page and "26.11 가을 소식" in page and "메일 서비스별" not in page


def test_segments_appear_when_customers_have_one() -> None:
    people = [Person(f"c{n}@naver.com", manager="m1", segment="핵심 고객" if n < 3 else "이탈 위험") for n in range(5)]
    outcomes = [CustomerOutcome(p, Status.DELIVERED, rating=Rated(5) if n == 0 else None) for n, p in enumerate(people)]
    built = build_report(tally_outcomes(outcomes), {"m1": Manager("m1", "박영업", "m1@example.co.kr")}, slug=SLUG,
                         title="제목", day=date(2026, 12, 1))
    assert [(t.label, t.sent, t.rated) for t in built.segments] == [("핵심 고객", 3, 1), ("이탈 위험", 2, 0)]
    assert [(t.label, t.reached) for t in built.providers] == [("네이버", 5)]
    assert built.history[-1].totals.mean_rating == 5.0


def test_a_missing_issue_is_one_line_and_exit_2(sent: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert managerkit.run(sent, "report", "1999-01-nothing") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("Error: no issue with the slug '1999-01-nothing'") and "Traceback" not in "".join(err)
    shutil.rmtree(sent / "state")
    assert managerkit.run(sent, "report", "--history") == 2


def test_the_ci_job_summary_shows_the_headline_numbers(sent: Path, capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "report.json").write_text(json.dumps(report_json(sent, SLUG, capsys=capsys)), encoding="utf-8")
    script = Path(__file__).resolve().parent.parent / ".ci" / "summary.py"
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "reports")], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    assert f"### Report {SLUG}" in out and "| 6 | 4 | 4 | 1 | 0 | 0 | 1 | 2 | 3.5 | 1 | 1 | 3 |" in out
    assert f"`{SLUG}/report.html`" in out
