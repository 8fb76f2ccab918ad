"""Outside text reaches the editor's terminal without its escape sequences: the audit table
(names and companies from the CSVs), `lists clean` (a hostile file name). JSON stays exact."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import cli_environment, write_config
import pytest

pytestmark = pytest.mark.slow  # webzine in subprocesses

WEBZINE = str(Path(sys.executable).parent / "webzine")
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


TITLE = "\x1b]0;pwned\x07"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"


def webzine(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WEBZINE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=cli_environment())


def project(folder: Path) -> Path:
    write_config(folder)
    lists = folder / "lists"
    lists.mkdir()
    (lists / "subscribers.csv").write_text(
        "email,name,company,manager,consent_at\nlee@daum.net,이을녀,푸른상사,m1,2026-11-01\n", encoding="utf-8")
    (lists / "key-customers.csv").write_text(
        "email,name,company,manager,excused\n"
        f"kim@naver.com,김{TITLE}갑수,\u202e한빛테크,m1,\n"
        "park@nate.com,박\x1b[2J\x1b[H,새솔\x9b31m,m1,\n", encoding="utf-8")
    (lists / "managers.csv").write_text(
        f"id,name,email,phone\nm1,정다솔{CLIPBOARD},dasol@example.co.kr,010-0000-1001\n", encoding="utf-8")
    return folder


def test_audit_table_strips_escape_sequences_from_names_and_companies(tmp_path):
    done = webzine(project(tmp_path), "audit", "--informational")
    assert done.returncode == 1, done.stderr
    assert not CONTROL.search(done.stdout), done.stdout
    lines = done.stdout.splitlines()
    assert lines[2] == "m1 정다솔 (010-0000-1001, dasol@example.co.kr)"
    assert re.fullmatch(r"  김갑수\s+한빛테크\s+kim@naver\.com\s+not_on_list", lines[3])
    assert re.fullmatch(r"  박\s+새솔\s+park@nate\.com\s+not_on_list", lines[4])


def test_audit_json_keeps_the_names_exactly(tmp_path):
    done = webzine(project(tmp_path), "audit", "--informational", "--json")
    assert done.returncode == 1, done.stderr
    names = json.dumps(json.loads(done.stdout), ensure_ascii=False)
    assert json.dumps(f"김{TITLE}갑수", ensure_ascii=False) in names


def test_lists_clean_strips_escape_sequences_from_a_file_name(tmp_path):
    folder = project(tmp_path)
    hostile = folder / "lists" / f"list{TITLE}.csv"
    hostile.write_text("email,name\nkim@naver.com,김갑수\n", encoding="utf-8")
    done = webzine(folder, "lists", "clean", str(hostile.relative_to(folder)), "--informational",
                   "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert not CONTROL.search(done.stdout), done.stdout
    assert done.stdout.startswith("lists/list.csv (utf-8, comma-separated)\n")
