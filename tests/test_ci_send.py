"""The scheduled monthly send, run the way `.github/workflows/monthly-send.yml` runs it.

Each "runner" is a fresh clone of the project from a bare origin: restore the state branch, pick
the due issue, build, audit, send to a real SMTP server on 127.0.0.1, save the state branch. The
first send is killed with SIGKILL part-way; a second runner resumes it. At the server every
recipient must have exactly one copy, except the few in flight at the kill, which are reported as
unknown (never silently re-sent or skipped). A further `--due` run in the same month sends nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import cli_environment
from smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow  # the workflow's steps as subprocesses against an SMTP server

ROOT = Path(__file__).resolve().parent.parent
WEBZINE = str(Path(sys.executable).parent / "webzine")
PASSWORD = "pw-7f3c-never-printed"
TODAY = "2026-12-01"
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


def sh(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=180, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def environment() -> dict[str, str]:
    return cli_environment(WEBZINE_UNSUBSCRIBE_SECRET="ci-secret", WEBZINE_SMTP_USERNAME="news",
                           WEBZINE_SMTP_PASSWORD=PASSWORD, WEBZINE_TODAY=TODAY, COLUMNS="200")  # fmt: skip


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository holding the sample publication, as GitHub would."""
    seed = tmp_path / "seed"
    seed.mkdir()
    for name in ("issues", "lists", "templates", ".ci"):
        shutil.copytree(ROOT / name, seed / name)
    config = (ROOT / "webzine.toml").read_text(encoding="utf-8")
    config = re.sub(r"\n\[dkim\][^\[]*", "\n", config)  # no DNS key in this test
    (seed / "webzine.toml").write_text(config, encoding="utf-8")
    (seed / ".gitignore").write_text("build/\nstate/\noutbox/\n", encoding="utf-8")
    bare = tmp_path / "origin.git"
    sh(tmp_path, "git", "init", "-q", "--bare", "-b", "main", str(bare))
    sh(seed, "git", "init", "-q", "-b", "main")
    sh(seed, "git", "add", "-A")
    sh(seed, *GIT, "commit", "-qm", "the publication")
    sh(seed, "git", "push", "-q", str(bare), "main")
    return bare


def runner(origin: Path, name: str, server: SmtpTestServer, *, rate: int) -> Path:
    """A fresh checkout, configured like the workflow's secrets and variables would."""
    work = origin.parent / name
    sh(origin.parent, "git", "clone", "-q", str(origin), str(work))
    config = (work / "webzine.toml").read_text(encoding="utf-8")
    config = re.sub(r'host = "[^"]*"', 'host = "127.0.0.1"', config)
    config = config.replace("port = 587", f"port = {server.port}").replace('security = "starttls"', 'security = "none"')
    config = config.replace('transport = "outbox"', 'transport = "smtp"').replace("rate = 20", f"rate = {rate}")
    config = config.replace("[send]\n", '[send]\npreflight = "off"  # the sample\'s made-up domains, a test server\n', 1)
    (work / "webzine.toml").write_text(config, encoding="utf-8")
    return work


def workflow_until_send(work: Path) -> str:
    """The workflow's steps before the send: restore state, pick the issue, build, audit."""
    env = environment()
    sh(work, "bash", ".ci/state.sh", "restore", env=env)
    issue = sh(work, WEBZINE, "due", env=env).stdout.strip()
    assert issue == "issues/2026-12-year-end.md"
    sh(work, WEBZINE, "build", issue, env=env)
    audit = sh(work, WEBZINE, "audit", issue, "--json", check=False, env=env)
    assert audit.returncode == 1 and json.loads(audit.stdout)["gaps"], "the sample list has a known gap"
    return issue


SEND = ["send", "--due", "--yes", "--json", "--allow-gaps", "박혜진: 주소 오타 확인 중 (정다솔)"]


def arrivals(server: SmtpTestServer) -> Counter[str]:
    return Counter(message.rcpt_tos[0] for message in server.messages)


def test_killed_send_resumes_on_a_fresh_runner_and_nobody_gets_two(origin: Path) -> None:
    with SmtpTestServer(tls="none", users={"news": PASSWORD}) as server:
        first = runner(origin, "runner-1", server, rate=15)
        workflow_until_send(first)
        send = subprocess.Popen([WEBZINE, *SEND], cwd=first, env=environment(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while len(server.messages) < 12 and time.monotonic() < deadline and send.poll() is None:
            time.sleep(0.02)
        assert send.poll() is None, "the send finished before it could be killed; lower the rate"
        os.killpg(send.pid, signal.SIGKILL)
        send.wait(timeout=30)
        killed_at = len(server.messages)
        outputs = [*send.communicate()]
        saved = sh(first, "bash", ".ci/state.sh", "save", "send (killed)", env=environment())  # `if: always()`
        outputs += [saved.stdout, saved.stderr]

        second = runner(origin, "runner-2", server, rate=200)
        workflow_until_send(second)
        resumed = sh(second, WEBZINE, *SEND, check=False, env=environment())
        outputs += [resumed.stdout, resumed.stderr]
        summary = json.loads(resumed.stdout)
        sh(second, "bash", ".ci/state.sh", "save", "send (resumed)", env=environment())
        status = json.loads(sh(second, WEBZINE, "status", "2026-12-year-end", "--json", env=environment()).stdout)

    clean = sh(second, WEBZINE, "lists", "clean", check=False, env=environment())
    kept = (second / "build" / "lists" / "clean.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    everyone = {line.split(",")[0].strip().lower() for line in kept if line.strip()}
    assert clean.returncode in (0, 1) and len(everyone) > 40

    got = arrivals(server)
    unknown = {row["email"].lower() for row in summary["unknowns"]}
    assert summary["already_accepted"] > 0, "the second runner resumed from the restored ledger"
    assert summary["already_accepted"] + summary["unknown"] >= killed_at, "what arrived is known or reported"
    # In flight at a kill: at most the transport window (2 × concurrency 4) plus one claim chunk
    # whose outcomes were not yet committed.
    assert 0 < summary["unknown"] <= 16 and summary["unknown"] == len(unknown)
    assert all(count == 1 for count in got.values()), "nobody received two copies"
    assert set(got) | unknown == everyone, "nobody was skipped: everyone arrived or is reported unknown"
    assert summary["exit_code"] == (3 if unknown else 0)
    [counts] = status
    assert (counts["accepted"], counts["unknown"]) == (len(got) - len(unknown & set(got)), len(unknown))
    assert all(PASSWORD not in text for text in outputs), "the SMTP password never appears in any output"
    branch = sh(origin.parent, "git", "--git-dir", str(origin), "log", "--oneline", "webzine-state").stdout
    assert "send (killed)" in branch and "send (resumed)" in branch


def test_two_due_runs_in_the_same_month_send_the_issue_once(origin: Path) -> None:
    with SmtpTestServer(tls="none", users={"news": PASSWORD}) as server:
        for number in (1, 2):
            work = runner(origin, f"runner-{number}", server, rate=500)
            sh(work, "bash", ".ci/state.sh", "restore", env=environment())
            done = sh(work, WEBZINE, *SEND, check=False, env=environment())
            sh(work, "bash", ".ci/state.sh", "save", f"run {number}", env=environment())
            if number == 1:
                assert done.returncode == 0, done.stderr
                sent = json.loads(done.stdout)["accepted"]
                assert sent == len(server.messages) > 40
            else:
                assert done.returncode == 0 and done.stdout == ""
                assert "Nothing is due in 2026-12" in done.stderr
        assert len(server.messages) == sent and all(count == 1 for count in arrivals(server).values())
