"""`webzine audit` as a user runs it — exit codes, the table by account manager, `--json`,
`--csv`, explicit paths — and the send gate: `webzine send` refuses while there are gaps.

The exit codes, the table and the bytes of `--csv` are checked on the `webzine` process; what a
document or a gate says is checked in this process (`in_here`), as the calendar test re-runs this
module under three moved clocks."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from clikit import Run, run_here
from conftest import TODAY, write_config

pytestmark = pytest.mark.slow  # each test runs webzine (a subprocess where the process is what is checked)

ROOT = Path(__file__).resolve().parent.parent
WEBZINE = str(Path(sys.executable).parent / "webzine")
RECENT = (TODAY - timedelta(days=20)).isoformat()
OLD = (TODAY - timedelta(days=1000)).isoformat()



def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_config(tmp_path)
    write(tmp_path / "lists" / "subscribers.csv", [
        "이메일,이름,회사,담당자,수신동의일",
        f"kim@naver.con,김갑수,한빛테크,m2,{RECENT}",
        f"lee@daum.net,이을녀,푸른상사,m1,{RECENT}",
        f"park@nate.com,박병호,새솔,m1,{OLD}",
    ], "cp949")
    write(tmp_path / "lists" / "key-customers.csv", [
        "email,name,company,manager,excused",
        "kim@naver.com,김갑수,한빛테크,m2,",
        "이을녀 <LEE＠daum.net>,이을녀,푸른상사,m1,",
        "park@nate.com,박병호,새솔,m1,",
    ], "utf-8-sig")
    write(tmp_path / "lists" / "managers.csv", [
        "id,name,email,phone", "m1,정다솔,dasol@example.co.kr,010-0000-1001",
        "m2,윤재민,jaemin@example.co.kr,010-0000-1002"])
    write(tmp_path / "issues" / "2026-12-news.md", [
        "---", "title: 12월 소식", "subject: 12월 소식", "date: 2026-12-01", "advertising: false", "---", "안녕하세요."])
    write(tmp_path / "issues" / "2026-12-sale.md", [
        "---", "title: 연말 할인", "subject: 연말 할인", "date: 2026-12-01", "advertising: true", "---", "할인합니다."])
    return tmp_path


def webzine(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WEBZINE, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def in_here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`webzine(cwd, *args, env=…)` run in this process: the same answer without a process start."""
    return run_here(monkeypatch, capsys)


def test_table_groups_gaps_by_account_manager_and_exits_1(project):
    done = webzine(project, "audit", "issues/2026-12-sale.md")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Key customers: 3 — present 1, gaps 2 (excused 0) [issue 2026-12-sale, advertising]"
    assert lines[2] == "m1 정다솔 (010-0000-1001, dasol@example.co.kr)"
    assert re.fullmatch(r"  박병호\s+새솔\s+park@nate\.com\s+consent_expired\s+subscriber list row 4: consent given "
                        rf"{OLD}, older than the limit; ask for consent again", lines[3])
    assert lines[5] == "m2 윤재민 (010-0000-1002, jaemin@example.co.kr)"
    assert re.fullmatch(r"  김갑수\s+한빛테크\s+kim@naver\.com\s+not_on_list\s+→ kim@naver\.con \(typo_domain\)", lines[6])


def test_informational_issue_has_fewer_gaps(project, in_here):
    done = in_here(project, "audit", "issues/2026-12-news.md", "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert (document["issue"], document["present"], [g["email"] for g in document["gaps"]]) == (
        "2026-12-news", 2, ["kim@naver.com"])


def test_json_schema(project, in_here):
    done = in_here(project, "audit", "--json")
    document = json.loads(done.stdout)
    assert list(document) == ["ok", "issue", "key_customers", "present", "excused", "gaps"]
    assert document["ok"] is False and document["issue"] is None and document["key_customers"] == 3
    gap = document["gaps"][0]
    assert gap == {"email": "kim@naver.com", "name": "김갑수", "company": "한빛테크", "manager": "m2",
                   "reason": "not_on_list", "detail": gap["detail"], "suggestion": "kim@naver.con",
                   "suggestion_rule": "typo_domain", "excused": None}
    assert gap["detail"].endswith("probably kim@naver.con (on the list at row 2, rejected: typo_domain)")


