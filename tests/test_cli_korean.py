"""The command line in Korean: the main errors a user meets, as exact lines with their exit codes,
the Korean help, and the language chosen from `--lang`, the locale and the publication."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from clikit import ISSUE, copy_sample, new_dkim_key, run

from webzine.audit.audit import SHOWN_CODES, AuditReport, Gap, Outcome
from webzine.cli import main
from webzine.cli.audit import render
from webzine.i18n import activate

DRY_RUN = "시험 실행 — 아무것도 보내지 않았습니다. 보내려면 --yes를 붙이세요."


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sample(tmp_path_factory.mktemp("korean"))


@pytest.fixture(scope="module")
def dkim() -> str:
    return new_dkim_key()


def webzine(folder: Path, *args: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            **environ: str) -> tuple[int, str, str]:
    """`webzine ARGS` run in `folder` in this process: (exit code, stdout, stderr)."""
    monkeypatch.chdir(folder)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    output = capsys.readouterr()
    return stopped.value.code, output.out, output.err


@pytest.fixture
def korean(sample: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`korean(*args, folder=sample, **environ)` → `webzine --lang ko ARGS` in the sample publication."""

    def invoke(*args: str, folder: Path = sample, **environ: str) -> tuple[int, str, str]:
        return webzine(folder, "--lang", "ko", *args, monkeypatch=monkeypatch, capsys=capsys, **environ)

    return invoke


