"""The ledger's behaviour on both backends — SQLite and a real PostgreSQL started here on
127.0.0.1 (as `test_serve_postgres.py` does) — and four `webzine send --shard I/4` processes
sharing one issue through PostgreSQL to a local SMTP server: everyone exactly once."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from smtp_project import ISSUE, SLUG, environment, simple_rows, write_project
from smtp_server import SmtpTestServer
from ledgerkit import location, pg_url  # noqa: F401  (fixtures: both backends)
from test_serve_postgres import PASSWORD, USER, postgres  # noqa: F401  (the session's server)

from webzine.errors import SendLocked, StorageError
from webzine.send.ledger import Claim, Ledger, LedgerEntry, Result, State
from webzine.send.ledger_pg import PASSWORD_ENV
from webzine.send.lock import send_lock

# One worker runs every PostgreSQL test, so the session starts one cluster (make test: --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgresql")]

WEBZINE = str(Path(sys.executable).parent / "webzine")


def claim(number: int, issue: str = "2026-12", attempts: int = 0) -> Claim:
    return Claim(f"user{number}@example.com", f"User{number}@example.com", f"{issue}.{number:032x}@example.co.kr",
                 f"verp{number:012d}", attempts)


@pytest.fixture
def ledger(location: str) -> Iterator[Ledger]:
    with Ledger.open(location) as opened:
        yield opened


def test_claims_outcomes_counts_rows_and_states(ledger: Ledger) -> None:
    assert ledger.commit("2026-12", transport="smtp", run_id=1, claims=[claim(n) for n in range(5)]) == {
        f"user{n}@example.com" for n in range(5)}
    ledger.commit("2026-12", transport="smtp", run_id=1, outcomes=[
        Result("user0@example.com", State.ACCEPTED, 250, "2.0.0", "ok", "q1"),
        Result("user1@example.com", State.FAILED, 550, "5.1.1", "no such user"),
        Result("user2@example.com", State.DEFERRED, 451, "4.3.0", "try later")])
    counts = ledger.counts("2026-12")[0]
    assert (counts.accepted, counts.failed, counts.deferred, counts.unknown, counts.total) == (1, 1, 1, 2, 5)
    failed = ledger.rows("2026-12", State.FAILED)[0]
    assert (failed.code, failed.status, failed.text, failed.attempts, failed.email) == (
        550, "5.1.1", "no such user", 1, "User1@example.com")
    assert ledger.states("2026-12", ["user0@example.com", "user3@example.com", "nobody@x.kr"]) == {
        "user0@example.com": LedgerEntry(State.ACCEPTED, 1, "smtp"), "user3@example.com": LedgerEntry(State.CLAIMED, 1, "smtp")}
    assert len(ledger.all_states("2026-12")) == 5


def test_a_claim_holds_only_on_the_attempt_count_it_read(ledger: Ledger) -> None:
    ledger.commit("i", transport="smtp", run_id=1, claims=[claim(1, "i")])
    ledger.commit("i", transport="smtp", run_id=1, outcomes=[Result("user1@example.com", State.DEFERRED, 421)])
    first = ledger.rows("i")[0]
    assert ledger.commit("i", transport="smtp", run_id=2, claims=[claim(1, "i", attempts=0)]) == set(), "stale read"
    assert ledger.commit("i", transport="smtp", run_id=2, claims=[claim(1, "i", attempts=1)]) == {"user1@example.com"}
    again = ledger.rows("i")[0]
    assert (again.state, again.attempts, again.claimed_at) == (State.CLAIMED, 2, first.claimed_at)


def test_lookups_history_rehearsals_rejects_settle_and_runs(ledger: Ledger) -> None:
    ledger.commit("2026-11", transport="smtp", run_id=1, claims=[claim(1, "2026-11")])
    ledger.commit("2026-12", transport="outbox", run_id=2, claims=[claim(1, "2026-12"), claim(2, "2026-12")])
    ledger.commit("2026-12", transport="outbox", run_id=2,
                  outcomes=[Result("user2@example.com", State.ACCEPTED, 250, provider_id="prov-2")])
    assert ledger.find_by_verp("VERP000000000002") == ("2026-12", "User2@example.com")
    assert ledger.find_by_message_id(f"<2026-11.{1:032x}@example.co.kr>") == ("2026-11", "User1@example.com")
    assert ledger.find_by_provider_id("prov-2") == ("2026-12", "User2@example.com")
    assert ledger.find_by_verp("nothing") is None
    assert [row.issue for row in ledger.history("USER1@example.com")] == ["2026-11", "2026-12"]
    assert ledger.counts("2026-12")[0].rehearsed == 1
    ledger.record_rejected("2026-12", "a@b.kr", "a@b.kr", "To name contains U+000D", transport="smtp", run_id=2)
    assert ledger.rows("2026-12", State.FAILED)[0].text == "rejected before sending: To name contains U+000D"
    assert ledger.settle("2026-11", [("user1@example.com", State.ACCEPTED, "settled: log")]) == 1
    assert ledger.settle("2026-11", [("user1@example.com", State.DEFERRED, "settled: again")]) == 0
    run = ledger.start_run("2026-12", transport="smtp", allow_gaps="대표님 승인", options={"limit": 5})
    ledger.finish_run(run, summary={"accepted": 5}, exit_code=0)
    (recorded,) = ledger.runs("2026-12")
    assert (recorded["allow_gaps"], recorded["exit_code"]) == ("대표님 승인", 0) and recorded["finished_at"]


def test_a_lost_database_connection_is_one_storage_error_and_nothing_half_written(pg_url: str) -> None:
    """PostgreSQL's fault: the server ends the session mid-send (a restart, a failover)."""
    import psycopg

    with Ledger.open(pg_url) as ledger:
        ledger.commit("i", transport="smtp", run_id=1, claims=[claim(n, "i") for n in range(3)])
        with psycopg.connect(pg_url, password=PASSWORD, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (ledger._db.info.backend_pid,))
        with pytest.raises(StorageError, match=r"cannot write the send ledger .*re-run the same command"):
            ledger.commit("i", transport="smtp", run_id=1, claims=[claim(n, "i") for n in range(3, 6)],
                          outcomes=[Result("user0@example.com", State.ACCEPTED, 250)])
    with Ledger.open(pg_url) as ledger:
        counts = ledger.counts("i")[0]
        assert (counts.unknown, counts.accepted, counts.total) == (3, 0, 3)


