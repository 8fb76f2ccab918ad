"""Issue 14: the send path tells one truth. Each test is a failure a new user met on the first
landing (gates that opened, a rehearsal counted as a delivery, three answers to "who is
suppressed", the wrong month, drafts published, wrong error categories), run as a user runs it:
through `main`, in this process where the process itself is not what is checked (`here`)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from clikit import ISSUE, WEBZINE, Run, copy_sample, environment, new_dkim_key, run, run_here, set_section, set_send
from smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow  # each test runs webzine, several in subprocesses


@pytest.fixture(scope="module")
def dkim_key() -> str:
    return new_dkim_key()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)




@pytest.fixture
def here(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`run` in this process, on the project without [dkim]: for the tests of what a command decides
    and says (signing changes none of it, and its pool would fork the test worker). The gate that
    must not print a traceback, the archive's exit codes and the killed send keep real processes."""
    config = project / "webzine.toml"
    config.write_text(re.sub(r"\n\[dkim\][^\[]*", "\n", config.read_text(encoding="utf-8")), encoding="utf-8")
    return run_here(monkeypatch, capsys)


@pytest.fixture
def smtp() -> SmtpTestServer:
    server = SmtpTestServer(tls="none").start()
    yield server
    server.stop()


def point_at(project: Path, server: SmtpTestServer) -> None:
    set_section(project, "smtp", host="127.0.0.1", port=server.port, security="none", timeout=5, connect_timeout=5)


def arrivals(server: SmtpTestServer) -> Counter[str]:
    return Counter(rcpt.lower() for received in server.messages for rcpt in received.rcpt_tos)


# -- gates fail closed -----------------------------------------------------------------------------


def test_a_typo_in_the_key_customer_file_name_stops_the_send(project: Path, dkim_key: str) -> None:
    set_section(project, "lists", key_customers="lists/key-customer.csv")
    done = run(project, "send", ISSUE, "--yes", dkim=dkim_key)
    assert done.returncode == 2, done.stdout
    assert done.stderr.splitlines()[0] == (
        f"Error: {project / 'lists' / 'key-customer.csv'}: the key-customer file named in webzine.toml does not "
        'exist; fix [lists] key_customers, or write key_customers = "" in webzine.toml [lists] if this '
        "publication has no key customers.")
    assert "Traceback" not in done.stderr and not (project / "outbox").exists()


def test_a_key_customer_file_with_only_a_header_stops_the_send(project: Path, here: Run) -> None:
    (project / "lists" / "key-customers.csv").write_text("email,name,company,manager,excused\n", encoding="utf-8")
    done = here(project, "send", ISSUE, "--yes")
    assert done.returncode == 2 and "lists nobody (a header and no rows)" in done.stderr
    assert not (project / "outbox").exists()


def test_no_key_customers_is_a_choice_printed_in_every_summary(project: Path, here: Run) -> None:
    set_section(project, "lists", key_customers="")
    done = here(project, "send", ISSUE, "--yes")
    assert done.returncode == 0, done.stderr
    assert 'no key-customer audit: webzine.toml [lists] says key_customers = ""' in done.stdout
    audit = here(project, "audit", ISSUE)
    assert audit.returncode == 0 and audit.stdout.startswith("Nothing to audit: no key-customer audit")


def test_a_list_naming_managers_needs_the_managers_file(project: Path, here: Run) -> None:
    (project / "lists" / "managers.csv").unlink()
    done = here(project, "send", ISSUE, "--yes")
    assert done.returncode == 2 and "managers.csv: no such file, but" in done.stderr
    assert "names account manager 'm1'" in done.stderr and not (project / "outbox").exists()


# -- a rehearsal is not a delivery -------------------------------------------------------------------


def test_a_real_send_after_the_outbox_rehearsal_mails_everyone(project: Path, smtp: SmtpTestServer, here: Run) -> None:
    rehearsal = here(project, "send", ISSUE, "--yes", "--json")
    assert rehearsal.returncode == 0, rehearsal.stderr
    rehearsed = json.loads(rehearsal.stdout)["accepted"]
    assert rehearsed == len(list((project / "outbox" / "new").iterdir())) > 40
    point_at(project, smtp)
    real = here(project, "send", ISSUE, "--yes", "--transport", "smtp", "--json")
    assert real.returncode == 0, real.stderr
    assert json.loads(real.stdout)["accepted"] == rehearsed
    assert len(arrivals(smtp)) == rehearsed and set(arrivals(smtp).values()) == {1}
    (row,) = json.loads(here(project, "status", "--json").stdout)
    assert (row["accepted"], row["rehearsed"]) == (rehearsed, 0)
    again = here(project, "send", ISSUE, "--yes", "--transport", "smtp", "--json")
    assert json.loads(again.stdout)["already_accepted"] == rehearsed and len(smtp.messages) == rehearsed


