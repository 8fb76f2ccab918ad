"""`webzine send` and `webzine status` run as a user runs them: a subprocess in a project folder, or
`main` in this process where the process is not what is checked (`here`)."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import TODAY
from clikit import ISSUE, ROOT, SECRET, WEBZINE, Run, copy_sample, environment, new_dkim_key, run, run_here, set_send

pytestmark = pytest.mark.slow  # most tests run webzine send in subprocesses

@pytest.fixture(scope="module")
def dkim_key() -> str:
    return new_dkim_key()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)




@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`run` in this process, for the dry run, the test sends and `status` (what they say and write;
    they sign, if at all, inline). Real sends, their exit codes, signals and progress lines keep
    real processes."""
    return run_here(monkeypatch, capsys)


def test_dry_run_sends_nothing_and_writes_nothing(project: Path, dkim_key: str, here: Run) -> None:
    done = here(project, "send", ISSUE, dkim=dkim_key)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Dry run — nothing was sent. Add --yes to send.")
    assert "kim.gapsu@example.co.kr" in done.stdout and "(광고) 김갑수 님께" in done.stdout
    assert f"Next: webzine send {ISSUE} --yes" in done.stdout
    assert not (project / "outbox").exists() and not (project / "state").exists()
    plan = json.loads(here(project, "send", ISSUE, "--json", dkim=dkim_key).stdout)
    assert plan["dry_run"] is True and plan["to_send"] == plan["recipients"] > 40


def test_send_then_rerun_then_status(project: Path, dkim_key: str) -> None:
    set_send(project, rate=1000)
    first = run(project, "send", ISSUE, "--yes", "--json", dkim=dkim_key)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    total = summary["recipients"]
    assert summary["accepted"] == total and summary["exit_code"] == 0
    files = list((project / "outbox" / "new").iterdir())
    assert len(files) == total
    recipients = set()
    for path in files:
        message = email.message_from_bytes(path.read_bytes().replace(b"\n", b"\r\n"), policy=email.policy.strict)
        assert all(len(message.get_all(name)) == 1 for name in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe"))
        name = message["To"].addresses[0].display_name
        assert str(message["Subject"]).startswith(f"(광고) {name}")
        assert message.get_body(("plain",)).get_content() and message.get_body(("html",)).get_content()
        recipients.add(message["To"].addresses[0].addr_spec)
    assert len(recipients) == total

    again = run(project, "send", ISSUE, "--yes", "--json", dkim=dkim_key)
    assert again.returncode == 0
    assert json.loads(again.stdout)["already_accepted"] == total
    assert len(list((project / "outbox" / "new").iterdir())) == total

    status = run(project, "status", "--json")
    (row,) = json.loads(status.stdout)
    assert (row["issue"], row["accepted"], row["failed"], row["pending"], row["unknown"]) == (
        "2026-12-year-end", total, 0, 0, 0)  # fmt: skip
    table = run(project, "status", ISSUE)
    assert table.returncode == 0 and "2026-12-year-end" in table.stdout and f"{total}" in table.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_send_whose_output_is_not_a_terminal_prints_progress_lines(project: Path, dkim_key: str, workers: str) -> None:
    """One progress line source, whether one process sends or forked workers do (their counts added)."""
    set_send(project, progress_every_percent=25)
    done = run(project, "send", ISSUE, "--yes", "--json", "--workers", workers, dkim=dkim_key)
    assert done.returncode == 0, done.stderr
    total = json.loads(done.stdout)["recipients"]
    lines = [line for line in done.stderr.splitlines() if line.startswith("sending 2026-12-year-end: ")]
    assert lines and lines[-1].startswith(f"sending 2026-12-year-end: {total}/{total} (100%), {total} sent, ")
    seen = [int(line.split(": ")[1].split("/")[0].replace(",", "")) for line in lines]
    assert seen == sorted(seen), "the added-up count never goes back"


def test_a_missing_secret_is_one_line_and_exit_2(project: Path) -> None:
    done = run(project, "send", ISSUE, env={"WEBZINE_UNSUBSCRIBE_SECRET": ""})
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "Error: The environment variable WEBZINE_UNSUBSCRIBE_SECRET (unsubscribe and VERP tokens) is not set."
    )


def test_missing_dkim_key_when_dkim_is_configured_refuses(project: Path) -> None:
    done = run(project, "send", ISSUE, "--yes")
    assert done.returncode == 2
    assert "WEBZINE_DKIM_PRIVATE_KEY (DKIM private key) is not set" in done.stderr
    assert not (project / "outbox").exists()