def _claim_all(location: str, numbers: list[int], start: multiprocessing.Event, out: multiprocessing.Queue) -> None:
    with Ledger.open(location) as ledger:
        run = ledger.start_run("race", transport="smtp", allow_gaps=None, options={})
        start.wait(10)
        held: list[str] = []
        for first in range(0, len(numbers), 20):
            held += ledger.commit("race", transport="smtp", run_id=run,
                                  claims=[claim(n, "race") for n in numbers[first : first + 20]])
        out.put(held)


def test_two_processes_never_both_win_a_recipient(location: str) -> None:
    Ledger.open(location).close()
    start, out = multiprocessing.Event(), multiprocessing.Queue()
    orders = [list(range(300)), list(range(150, 300)) + list(range(150))]
    workers = [multiprocessing.Process(target=_claim_all, args=(location, order, start, out)) for order in orders]
    for worker in workers:
        worker.start()
    start.set()
    held = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert not set(held[0]) & set(held[1]), "no recipient claimed by both"
    assert set(held[0]) | set(held[1]) == {f"user{n}@example.com" for n in range(300)}
    with Ledger.open(location) as ledger:
        assert {entry.attempts for entry in ledger.all_states("race").values()} == {1}


def test_shards_lock_apart_and_a_second_run_of_a_shard_is_refused(location: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with send_lock(Path(location), "2026-12", now=now, shard="0/2"), \
            send_lock(Path(location), "2026-12", now=now, shard="1/2"):  # fmt: skip
        with pytest.raises(SendLocked, match=r"2026-12 \(shard 0/2\) is already being sent"):
            with send_lock(Path(location), "2026-12", now=now, shard="0/2"):
                pass
    with send_lock(Path(location), "2026-12", now=now, shard="0/2"):
        pass  # released when the holder ended


def _send(project: Path, shards: int) -> list[subprocess.CompletedProcess]:
    commands = [[WEBZINE, "send", ISSUE, "--yes", "--json", "--transport", "smtp", "--shard", f"{index}/{shards}"]
                for index in range(shards)]
    env = {**environment(), PASSWORD_ENV: PASSWORD}  # as a CI secret would set it
    workers = [subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for command in commands]
    done = []
    for worker, command in zip(workers, commands):
        out, err = worker.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(command, worker.returncode, out, err))
    return done