def test_status_shows_what_was_only_rehearsed(project: Path, here: Run) -> None:
    here(project, "send", ISSUE, "--yes", "--limit", "5")
    (row,) = json.loads(here(project, "status", "--json").stdout)
    assert (row["accepted"], row["rehearsed"]) == (5, 5)
    assert "5 (5 outbox only)" in here(project, "status").stdout


def test_the_resume_hint_repeats_transport_and_config(project: Path, here: Run) -> None:
    set_send(project, rate=1000)
    (project / "webzine.toml").rename(project / "publication.toml")
    done = here(project, "--config", "publication.toml", "send", ISSUE, "--yes", "--limit", "2",
                "--transport", "outbox", "--outbox-format", "mbox")
    assert done.returncode == 3
    assert (f"continue with: webzine --config publication.toml send {ISSUE} --transport outbox --outbox-format mbox "
            "--yes") in done.stderr


# -- one answer to "who is suppressed" -----------------------------------------------------------------


def unsubscribe_on_the_web(project: Path, address: str) -> None:
    from webzine.config import load_settings
    from webzine.unsubscribes.store import Store

    store = Store.from_settings(load_settings(project / "webzine.toml"))
    store.record_unsubscribe(address, "news.example.co.kr", "one-click", {"ip": "127.0.0.1"})
    store.close()


def test_the_audit_sees_an_unsubscribe_made_on_the_web(project: Path, here: Run) -> None:
    unsubscribe_on_the_web(project, "kim.gapsu@example.co.kr")
    audit = here(project, "audit", ISSUE, "--json")
    assert audit.returncode == 1, audit.stderr
    (gap,) = json.loads(audit.stdout)["gaps"]
    assert (gap["email"], gap["reason"]) == ("kim.gapsu@example.co.kr", "unsubscribed")


def test_the_dry_run_counts_what_the_send_does(project: Path, here: Run) -> None:
    """Counts, not the process: the seven sends run in this process (the calendar test runs this
    one under three moved clocks)."""
    unsubscribe_on_the_web(project, "jihye.park@example.com")
    set_send(project, rate=1000)
    assert here(project, "send", ISSUE, "--yes", "--limit", "7").returncode == 3
    for options in (("--only", "cheol.lee@example.co.kr", "--only", "kim.gapsu@example.co.kr"), ("--limit", "10"), ()):
        plan = json.loads(here(project, "send", ISSUE, "--json", *options).stdout)
        done = json.loads(here(project, "send", ISSUE, "--yes", "--json", *options).stdout)
        assert (plan["to_send"], plan["already_accepted"], plan["left_for_later"]) == \
            (done["accepted"], done["already_accepted"], done["later"]), options
    assert plan["suppressed"]["unsubscribed"] == 2  # the file's and the web's


# -- issue dates mean what the editor means ------------------------------------------------------------