def test_no_webzine_toml(korean, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert korean("build", "issues/x.md", folder=tmp_path) == (
        2, "", "오류: webzine.toml: 파일이 없습니다.\n안내: 프로젝트 폴더에서 webzine을 실행하거나 --config PATH를 지정하세요.\n")


def test_issue_file_missing(korean) -> None:  # type: ignore[no-untyped-def]
    code, out, err = korean("send", "issues/없는-호.md")
    assert (code, out) == (2, "")
    assert err.splitlines() == ["사용법: webzine send [OPTIONS] [ISSUE]", "도움말은 'webzine send --help'로 보세요.", "",
                                "오류: '[ISSUE]'의 값이 잘못되었습니다: 'issues/없는-호.md' 파일이 없습니다."]


def test_list_with_an_unknown_column(korean, sample: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = korean("lists", "clean", "lists/subscribers.csv", "--column", "이메일=email")
    assert (code, out) == (2, "")
    assert err == ("오류: [lists.columns] 이메일 (또는 --column 이메일=email): 알 수 없는 필드 '이메일'입니다. adjective, company, "
                   "consent_at, detail, email, excused, id, manager, name, phone, reason, since, source, tags, title 중 "
                   "하나를 쓰세요.\n")


def test_a_column_option_without_a_header(korean) -> None:  # type: ignore[no-untyped-def]
    code, __, err = korean("lists", "clean", "--column", "email")
    assert code == 2
    assert err.splitlines()[-1] == "오류: --column의 값이 잘못되었습니다: 'email': FIELD=HEADER 형식으로 쓰세요. 예: email=전자우편"


def test_send_without_yes_is_a_dry_run(korean, dkim: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = korean("send", ISSUE, WEBZINE_UNSUBSCRIBE_SECRET="s", WEBZINE_DKIM_PRIVATE_KEY=dkim)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == DRY_RUN
    assert lines[1] == "  호         2026-12-year-end  (한 해를 돌아보며)"
    assert "  점검       통과" in lines
    assert lines[-1] == f"다음: webzine send {ISSUE} --yes"


def test_send_refused_by_audit_gaps(korean, sample: Path, tmp_path: Path, dkim: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "gaps"
    shutil.copytree(sample, folder)
    with (folder / "lists" / "key-customers.csv").open("a", encoding="utf-8") as file:
        file.write("nobody@example.co.kr,없는사람,없는회사,m1,\n")
    code, out, err = korean("send", ISSUE, folder=folder, WEBZINE_UNSUBSCRIBE_SECRET="s", WEBZINE_DKIM_PRIVATE_KEY=dkim)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "오류: 핵심 고객 1명이 이번 호를 받지 못합니다(첫 번째: nobody@example.co.kr, 명단에 없음). 아무것도 보내지 않았습니다.",
        f"안내: webzine audit {ISSUE}을(를) 실행해 목록을 고치거나, 그래도 보내려면 --allow-gaps \"사유\"를 붙이세요."]


def test_missing_secret(korean) -> None:  # type: ignore[no-untyped-def]
    assert korean("bounces", "import", "imaps://news@127.0.0.1/INBOX") == (2, "", (
        "오류: 환경 변수 WEBZINE_IMAP_PASSWORD(반송 메일함의 IMAP 비밀번호)이(가) 설정되어 있지 않습니다.\n"
        "안내: export WEBZINE_IMAP_PASSWORD=…로 설정하세요(또는 CI 시크릿으로 등록하세요). webzine.toml에는 변수 이름만 적습니다.\n"))


def test_bad_today(korean) -> None:  # type: ignore[no-untyped-def]
    assert korean("--today", "2026-13-01", "due") == (
        2, "", "오류: --today: '2026-13-01'은(는) 날짜가 아닙니다. 2026-12-01처럼 YYYY-MM-DD 형식으로 쓰세요.\n")


@pytest.mark.parametrize(("args", "line"), [
    (["--nope"], "오류: '--nope' 옵션은 없습니다."),
    (["send", "--outbox-format", "zip"],
     "오류: '--outbox-format'의 값이 잘못되었습니다: 'zip'은(는) 쓸 수 없습니다. 'maildir', 'mbox', 'eml' 중에서 고르세요."),
    (["send", "--limit", "0"], "오류: '--limit'의 값이 잘못되었습니다: 0은(는) 허용 범위(x>=1) 밖입니다."),
    (["send", "--rate", "fast"], "오류: '--rate'의 값이 잘못되었습니다: 'fast'은(는) 숫자가 아닙니다."),
    (["digest", "write"], "오류: 인자 'ISSUE'이(가) 빠졌습니다."),
    (["lists", "clean", "--top", "3"], "오류: '--top' 옵션은 없습니다. '--output'을(를) 말씀하신 건가요?"),
])
def test_usage_errors(korean, args: list[str], line: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = korean(*args)
    assert (code, out) == (2, "")
    assert err.splitlines()[0].startswith("사용법: webzine")
    assert err.splitlines()[-1] == line


def test_korean_help_of_send(korean) -> None:  # type: ignore[no-untyped-def]
    code, out, err = korean("send", "--help")
    assert (code, err) == (0, "")
    assert out.startswith("사용법: webzine send [OPTIONS] [ISSUE]\n\n  ISSUE를 정리된 명단과 합쳐 보냅니다 — --yes가 없으면 시험 실행입니다.\n")
    assert "\n옵션:\n" in out


@pytest.mark.slow  # four webzine subprocesses: the locale is read at process start
def test_a_korean_publication_speaks_korean_on_a_c_locale(sample: Path, dkim: str) -> None:
    """CI runs with LANG=C.UTF-8: the publication's `language = "ko"` decides; a Korean or English
    locale, and above it --lang, win over the publication."""
    c_locale = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}
    assert run(sample, "send", ISSUE, env=c_locale, dkim=dkim).stdout.splitlines()[0] == DRY_RUN
    english = run(sample, "send", ISSUE, env={**c_locale, "LANG": "en_US.UTF-8"}, dkim=dkim)
    assert english.stdout.splitlines()[0] == "Dry run — nothing was sent. Add --yes to send."
    chosen = run(sample, "--lang", "ko", "send", ISSUE, env={**c_locale, "LANG": "en_US.UTF-8"}, dkim=dkim)
    assert chosen.stdout.splitlines()[0] == DRY_RUN
    assert run(sample, "--help", env=c_locale).stdout.startswith("사용법: webzine [OPTIONS] COMMAND [ARGS]...")


def test_the_audit_table_names_reasons_and_suggestion_rules_in_korean() -> None:
    """The CSV and --json keep the codes (`not_on_list`, `typo_domain`); the table a Korean
    account manager reads says them in words."""
    rules = ["typo_domain", "local_typo", "same_name_company", "same_local_part"]
    reasons = [outcome for outcome in Outcome if outcome is not Outcome.PRESENT]
    gaps = [Gap(email=f"k{number}@example.com", name="김갑수", company="갑수상사", manager="m1", reason=reason,
                detail="", suggestion=f"k{number}@example.co.kr" if number < len(rules) else None,
                suggestion_rule=rules[number] if number < len(rules) else None)
            for number, reason in enumerate(reasons)]
    report = AuditReport(ok=False, issue="2026-12", key_customers=len(gaps), present=0, excused=0, gaps=gaps)
    activate("ko")
    table = render(report, {})
    codes = {reason.value for reason in reasons} | set(rules)
    assert codes <= set(SHOWN_CODES)  # a new reason or rule is added to the catalog too
    assert [code for code in codes if code in table] == []
    assert "명단에 없음" in table and "도메인 오타" in table
    activate("en")
    assert "not_on_list" in render(report, {}) and "(typo_domain)" in render(report, {})