def test_audit_gaps_refuse_the_send_unless_a_reason_is_given(project: Path, dkim_key: str) -> None:
    with open(project / "lists" / "key-customers.csv", "a", encoding="utf-8") as handle:
        handle.write("nobody.here@example.co.kr,없는 고객,없는 회사,m1,\n")
    refused = run(project, "send", ISSUE, "--yes", dkim=dkim_key)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: 1 key customer(s) would not receive this issue")
    assert "nothing was sent" in refused.stderr.splitlines()[0]
    assert not (project / "outbox").exists()
    set_send(project, rate=1000)
    allowed = run(project, "send", ISSUE, "--yes", "--allow-gaps", "대표님 승인: 없는 고객 제외", dkim=dkim_key)
    assert allowed.returncode == 0, allowed.stderr
    assert "Sent despite audit gaps; reason recorded in the ledger: 대표님 승인: 없는 고객 제외" in allowed.stdout
    runs = sqlite3.connect(project / "state" / "ledger.sqlite3").execute("SELECT allow_gaps FROM runs").fetchall()
    assert runs == [("대표님 승인: 없는 고객 제외",)]
    empty = run(project, "send", ISSUE, "--allow-gaps", " ", dkim=dkim_key)
    assert empty.returncode == 2 and "give the reason the gaps are accepted" in empty.stderr


def test_test_send_goes_only_to_the_test_address_outside_the_ledger(project: Path, dkim_key: str, here: Run) -> None:
    done = here(project, "send", ISSUE, "--test-to", "editor@example.co.kr", "--as", "jihye.park@example.com",
                "--outbox-format", "eml", dkim=dkim_key)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("[TEST] 2026-12-year-end as jihye.park@example.com → editor@example.co.kr: accepted")
    (path,) = (project / "outbox" / "eml").iterdir()
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.strict)
    assert str(message["Subject"]).startswith("[TEST] (광고) 박지혜 님께")
    assert str(message["To"]) == "editor@example.co.kr"
    assert not (project / "state" / "ledger.sqlite3").exists()
    bad = here(project, "send", ISSUE, "--test-to", "not an address", dkim=dkim_key)
    assert bad.returncode == 2 and "--test-to" in bad.stderr
    stranger = here(project, "send", ISSUE, "--test-to", "e@example.co.kr", "--as", "who@example.com", dkim=dkim_key)
    assert stranger.returncode == 2
    assert stranger.stderr.startswith("Error: who@example.com is not on the cleaned list")


def test_test_inboxes_send_one_copy_to_each_configured_webmail_account(project: Path, dkim_key: str, here: Run) -> None:
    """The manual webmail check (docs/clients.md) in one command: a [TEST] copy per test account."""
    unset = here(project, "send", ISSUE, "--test-inboxes", dkim=dkim_key)
    assert unset.returncode == 2
    assert "[send] test_inboxes is empty" in unset.stderr and len(unset.stderr.strip().splitlines()) <= 2
    inboxes = ["webzine.test@naver.com", "webzine.test@hanmail.net", "webzine.test@nate.com"]
    set_send(project, test_inboxes=inboxes)
    done = here(project, "send", ISSUE, "--test-inboxes", "--outbox-format", "eml", dkim=dkim_key)
    assert done.returncode == 0, done.stderr
    assert [line.split(" → ")[1].split(":")[0] for line in done.stdout.strip().splitlines()] == inboxes
    received = sorted(str(email.message_from_bytes(path.read_bytes(), policy=email.policy.strict)["To"])
                      for path in (project / "outbox" / "eml").iterdir())
    assert received == sorted(inboxes)
    assert not (project / "state" / "ledger.sqlite3").exists()
    set_send(project, test_inboxes=["not an address"])
    bad = here(project, "send", ISSUE, "--test-inboxes", dkim=dkim_key)
    assert bad.returncode == 2 and "[send] test_inboxes" in bad.stderr and "not an address" in bad.stderr


def test_limit_only_and_mbox(project: Path, dkim_key: str) -> None:
    set_send(project, rate=1000)
    limited = run(project, "send", ISSUE, "--yes", "--limit", "3", "--outbox-format", "mbox", "--json", dkim=dkim_key)
    summary = json.loads(limited.stdout)
    assert limited.returncode == 3 and summary["accepted"] == 3  # 3: re-run to continue, never a silent 0
    assert summary["later"] == summary["issue_so_far"]["remaining"] > 40
    assert f"Hint: {summary['later']} recipient(s) of this issue are still to send; continue with: " \
           f"webzine send {ISSUE} --outbox-format mbox --yes" in limited.stderr
    only = run(project, "send", ISSUE, "--yes", "--only", "cheol.lee@example.co.kr", "--outbox-format", "mbox",
               "--json", dkim=dkim_key)  # fmt: skip
    assert only.returncode == 3 and json.loads(only.stdout)["accepted"] == 1
    box = list(mailbox.mbox(project / "outbox" / "outbox.mbox"))
    assert len(box) == 4 and "cheol.lee@example.co.kr" in box[-1]["To"]