def test_csv_has_every_customer(project, in_here):
    done = in_here(project, "audit", "--csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout.removeprefix("\ufeff"))))
    assert [(r["email"], r["outcome"], r["list_row"]) for r in rows] == [
        ("이을녀 <LEE＠daum.net>", "present", "3"), ("park@nate.com", "consent_expired", "4"),
        ("kim@naver.com", "not_on_list", "")]


def test_csv_starts_with_a_byte_order_mark_so_excel_shows_korean(project):
    """Excel opens a CSV without a BOM in the system code page and garbles the names."""
    done = subprocess.run([WEBZINE, "audit", "--csv"], cwd=project, capture_output=True, timeout=120,
                          env={**os.environ})
    assert done.stdout.startswith(codecs.BOM_UTF8), done.stdout[:20]
    text = done.stdout.decode("utf-8-sig")
    assert text.startswith("manager,row,email,") and "김갑수" in text and text.count("\ufeff") == 0


def test_exit_0_when_every_gap_is_fixed_or_excused(project):
    write(project / "lists" / "key-customers.csv", [
        "email,name,company,manager,excused",
        "LEE@daum.net,이을녀,푸른상사,m1,",
        "kim@naver.com,김갑수,한빛테크,m2,오타 주소, 김 대표님께 전화로 확인 중 (2026-11-20)",
    ], "cp949")
    done = webzine(project, "audit")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[0] == "Key customers: 2 — present 1, gaps 1 (excused 1) [advertising]"
    assert done.stdout.splitlines()[-1] == "Every gap is excused."


def test_explicit_paths_override_the_config_and_work_without_one(project, tmp_path_factory, in_here):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    write(elsewhere / "s.csv", ["email,consent_at", f"kim@naver.com,{RECENT}"])
    write(elsewhere / "k.csv", ["email,name", "KIM@naver.com,김"])
    done = in_here(elsewhere, "audit", "--subscribers", "s.csv", "--key-customers", "k.csv")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "All key customers will receive this issue.")
    done = in_here(project, "audit", "--subscribers", str(elsewhere / "s.csv"), "--json")
    document = json.loads(done.stdout)  # the project's key customers against the other list
    assert (document["present"], [(g["email"], g["reason"]) for g in document["gaps"]]) == (
        1, [("이을녀 <LEE＠daum.net>", "not_on_list"), ("park@nate.com", "not_on_list")])


@pytest.mark.parametrize("args, message", [
    (["audit", "--key-customers", "lists/nope.csv"], "Error: lists/nope.csv: no such file."),
    (["audit", "--subscribers", "lists/key-customers.csv", "--key-customers", "lists/managers.csv"],
     "Error: lists/key-customers.csv"),
    (["audit", "issues/2026-12-sale.md", "--informational"],
     "Error: issues/2026-12-sale.md says advertising: true; drop --advertising/--informational or the ISSUE."),
    (["audit", "--json", "--csv"], "Error: choose one of --json and --csv."),
])
def test_bad_input_exits_2(project, args, message):
    if "lists/managers.csv" in args:
        write(project / "lists" / "managers.csv", ["id,name", "m1,김"])  # no email column
        message = "Error: lists/managers.csv: no email column (columns found: 'id', 'name')."
    done = webzine(project, *args)
    assert done.returncode == 2, done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0].startswith(message), done.stderr


# -- the send gate, on a copy of the sample publication -------------------------------------------


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    for name in ("issues", "templates", "lists"):
        shutil.copytree(ROOT / name, tmp_path / name)
    toml = (ROOT / "webzine.toml").read_text(encoding="utf-8")
    (tmp_path / "webzine.toml").write_text(re.sub(r"\[dkim\][^\[]*", "", toml), encoding="utf-8")
    return tmp_path


def test_send_refuses_with_gaps_and_records_the_reason_when_allowed(sample, in_here):
    env = {"WEBZINE_UNSUBSCRIBE_SECRET": "test-secret"}
    issue = "issues/2026-12-year-end.md"
    audit = json.loads(in_here(sample, "audit", issue, "--json").stdout)
    unexcused = [g for g in audit["gaps"] if not g["excused"]]
    assert unexcused, "the sample publication is expected to have a gap to demonstrate the gate"
    refused = in_here(sample, "send", issue, env=env)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == (
        f"Error: {len(unexcused)} key customer(s) would not receive this issue "
        f"(first: {unexcused[0]['email']}, {unexcused[0]['reason']}); nothing was sent.")
    allowed = in_here(sample, "send", issue, "--allow-gaps", "박 대표님은 전화로 안내", env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert "gaps accepted: 박 대표님은 전화로 안내" in allowed.stdout


def test_the_send_gate_shows_the_customer_notes_as_notes_not_gaps(sample, in_here):
    env = {"WEBZINE_UNSUBSCRIBE_SECRET": "test-secret"}
    issue = "issues/2026-12-year-end.md"
    scored = in_here(sample, "--today", "2026-12-01", "customers", "score")
    assert scored.returncode == 0, scored.stderr
    audit = in_here(sample, "--today", "2026-12-01", "audit", issue)
    notes = [line.strip() for line in audit.stdout.splitlines() if line.strip().startswith("customers (scored")]
    assert notes, audit.stdout
    dry_run = in_here(sample, "--today", "2026-12-01", "send", issue, "--allow-gaps", "확인 중", env=env)
    assert dry_run.returncode == 0, dry_run.stderr
    assert [line.split("note", 1)[1].strip() for line in dry_run.stdout.splitlines()
            if line.strip().startswith("note ")] == notes
    as_json = json.loads(in_here(sample, "--today", "2026-12-01", "send", issue, "--allow-gaps", "확인 중", "--json",
                                 env=env).stdout)
    assert as_json["audit_notes"] == notes
