"""`make demo`, run as a newcomer runs it (on a copy of the sample publication, with this
checkout's webzine), ends by writing the issue report and the account managers' digests — as
files and as mail in the outbox — and prints where each of them is."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli_environment

REPO = Path(__file__).resolve().parent.parent
SLUG = "2026-12-year-end"
VENV = Path(sys.executable).parent.parent

pytestmark = pytest.mark.slow


def test_make_demo_ends_with_the_report_and_the_digests_and_says_where(tmp_path: Path) -> None:
    for name in ("Makefile", "webzine.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("issues", "lists", "templates"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    done = subprocess.run(["make", "--no-print-directory", "-o", f"{VENV}/.installed", "demo", f"VENV={VENV}"],
                          cwd=tmp_path, env=cli_environment(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    report = tmp_path / "build" / SLUG / "report.html"
    digests = tmp_path / "build" / "digests" / SLUG
    assert "<svg" in report.read_text(encoding="utf-8")
    assert (digests / "all.csv").exists() and list(digests.glob("*.html"))
    mailed = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
              for path in (tmp_path / "outbox").rglob("*") if path.is_file() and path.parent.name in ("new", "cur")]
    subjects = [str(message["Subject"]) for message in mailed]
    assert any("담당 고객 현황" in subject for subject in subjects), subjects  # the digests went to the outbox

    last = done.stdout.strip().splitlines()[-3:]  # it ends by saying where everything is
    assert last[0].startswith("Outbox: outbox/")
    assert f"report: build/{SLUG}/report.html" in last[1]
    assert last[2].startswith(f"Digests as files: build/digests/{SLUG}/")
    for said in (f"build/{SLUG}/report.html", f"build/digests/{SLUG}/", "outbox/"):
        assert (tmp_path / said).exists(), said
