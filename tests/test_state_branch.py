"""`.ci/state.sh` against a local bare origin: each month's commit adds that month's archive and
the small live ledger, never rewrites an older archive; restore fetches only the branch's tip
(shallow), and only the blobs it writes (partial), so archives it is told to skip stay remote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli_environment

from webzine.errors import StorageError
from webzine.send.ledger import Claim, Ledger, Result, State

pytestmark = pytest.mark.slow  # the state branch workflow with git and webzine in subprocesses

ROOT = Path(__file__).resolve().parent.parent
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


def sh(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"{' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def environment(**extra: str) -> dict[str, str]:
    """`webzine` on PATH, as `pip install` puts it in the workflow: save compacts the ledger."""
    env = cli_environment(**extra)
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copytree(ROOT / ".ci", seed / ".ci")
    shutil.copy(ROOT / "webzine.toml", seed / "webzine.toml")
    (seed / "lists").mkdir()
    (seed / "lists" / "suppressions.csv").write_text("email,reason\n", encoding="utf-8")
    (seed / ".gitignore").write_text("state/\n", encoding="utf-8")
    bare = tmp_path / "origin.git"
    sh(tmp_path, "git", "init", "-q", "--bare", "-b", "main", str(bare))
    sh(bare, "git", "config", "uploadpack.allowFilter", "true")
    sh(seed, "git", "init", "-q", "-b", "main")
    sh(seed, "git", "add", "-A")
    sh(seed, *GIT, "commit", "-qm", "project")
    sh(seed, "git", "push", "-q", str(bare), "main")
    return bare


def runner(origin: Path, name: str) -> Path:
    work = origin.parent / name
    sh(origin.parent, "git", "clone", "-q", "--depth", "1", f"file://{origin}", str(work))
    return work


def send_issue(work: Path, issue: str, people: int) -> None:
    with Ledger.open(work / "state" / "ledger.sqlite3") as ledger:
        run = ledger.start_run(issue, transport="smtp", allow_gaps=None, options={})
        keys = [f"person{n}@example.co.kr" for n in range(people)]
        ledger.commit(issue, transport="smtp", run_id=run,
                      claims=[Claim(k, k, f"{issue}.{n:032x}@example.co.kr", None) for n, k in enumerate(keys)])
        ledger.commit(issue, transport="smtp", run_id=run, outcomes=[Result(k, State.ACCEPTED, 250) for k in keys])
        ledger.finish_run(run, summary={}, exit_code=0)


def branch_changes(origin: Path, commit: str) -> list[str]:
    return sh(origin, "git", "diff-tree", "--no-commit-id", "--root", "-r", "--name-status", commit).splitlines()


def test_each_month_adds_its_archive_and_never_rewrites_an_older_one(origin: Path) -> None:
    for month, issue in enumerate(("2027-01", "2027-02", "2027-03"), start=1):
        work = runner(origin, f"runner{month}")
        sh(work, "bash", ".ci/state.sh", "restore", env=environment())
        send_issue(work, issue, 200)
        sh(work, "bash", ".ci/state.sh", "save", f"send {issue}", env=environment())
        changes = branch_changes(origin, "webzine-state")
        assert f"A\tstate/ledger-archive/{issue}.sqlite3.gz" in changes
        assert not [c for c in changes if "ledger-archive" in c and issue not in c], changes
        assert not [c for c in changes if c.endswith(".lock")], "lock files are not state"
    files = sh(origin, "git", "ls-tree", "-r", "--name-only", "webzine-state").split()
    assert files == ["lists/suppressions.csv", "state/ledger-archive/2027-01.sqlite3.gz",
                     "state/ledger-archive/2027-02.sqlite3.gz", "state/ledger-archive/2027-03.sqlite3.gz",
                     "state/ledger.sqlite3"]
    work = runner(origin, "reader")
    sh(work, "bash", ".ci/state.sh", "restore", env=environment())
    with Ledger.open(work / "state" / "ledger.sqlite3") as ledger:
        assert [(c.issue, c.accepted) for c in ledger.counts()] == [("2027-01", 200), ("2027-02", 200), ("2027-03", 200)]
        assert len(ledger.all_states("2027-01")) == 200
        assert len(ledger.history("person7@example.co.kr")) == 3


def test_restore_is_shallow_and_fetches_only_the_archives_it_is_asked_for(origin: Path) -> None:
    for month, issue in enumerate(("2027-01", "2027-02"), start=1):
        work = runner(origin, f"runner{month}")
        sh(work, "bash", ".ci/state.sh", "restore", env=environment())
        send_issue(work, issue, 50)
        sh(work, "bash", ".ci/state.sh", "save", f"send {issue}", env=environment())
    work = runner(origin, "worker")
    out = sh(work, "bash", ".ci/state.sh", "restore", env=environment(WEBZINE_STATE_ARCHIVES="1"))
    assert "1 of 2 issue archives" in out
    assert (work / ".git" / "shallow").exists()
    old = sh(origin, "git", "rev-parse", "webzine-state:state/ledger-archive/2027-01.sqlite3.gz").strip()
    missing = subprocess.run(["git", "cat-file", "-e", old], cwd=work, capture_output=True)
    assert missing.returncode != 0, "the skipped archive's blob never crossed the network"
    with Ledger.open(work / "state" / "ledger.sqlite3") as ledger:
        assert len(ledger.all_states("2027-02")) == 50
        with pytest.raises(StorageError, match="file is missing"):
            ledger.all_states("2027-01")
    send_issue(work, "2027-03", 10)
    sh(work, "bash", ".ci/state.sh", "save", "send 2027-03", env=environment(WEBZINE_STATE_ARCHIVES="1"))
    files = sh(origin, "git", "ls-tree", "-r", "--name-only", "webzine-state").split()
    assert "state/ledger-archive/2027-01.sqlite3.gz" in files, "an archive not restored is kept on the branch"
    assert "state/ledger-archive/2027-03.sqlite3.gz" in files
