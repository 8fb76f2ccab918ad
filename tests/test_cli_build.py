from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clikit import in_process
from conftest import CONFIG

ISSUE = "issues/2026-12-year-end.md"


@pytest.fixture
def run(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `webzine ARGS…` in-process inside the project folder: (exit code, stdout, stderr)."""
    return in_process(project, monkeypatch, capsys)


def set_issue(project: Path, text: str) -> None:
    (project / ISSUE).write_text(text, encoding="utf-8")


FRONT = '---\ntitle: 소식\nsubject: "(광고) 소식"\ndate: 2026-12-01\nadvertising: true\n---\n'


def test_build_writes_the_output_and_says_where(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("build", ISSUE)
    assert (code, err) == (0, "")
    assert out.startswith("한 해를 돌아보며 → build/2026-12-year-end/\n")
    assert "email.html" in out and "KB" in out and "lint: ok — 0 error(s), 0 warning(s)" in out
    assert "name (1 empty of 3)" in out
    folder = project / "build" / "2026-12-year-end"
    assert {p.name for p in folder.iterdir()} >= {"email.html", "preview.html", "email.txt", "web.html", "report.json"}


def test_lint_errors_exit_1_and_still_write_the_output(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    set_issue(project, FRONT.replace('"(광고) 소식"', '"[광고] 소식"') + "본문 <img src=\"https://x.example.com/a.png\">\n")
    code, out, _ = run("build", ISSUE)
    assert code == 1
    assert "error ad-subject: issues/2026-12-year-end.md:3: an advertising issue's subject must start with exactly" in out
    assert "error img-no-alt: issues/2026-12-year-end.md:7:" in out
    assert "lint: failed — 2 error(s)" in out
    report = json.loads((project / "build" / "2026-12-year-end" / "report.json").read_text(encoding="utf-8"))
    assert [f["code"] for f in report["lint"]["findings"] if f["level"] == "error"] == ["img-no-alt", "ad-subject"]


@pytest.mark.parametrize(
    ("issue", "error"),
    [
        ("# 제목\n본문\n", "Error: issues/2026-12-year-end.md:1: no front matter; the file must start with a '---' "
                          "line, then title:, subject: and date:, then another '---' line."),
        (FRONT.replace('subject: "(광고) 소식"', "subject: {{ recipient.name }} 님"),
         "Error: issues/2026-12-year-end.md:3: the front matter is not valid YAML (expected <block end>, but found "
         "'<scalar>'); quote values that contain \":\" or start with \"{\", e.g. subject: \"…\"."),
        (FRONT.replace("advertising: true", "advertising: true\ntemplate: fancy") + "본문\n",
         "Error: issues/2026-12-year-end.md:6: unknown template 'fancy'; available: email."),
        (FRONT + "본문\n\n{% if recipient.company %}회사\n",
         "Error: issues/2026-12-year-end.md:9: Unexpected end of template. Jinja was looking for the following "
         "tags: * The innermost block that needs to be closed is 'if'; fix the merge tag."),
        (FRONT + "안녕하세요 {{ recipient.nmae }} 님\n",
         "Error: issues/2026-12-year-end.md:7: unknown merge field 'recipient.nmae'; did you mean 'recipient.name'?"),
        (FRONT.replace("title: 소식", "titel: 소식") + "본문\n",
         "Error: issues/2026-12-year-end.md:2: unknown front matter key 'titel'; did you mean 'title'?"),
    ],
    ids=["missing-front-matter", "bad-yaml", "unknown-template", "jinja-syntax", "misspelt-field", "unknown-key"],
)
def test_bad_input_exits_2_with_one_line(run, project: Path, issue: str, error: str) -> None:  # type: ignore[no-untyped-def]
    set_issue(project, issue)
    code, out, err = run("build", ISSUE)
    assert code == 2 and out == ""
    first, rest = error.split("*") if "*" in error else (error, "")
    assert err.splitlines()[0].startswith(first) and err.splitlines()[0].endswith(rest)  # Jinja lists tags in set order
    assert "Traceback" not in err


def test_unknown_config_key_exits_2(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    config = CONFIG.replace('phone = "02-123-4567"', 'phone = "02-123-4567"\nlangauge = "ko"')
    (project / "webzine.toml").write_text(config, encoding="utf-8")
    code, _, err = run("build", ISSUE)
    assert code == 2
    assert err.splitlines()[0] == "Error: webzine.toml:7: unknown key 'langauge' in [publication]; did you mean 'language'?"


def test_a_failed_build_leaves_the_previous_output(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("build", ISSUE)[0] == 0
    folder = project / "build" / "2026-12-year-end"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    set_issue(project, FRONT + "{{ recipient.nmae }}\n")
    assert run("build", ISSUE)[0] == 2
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_missing_issue_file(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("build", "issues/nope.md")
    assert code == 2 and err.startswith("Error: issues/nope.md: no such issue file.\nHint: webzine new TITLE")


def test_new_scaffolds_a_romanised_slug_and_refuses_to_overwrite(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("new", "신제품 출시 안내", "--date", "2027-01-15", "--advertising")
    assert code == 0 and out.startswith("Created issues/2027-01-sinjepum-chulsi-annae.md, dated 2027-01-15 (from --date")
    path = project / "issues" / "2027-01-sinjepum-chulsi-annae.md"
    text = path.read_text(encoding="utf-8")
    assert 'title: "신제품 출시 안내"' in text and 'subject: "(광고) 신제품 출시 안내"' in text and "date: 2027-01-15" in text
    assert run("build", str(path.relative_to(project)))[0] == 0
    code, _, err = run("new", "신제품 출시 안내", "--date", "2027-01-15", "--advertising")
    assert code == 2
    assert err.splitlines()[0] == ("Error: issues/2027-01-sinjepum-chulsi-annae.md: already exists; edit it, or pass "
                                   "--slug to start another issue.")  # fmt: skip
    assert path.read_text(encoding="utf-8") == text


def test_new_makes_a_non_advertising_issue_unless_told(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("new", "1월 소식", "--date", "2027-01-05")[0] == 0
    text = (project / "issues" / "2027-01-1wol-sosik.md").read_text(encoding="utf-8")
    assert "advertising: false" in text and 'subject: "1월 소식"' in text


@pytest.mark.parametrize(("setting", "flags", "advertising"), [
    ("true", (), True), ("true", ("--no-advertising",), False), ("false", ("--advertising",), True),
])  # fmt: skip
def test_new_follows_the_publication_s_advertising_default(  # type: ignore[no-untyped-def]
    run, project: Path, setting: str, flags: tuple[str, ...], advertising: bool
) -> None:
    config = project / "webzine.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("[publication]\n", f"[publication]\nadvertising = {setting}\n", 1),
                      encoding="utf-8")
    assert run("new", "1월 소식", "--date", "2027-01-05", *flags)[0] == 0
    text = (project / "issues" / "2027-01-1wol-sosik.md").read_text(encoding="utf-8")
    assert f"advertising: {str(advertising).lower()}" in text
    assert ('subject: "(광고) 1월 소식"' in text) is advertising


def test_new_never_makes_an_empty_slug(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("new", "🎄", "--date", "2026-12-24", "--no-advertising")
    assert code == 0 and "issues/2026-12-issue-24.md" in out
    assert 'subject: "🎄"' in (project / "issues" / "2026-12-issue-24.md").read_text(encoding="utf-8")


def test_new_rejects_a_bad_date(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("new", "소식", "--date", "2026-13-01")
    assert code == 2 and "'2026-13-01' is not a date; write YYYY-MM-DD" in err


@pytest.mark.slow
def test_the_installed_command_end_to_end(project: Path) -> None:
    """The console script in a subprocess, as `make demo` runs it."""
    script = Path(sys.executable).with_name("webzine")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from webzine.cli import main; main()"]
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([*command, "build", ISSUE], cwd=project, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "→ build/2026-12-year-end/" in done.stdout
    done = subprocess.run([*command, "build", "issues/none.md"], cwd=project, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("Error: issues/none.md: no such issue file.")
