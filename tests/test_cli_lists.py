"""`webzine lists clean` / `lists stats` as a user runs them: exit codes, the one-line errors,
the summary and the files written for Excel."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from clikit import in_process
from conftest import TODAY, write_config
from click.testing import CliRunner

from webzine.cli import cli

RECENT = (TODAY - timedelta(days=30)).isoformat()
OLD = (TODAY - timedelta(days=900)).isoformat()



@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_config(tmp_path)
    lists = tmp_path / "lists"
    lists.mkdir()
    rows = [
        "이메일,이름,회사,담당자,수신동의일,등급",
        f"kim@naver.com,김갑수,한빛테크,m1,{RECENT},gold",
        f"KIM@naver.com,김갑수,한빛테크,m1,{RECENT},gold",
        f"lee@naver.con,이을녀,푸른상사,m2,{RECENT},",
        f"park@daum.net,박병호,새솔,m1,{OLD},",
        f"choi@gmail.com,최영,다온,m2,{RECENT},",
        f"bad-address,정,미래,m1,{RECENT},",
        f"info@hanbit.co.kr,,한빛테크,m1,{RECENT},",
    ]
    (lists / "subscribers.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("cp949"))
    (lists / "suppressions.csv").write_text("email,reason,since,source,detail\nchoi@gmail.com,unsubscribed,2026-02-01,serve,\n",
                                            encoding="utf-8")
    return tmp_path


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(project / "webzine.toml"), *args], standalone_mode=False)


def counts(output: str) -> dict[str, int]:
    """The summary table's `label  N` lines as a dict (alignment is the formatter's business)."""
    found = {}
    for line in output.splitlines():
        match = re.fullmatch(r"(\s*[a-z_ ()]+?)\s+([\d,]+)", line)
        if match:
            found[match.group(1)] = int(match.group(2).replace(",", ""))
    return found


def read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_clean_prints_the_summary_and_writes_the_reports(project):
    result = run(project, "lists", "clean")
    assert result.exception is None, result.output
    assert result.return_value == 0
    out = project / "build" / "lists"
    lines = result.output.splitlines()
    assert lines[0] == f"{project / 'lists' / 'subscribers.csv'} (cp949, comma-separated)"
    assert counts(result.output) == {"rows read": 7, "kept": 2, "rejected": 4, "  consent_expired": 1,
                                     "  invalid_syntax": 1, "  typo_domain": 1, "  unsubscribed": 1,
                                     "duplicates": 1}
    assert lines[1].index("7") == lines[2].index("2")  # numbers right-aligned
    assert lines[9:] == [
        "warnings: role_address 1",
        "re-confirm consent: 1 subscribers (reconfirm.csv)",
        "columns that are not webzine fields (kept as merge fields): 등급",
        f"Wrote {out}/clean.csv, {out}/rejects.csv, {out}/reconfirm.csv, {out}/warnings.csv.",
    ]
    assert read(out / "clean.csv") == [
        ["email", "name", "adjective", "company", "manager", "consent_at", "tags", "등급"],
        ["kim@naver.com", "김갑수", "", "한빛테크", "m1", RECENT, "", "gold"],
        ["info@hanbit.co.kr", "", "", "한빛테크", "m1", RECENT, "", ""],
    ]
    assert read(out / "rejects.csv") == [
        ["row", "value", "reason", "suggestion", "detail"],
        ["3", "KIM@naver.com", "duplicate", "", "same address as row 2"],
        ["4", "lee@naver.con", "typo_domain", "lee@naver.com", "'naver.con' looks like a misspelling of 'naver.com'"],
        ["5", "park@daum.net", "consent_expired", "", f"consent given {OLD}"],
        ["6", "choi@gmail.com", "unsubscribed", "", "since 2026-02-01 (serve)"],
        ["7", "bad-address", "invalid_syntax", "", "An email address must have an @-sign."],
    ]
    assert read(out / "reconfirm.csv")[1] == ["5", "park@daum.net", "박병호", "새솔", "m1", OLD, "expired"]
    assert read(out / "warnings.csv")[1][:3] == ["8", "info@hanbit.co.kr", "role_address"]


def test_informational_keeps_old_consent_and_strict_fails_on_rejects(project):
    result = run(project, "lists", "clean", "--informational", "--strict")
    assert result.return_value == 1
    assert counts(result.output)["kept"] == 3
    assert "re-confirm consent: 1 subscribers (reconfirm.csv)" in result.output


def test_fix_typos_logs_each_change(project):
    result = run(project, "lists", "clean", "--fix-typos")
    assert result.output.splitlines()[0] == "fixed row 4: naver.con → naver.com (lee@naver.com)"
    assert counts(result.output)["kept"] == 3
    assert "fixed typos: 1" in result.output


def test_a_file_can_be_cleaned_without_a_project(tmp_path):
    path = tmp_path / "export.txt"
    path.write_bytes("\ufeffE-mail\tName\r\nkim＠naver.com\t김\r\n".encode("utf-16-le"))
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"), "lists", "clean", str(path),
                                      "--informational", "--output", str(tmp_path / "out")], standalone_mode=False)
    assert result.exception is None, result.output
    assert result.output.splitlines()[0] == f"{path} (utf-16, tab-separated)"
    assert counts(result.output) == {"rows read": 1, "kept": 1, "rejected": 0, "duplicates": 0}
    assert read(tmp_path / "out" / "clean.csv")[1][0] == "kim@naver.com"


def test_stats_shows_the_domain_breakdown(project):
    result = run(project, "lists", "stats", "--top", "2")
    assert result.return_value == 0
    assert result.output.splitlines() == [
        f"{project / 'lists' / 'subscribers.csv'}: 7 rows; 3 addresses can receive an informational issue, "
        "2 an advertising one (consent within the limit).",
        "domain             addresses  share",
        "naver.com                  1  33.3%",
        "daum.net                   1  33.3%",
        "(1 other domains)          1  33.3%",
    ]


def test_column_option_maps_any_header(project):
    path = project / "lists" / "crm.csv"
    path.write_text("연락메일,고객명\nkim@naver.com,김\n", encoding="utf-8")
    result = run(project, "lists", "clean", str(path), "--informational", "--column", "email=연락메일")
    assert counts(result.output)["kept"] == 1


# -- errors: one line, exit 2 ---------------------------------------------------------------------


def _error(project: Path, *args: str) -> tuple[int, str]:
    process = subprocess.run([str(Path(sys.executable).parent / "webzine"), "--config", str(project / "webzine.toml"), *args],
                             capture_output=True, text=True, timeout=60, cwd=project)
    return process.returncode, process.stderr


def test_bad_input_exits_2_with_one_sentence(project, monkeypatch, capsys):
    """The sentences, from `main` in this process (the calendar test re-runs this module three
    times); the exit code and the lone line of a real process: the device test below."""
    webzine = in_process(project, monkeypatch, capsys)

    def refused(*args: str) -> tuple[int, str]:
        code, __, err = webzine("--config", str(project / "webzine.toml"), *args)
        return code, err

    code, err = refused("lists", "clean", "lists/nope.csv")
    assert (code, err.splitlines()[0]) == (2, "Error: lists/nope.csv: no such file.")
    (project / "lists" / "empty.csv").write_bytes(b"")
    code, err = refused("lists", "clean", "lists/empty.csv")
    assert (code, err.splitlines()[0]) == (2, "Error: lists/empty.csv: the file is empty.")
    (project / "lists" / "noemail.csv").write_bytes("이름,회사\n김,한빛\n".encode("cp949"))
    code, err = refused("lists", "clean", "lists/noemail.csv")
    assert (code, err.splitlines()) == (2, [
        "Error: lists/noemail.csv: no email column (columns found: '이름', '회사').",
        'Hint: rename the column, or pass --column email="<header>".'])
    (project / "lists" / "garbled.csv").write_bytes(b"email,name\r\nkim@naver.com,\xff\xff\r\n")
    code, err = refused("lists", "clean", "lists/garbled.csv")
    assert code == 2
    assert err.splitlines()[0] == ("Error: lists/garbled.csv line 2: undecodable bytes (byte 0xff at offset 26); "
                                   "tried utf-8, cp949.")
    code, err = refused("lists", "clean", "--column", "email")
    assert code == 2 and "FIELD=HEADER" in err


@pytest.mark.slow
def test_a_device_is_one_error_line_not_a_hang(project):
    code, err = _error(project, "lists", "clean", "/dev/zero")
    assert code == 2
    assert err.splitlines()[0] == "Error: /dev/zero: not a regular file (a device, pipe or socket)."
    assert "Traceback" not in err and len(err.splitlines()) == 2


def test_an_unclosed_quote_is_in_the_summary_and_in_warnings_csv(project):
    lines = ["email,name"] + [f"user{i}@naver.com,사람{i}" for i in range(1, 21)]
    lines[3] = 'user3@naver.com,"사람3'
    (project / "lists" / "quote.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(project, "lists", "clean", str(project / "lists" / "quote.csv"), "--informational")
    assert result.exception is None, result.output
    assert "warnings: unclosed_quote 1" in result.output
    assert ("warning: row 4, line 4: a quote opened here is never closed; the 17 lines after it were read as one "
            "cell.") in result.output.splitlines()
    notes = read(project / "build" / "lists" / "warnings.csv")
    [note] = [row for row in notes if row[2] == "unclosed_quote"]
    assert note[0] == "4" and "line 4" in note[3] and "17 lines" in note[3]
