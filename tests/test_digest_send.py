"""`webzine digest send`: a dry run by default; with --yes each manager gets one digest through the
configured transport (here a real SMTP server on 127.0.0.1), and never a second one — not on a
re-run, not after the sending process was killed with a digest in flight."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from clikit import Run, run_here
from conftest import CONFIG, cli_environment, write_project
from smtp_server import Fault, SmtpTestServer
from webzine.config import load_settings
from webzine.send.ledger import Ledger, State

pytestmark = pytest.mark.slow  # webzine against an SMTP server, in subprocesses where the process matters

WEBZINE = str(Path(sys.executable).parent / "webzine")
SLUG = "2026-12-year-end"
MANAGERS = """\
id,name,email,phone
m1,박영업,young@example.co.kr,010-1234-5678
m2,최담당,choi@example.co.kr,
m3,한가을,gaeul@example.co.kr,
"""


SETTINGS = {"WEBZINE_UNSUBSCRIBE_SECRET": "digest-secret", "WEBZINE_TODAY": "2026-12-10", "COLUMNS": "200"}


def environment() -> dict[str, str]:
    return cli_environment(**SETTINGS)


def webzine(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WEBZINE, *args], cwd=project, env=environment(), capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`webzine` in this process, for the issue's send before the digests, the dry run and the due
    days; the digests sent to the SMTP server, their exit codes and the kill keep real processes."""
    run = run_here(monkeypatch, capsys)
    return lambda project, *args: run(project, *args, env=SETTINGS)


@pytest.fixture()
def project(tmp_path: Path, here: Run) -> Path:
    project = write_project(tmp_path / "publication")
    (project / "lists" / "managers.csv").write_text(MANAGERS, encoding="utf-8")
    sent = here(project, "send", f"issues/{SLUG}.md", "--yes")
    assert sent.returncode == 0, sent.stderr
    return project


def use_smtp(project: Path, server: SmtpTestServer) -> None:
    with (project / "webzine.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\ntimeout = 60\n')


def arrivals(server: SmtpTestServer) -> Counter[str]:
    return Counter(message.rcpt_tos[0] for message in server.messages)


def test_a_dry_run_sends_nothing_and_says_what_would_go(project: Path, here: Run) -> None:
    with SmtpTestServer(tls="none") as server:
        use_smtp(project, server)
        dry = here(project, "digest", "send", SLUG, "--transport", "smtp")
        assert dry.returncode == 0, dry.stderr
        assert not server.messages
    assert "박영업 <young@example.co.kr>" in dry.stdout and "webzine digest send" in dry.stdout
    with Ledger.open(load_settings(project / "webzine.toml").path("state/ledger.sqlite3")) as ledger:
        assert ledger.counts(f"digest:{SLUG}")[0].total == 0


def test_each_manager_gets_one_digest_with_the_csv_and_a_rerun_sends_none(project: Path) -> None:
    with SmtpTestServer(tls="none") as server:
        use_smtp(project, server)
        first = webzine(project, "digest", "send", SLUG, "--yes", "--transport", "smtp")
        assert first.returncode == 0, first.stdout + first.stderr
        again = webzine(project, "digest", "send", SLUG, "--yes", "--transport", "smtp")
        assert again.returncode == 0 and "already sent earlier" in again.stdout
    assert arrivals(server) == {"young@example.co.kr": 1, "choi@example.co.kr": 1, "gaeul@example.co.kr": 1}
    message = next(m.message for m in server.messages if m.rcpt_tos[0] == "young@example.co.kr")
    assert message["Subject"].startswith("[한 해를 돌아보며] 박영업 님 담당 고객 현황")
    assert message["Auto-Submitted"] == "auto-generated"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{SLUG}-m1.csv" and "kim@example.com" in attachment.get_content()


def test_a_kill_with_a_digest_in_flight_never_gives_anyone_two(project: Path) -> None:
    with SmtpTestServer(tls="none") as server:
        use_smtp(project, server)
        server.faults.add(Fault("message", "hang", match="choi@", hang=60))
        send = subprocess.Popen([WEBZINE, "digest", "send", SLUG, "--yes", "--transport", "smtp"], cwd=project,
                                env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while len(server.messages) < 2 and time.monotonic() < deadline and send.poll() is None:
            time.sleep(0.02)
        assert send.poll() is None, "the run ended before the kill"
        os.killpg(send.pid, signal.SIGKILL)
        send.wait(timeout=30)
        server.faults.clear()
        with Ledger.open(project / "state" / "ledger.sqlite3") as ledger:
            unknown = {row.email for row in ledger.rows(f"digest:{SLUG}", State.CLAIMED)}
        assert "choi@example.co.kr" in unknown  # in flight at the kill: nobody can tell whether it arrived
        before = arrivals(server)

        resumed = webzine(project, "digest", "send", SLUG, "--yes", "--transport", "smtp")
        assert resumed.returncode == 3, resumed.stdout + resumed.stderr  # unknowns are left for a person to check
        assert "choi@example.co.kr" in resumed.stdout
        again = webzine(project, "digest", "send", SLUG, "--yes", "--transport", "smtp")
        assert again.returncode == 3
    got = arrivals(server)
    assert all(copies == 1 for copies in got.values()), got  # never two, whatever the kill interrupted
    assert not got.keys() - before.keys() - {"young@example.co.kr", "gaeul@example.co.kr"}
    everyone = {"young@example.co.kr", "choi@example.co.kr", "gaeul@example.co.kr"}
    assert everyone - unknown <= got.keys()  # whoever was not in flight got theirs on the resume
    assert all(email.message_from_bytes(m.data, policy=email.policy.default)["Message-ID"] for m in server.messages)


def test_due_digests_wait_the_configured_days_and_go_once(project: Path, here: Run) -> None:
    early = here(project, "digest", "send", "--due", "--yes", "--today", "2026-12-07")
    assert early.returncode == 0 and "No digest is due." in early.stdout  # dated 12-01, [digest] days_after = 7
    due = here(project, "digest", "send", "--due", "--yes", "--today", "2026-12-08")
    assert due.returncode == 0, due.stdout + due.stderr
    with Ledger.open(project / "state" / "ledger.sqlite3") as ledger:
        assert ledger.counts(f"digest:{SLUG}")[0].accepted == 3
    again = here(project, "digest", "send", "--due", "--yes", "--today", "2026-12-09")
    assert again.returncode == 0 and "already sent earlier" in again.stdout
    with Ledger.open(project / "state" / "ledger.sqlite3") as ledger:
        assert ledger.counts(f"digest:{SLUG}")[0].accepted == 3