def test_new_dates_an_issue_for_the_month_its_title_names(project: Path, here: Run) -> None:
    done = here(project, "new", "1월 소식", env={"WEBZINE_TODAY": "2026-12-06"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Created issues/2027-01-")
    assert "dated 2027-01-01 (the month the title names: 2027-01" in done.stdout
    (created,) = (project / "issues").glob("2027-01-*.md")
    assert "date: 2027-01-01" in created.read_text(encoding="utf-8")


def test_two_issues_for_one_month_are_refused_by_due(project: Path, here: Run) -> None:
    twin = (project / ISSUE).read_text(encoding="utf-8").replace("date: 2026-12-01", "date: 2026-12-01\nslug: twin")
    (project / "issues" / "2026-12-twin.md").write_text(twin, encoding="utf-8")
    done = here(project, "due")
    assert done.returncode == 2 and done.stdout == ""
    assert "2026-12-twin.md and " in done.stderr and "2026-12-year-end.md are both dated 2026-12" in done.stderr


def test_drafts_and_future_issues_are_not_due_nor_published(project: Path, here: Run) -> None:
    """`archive`'s exit codes on real processes; `due` (on processes in test_ci_send) and the
    drafts' preview site in-process (the calendar test runs this three more times)."""
    issue = project / ISSUE
    issue.write_text(issue.read_text(encoding="utf-8").replace("date: 2026-12-01", "date: 2026-12-20"), encoding="utf-8")
    draft = issue.read_text(encoding="utf-8").replace("date: 2026-12-20", "date: 2026-11-20\ndraft: true\nslug: draft")
    (project / "issues" / "2026-11-draft.md").write_text(draft, encoding="utf-8")
    assert here(project, "due").stdout == ""  # dated after today (2026-12-01)
    assert here(project, "due", env={"WEBZINE_TODAY": "2026-12-20"}).stdout.strip() == ISSUE
    published = run(project, "archive")
    assert published.returncode == 2 and "no issues to publish" in published.stderr
    later = run(project, "archive", env={"WEBZINE_TODAY": "2026-12-20"})
    assert later.returncode == 0, later.stderr
    assert "held back: issues/2026-11-draft.md (draft: true)" in later.stdout
    assert not (project / "site" / "draft").exists() and (project / "site" / "2026-12-year-end").is_dir()
    private = here(project, "archive", "--include-drafts", "--out", "preview-site")
    assert private.returncode == 0 and (project / "preview-site" / "draft" / "index.html").is_file()


# -- error categories that tell the truth --------------------------------------------------------------


def test_an_impossible_front_matter_date_is_one_line(project: Path, here: Run) -> None:
    issue = project / ISSUE
    issue.write_text(issue.read_text(encoding="utf-8").replace("date: 2026-12-01", "date: 2027-02-31"), encoding="utf-8")
    done = here(project, "build", ISSUE)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: {ISSUE}:5: '2027-02-31' is not a valid value (day is out of range for month)")


def test_limit_says_how_many_are_left_and_exits_3(project: Path, here: Run) -> None:
    done = here(project, "send", ISSUE, "--yes", "--limit", "4")
    assert done.returncode == 3
    assert "left for a later run (--limit)" in done.stdout
    assert "still to send; continue with: webzine send" in done.stderr


def test_a_resumed_send_exits_with_the_whole_issue_in_mind(project: Path, smtp: SmtpTestServer, here: Run) -> None:
    from smtp_server import Fault

    point_at(project, smtp)
    smtp.faults.add(Fault("rcpt", reply="550 5.1.1 no such user", match="cheol.lee@"))
    first = here(project, "send", ISSUE, "--yes", "--transport", "smtp", "--only", "cheol.lee@example.co.kr")
    assert first.returncode == 3, "failed, and the rest of the issue is still to send"
    rest = here(project, "send", ISSUE, "--yes", "--transport", "smtp", "--json")
    summary = json.loads(rest.stdout)
    assert summary["failed"] == 0 and summary["issue_so_far"]["failed"] == 1
    assert rest.returncode == 1, "an earlier permanent failure is part of the issue's outcome"


# -- the demo, then a real send that is killed and resumed through its printed hint ------------------------


def test_demo_then_smtp_send_killed_and_resumed_by_the_hint_reaches_everyone_once(
        project: Path, smtp: SmtpTestServer, dkim_key: str) -> None:
    rehearsal = run(project, "send", ISSUE, "--yes", "--json", "--allow-gaps", "demo", dkim=dkim_key)
    written = {json.loads(rehearsal.stdout)["accepted"]}
    point_at(project, smtp)
    set_send(project, rate=15)
    process = subprocess.Popen([*WEBZINE, "send", ISSUE, "--yes", "--transport", "smtp"], cwd=project,
                               env=environment(dkim_key), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(smtp.messages) < 10:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert 0 < len(smtp.messages) < min(written)
    set_send(project, rate=1000)  # the resume unpaced: who gets a copy is the question now
    dry = run(project, "send", ISSUE, "--transport", "smtp", dkim=dkim_key)
    hint = dry.stdout.splitlines()[-1]
    assert hint == f"Next: webzine send {ISSUE} --transport smtp --yes"
    resumed = run(project, *hint.removeprefix("Next: webzine ").split(), "--json", dkim=dkim_key)
    summary = json.loads(resumed.stdout)
    received = arrivals(smtp)
    assert set(received.values()) == {1}, "the resume sends nobody twice"
    unknown = {row["email"] for row in json.loads(run(project, "status", ISSUE, "--unknown", "--json").stdout)}
    assert len(unknown) == summary["unknown"] and resumed.returncode == (3 if unknown else 0)
    assert len(set(received) | unknown) == min(written), "everyone the demo wrote to the outbox is reached or unknown"