RECIPIENTS = 400


def test_four_workers_send_one_issue_through_postgresql_everyone_exactly_once(
        tmp_path: Path, postgres: int, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Four shards at once (one process through PostgreSQL is test_send's SIGKILL test; how fast
    they go is a benchmark's question, not this test's)."""
    import psycopg

    name = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"postgresql://{USER}@127.0.0.1:{postgres}/postgres", password=PASSWORD,
                         autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    url = f"postgresql://{USER}@127.0.0.1:{postgres}/{name}"
    with SmtpTestServer(tls="none") as server:
        project = write_project(tmp_path / "project", simple_rows(RECIPIENTS), server.port,
                                send={"ledger": url, "rate": 100000})
        done = _send(project, 4)
        got = Counter(message.rcpt_tos[0] for message in server.messages)
    assert all(run.returncode in (0, 3) for run in done), [(run.returncode, run.stderr[-500:]) for run in done]
    assert PASSWORD not in "".join(run.stdout + run.stderr for run in done)
    assert len(got) == RECIPIENTS and set(got.values()) == {1}, "everyone exactly once"
    with Ledger.open(url) as ledger:
        counts = ledger.counts(SLUG)[0]
        assert (counts.accepted, counts.unknown, counts.total) == (RECIPIENTS, 0, RECIPIENTS)
        assert len(ledger.runs(SLUG)) == 4 and {json.loads(run.stdout)["accepted"] > 0 for run in done} == {True}


def test_worker_shards_split_a_shard_exactly() -> None:
    """--workers N under --shard I/M: the workers' recipients are shard I's, each in one worker."""
    from webzine.models import Recipient
    from webzine.send.lock import in_shard, split_shard

    people = [Recipient(email=f"u{n}@example.com") for n in range(400)]
    assert split_shard(None, 4) == ["0/4", "1/4", "2/4", "3/4"]
    assert split_shard("1/3", 2) == ["1/6", "4/6"]
    parts = [set(map(id, in_shard(people, part))) for part in split_shard("1/3", 2)]
    assert not parts[0] & parts[1] and parts[0] | parts[1] == set(map(id, in_shard(people, "1/3")))


def test_send_with_four_workers_reaches_everyone_exactly_once(location: str, tmp_path: Path) -> None:
    """`webzine send --workers 4`: four forked processes, one issue, one ledger (SQLite or PostgreSQL)."""
    with SmtpTestServer(tls="none") as server:
        project = write_project(tmp_path / "project", simple_rows(RECIPIENTS), server.port,
                                send={"ledger": location, "rate": 100000})
        started = time.monotonic()
        done = subprocess.run([WEBZINE, "send", ISSUE, "--yes", "--json", "--transport", "smtp", "--workers", "4"],
                              cwd=project, env={**environment(), PASSWORD_ENV: PASSWORD}, capture_output=True,
                              text=True, timeout=300)
        took = time.monotonic() - started
        got = Counter(message.rcpt_tos[0] for message in server.messages)
    assert done.returncode == 0, done.stderr[-800:]
    summary = json.loads(done.stdout)
    assert (summary["accepted"], summary["issue_so_far"]["delivered"], summary["exit_code"]) == (RECIPIENTS, RECIPIENTS, 0)
    assert len(got) == RECIPIENTS and set(got.values()) == {1}, "everyone exactly once"
    with Ledger.open(location) as ledger:
        assert len(ledger.runs(SLUG)) == 4 and ledger.counts(SLUG)[0].accepted == RECIPIENTS
    print(f"\n{RECIPIENTS} recipients, 4 workers: {took:.1f}s ({RECIPIENTS / took:.0f}/s)")