def test_sigterm_stops_cleanly_and_a_rerun_finishes_exactly_once(project: Path, dkim_key: str) -> None:
    set_send(project, rate=8, rehearsal_rate=8, outbox_format="mbox")  # the outbox is paced only when asked
    process = subprocess.Popen([*WEBZINE, "send", ISSUE, "--yes"], cwd=project, env=environment(dkim_key),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    mbox = project / "outbox" / "outbox.mbox"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not mbox.exists() or mbox.stat().st_size < 100_000):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 3, err
    assert "Stopped: interrupted." in err
    assert f"Hint: fix the cause, then re-run to resume (already accepted recipients are skipped): webzine send {ISSUE} --yes" in err
    (row,) = json.loads(run(project, "status", ISSUE, "--json").stdout)
    assert row["unknown"] == 0 and 0 < row["accepted"]
    list_size = json.loads(run(project, "send", ISSUE, "--json", dkim=dkim_key).stdout)["recipients"]
    assert row["pending"] == list_size - row["accepted"] and row["not_started"] == list_size - row["accepted"] - row["deferred"]

    set_send(project, rate=1000, rehearsal_rate=0)  # the rerun unpaced: it is about who gets a copy
    finished = run(project, "send", ISSUE, "--yes", "--json", dkim=dkim_key)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    copies = Counter(message["To"].rsplit("<", 1)[-1].rstrip(">") for message in mailbox.mbox(mbox))
    assert len(copies) == summary["recipients"] and set(copies.values()) == {1}


def test_ctrl_c_in_a_terminal_stops_a_signed_send_cleanly_signers_included(project: Path, dkim_key: str) -> None:
    """Ctrl-C sends SIGINT to the whole process group, DKIM signing processes included: they must
    leave the stop to the send (no traceback, no broken pool), and nobody is left unknown."""
    set_send(project, rate=8, rehearsal_rate=8, outbox_format="mbox")
    process = subprocess.Popen([*WEBZINE, "send", ISSUE, "--yes"], cwd=project, env=environment(dkim_key),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # fmt: skip
    mbox = project / "outbox" / "outbox.mbox"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not mbox.exists() or mbox.stat().st_size < 100_000):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 3, err
    assert "Stopped: interrupted." in err and "Traceback" not in err and "KeyboardInterrupt" not in err
    (row,) = json.loads(run(project, "status", ISSUE, "--json").stdout)
    assert row["unknown"] == 0 and 0 < row["accepted"]


def test_status_without_a_ledger(project: Path, here: Run) -> None:
    done = here(project, "status")
    assert done.returncode == 0 and done.stdout.startswith("No sends recorded in ")
    assert json.loads(here(project, "status", "--json").stdout) == []


def test_an_unsubscribe_in_the_serve_store_is_honoured_before_it_is_pulled(project: Path, dkim_key: str) -> None:
    from webzine.config import load_settings
    from webzine.unsubscribes.store import Store

    store = Store.from_settings(load_settings(project / "webzine.toml"))
    store.record_unsubscribe("jihye.park@example.com", "news.example.co.kr", "one-click", {"ip": "127.0.0.1"})
    store.close()
    set_send(project, rate=1000)
    done = run(project, "send", ISSUE, "--yes", "--json", dkim=dkim_key)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    # One source of suppressions: the store's unsubscribe removes her when the list is cleaned,
    # as the audit and the dry run see it, not only during the send.
    assert summary["suppressed"] == 0 and summary["accepted"] == summary["recipients"]
    sent_to = {email.message_from_bytes(path.read_bytes())["To"] for path in (project / "outbox" / "new").iterdir()}
    assert len(sent_to) == summary["accepted"] and not any("jihye.park@example.com" in to for to in sent_to)


def test_workers_refuse_a_limit_that_would_apply_to_each_of_them(project: Path) -> None:
    """--limit N caps one run; N forked workers would each send N. One line, exit 2, nothing sent."""
    done = run(project, "send", ISSUE, "--yes", "--transport", "outbox", "--workers", "2", "--limit", "5")
    assert done.returncode == 2, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]  # click's usage form
    assert "--limit" in error and "--workers" in error
    assert not (project / "outbox").exists()
