from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from ledgerkit import location, pg_url, postgres  # noqa: F401  (fixtures: SQLite and PostgreSQL)

from webzine.errors import ConfigError, StorageError
from webzine.send.ledger import Claim, Ledger, LedgerEntry, Result, State


def claim(number: int, issue: str = "2026-12", attempts: int = 0) -> Claim:
    return Claim(
        key=f"user{number}@example.com",
        email=f"User{number}@example.com",
        message_id=f"{issue}.{number}@example.co.kr",
        verp=f"verp{number:012d}",
        attempts=attempts,
    )


@pytest.fixture
def ledger(location: str) -> Ledger:
    """Each test below that takes it runs on SQLite and on PostgreSQL."""
    with Ledger.open(location) as opened:
        yield opened


def test_claims_then_outcomes_give_counts_and_rows(ledger: Ledger) -> None:
    ledger.commit("2026-12", transport="smtp", run_id=1, claims=[claim(n) for n in range(5)])
    assert ledger.counts("2026-12")[0].unknown == 5
    ledger.commit(
        "2026-12",
        transport="smtp",
        run_id=1,
        outcomes=[
            Result("user0@example.com", State.ACCEPTED, 250, "2.0.0", "ok", "q1"),
            Result("user1@example.com", State.FAILED, 550, "5.1.1", "no such user"),
            Result("user2@example.com", State.DEFERRED, 451, "4.3.0", "try later"),
        ],
    )
    counts = ledger.counts("2026-12")[0]
    assert (counts.accepted, counts.failed, counts.deferred, counts.unknown) == (1, 1, 1, 2)
    assert counts.total == 5
    failed = ledger.rows("2026-12", State.FAILED)[0]
    assert (failed.code, failed.status, failed.text, failed.attempts) == (550, "5.1.1", "no such user", 1)
    states = ledger.states("2026-12", ["user0@example.com", "user3@example.com", "nobody@x.kr"])
    assert states == {"user0@example.com": LedgerEntry(State.ACCEPTED, 1, "smtp"),
                      "user3@example.com": LedgerEntry(State.CLAIMED, 1, "smtp")}


def test_reclaiming_counts_attempts_and_keeps_the_first_claim_time(ledger: Ledger) -> None:
    ledger.commit("i", transport="smtp", run_id=1, claims=[claim(1, "i")])
    first = ledger.rows("i")[0]
    ledger.commit("i", transport="smtp", run_id=1, outcomes=[Result(first.key, State.DEFERRED, 421)])
    assert ledger.commit("i", transport="smtp", run_id=2, claims=[claim(1, "i", attempts=1)]) == {first.key}
    again = ledger.rows("i")[0]
    assert again.state is State.CLAIMED and again.attempts == 2
    assert again.claimed_at == first.claimed_at


def test_outcomes_apply_before_claims_in_one_commit(ledger: Ledger) -> None:
    """A retry's new claim and the previous attempt's outcome can share a commit: the claim wins."""
    ledger.commit("i", transport="smtp", run_id=1, claims=[claim(1, "i")])
    ledger.commit(
        "i",
        transport="smtp",
        run_id=1,
        outcomes=[Result("user1@example.com", State.DEFERRED, 451)],
        claims=[claim(1, "i", attempts=1)],
    )
    assert ledger.rows("i")[0].state is State.CLAIMED


def test_a_claim_holds_only_if_nobody_claimed_since_it_was_read(ledger: Ledger) -> None:
    """Two runs that both read "no row" cannot both win: the second claim is refused."""
    assert ledger.commit("i", transport="smtp", run_id=1, claims=[claim(1, "i"), claim(2, "i")]) == \
        {"user1@example.com", "user2@example.com"}
    assert ledger.commit("i", transport="smtp", run_id=2, claims=[claim(1, "i"), claim(3, "i")]) == {"user3@example.com"}
    rows = {row.key: row for row in ledger.rows("i")}
    assert rows["user1@example.com"].attempts == 1
    ledger.commit("i", transport="smtp", run_id=1, outcomes=[Result("user2@example.com", State.ACCEPTED, 250)])
    assert ledger.commit("i", transport="smtp", run_id=3, claims=[claim(2, "i")]) == set()
    assert ledger.rows("i", State.ACCEPTED)[0].key == "user2@example.com"


def test_an_acceptance_keeps_its_state_and_code_and_replies_are_kept_only_for_the_rest(ledger: Ledger) -> None:
    ledger.commit("i", transport="smtp", run_id=1, claims=[claim(1, "i"), claim(2, "i")])
    ledger.commit("i", transport="smtp", run_id=1, outcomes=[
        Result("user1@example.com", State.ACCEPTED, 250, "2.0.0", "2.0.0 Ok: queued as 4AbC", "4AbC"),
        Result("user2@example.com", State.DEFERRED, 451, "4.7.1", "4.7.1 greylisted")])
    accepted, deferred = (ledger.rows("i", state)[0] for state in (State.ACCEPTED, State.DEFERRED))
    assert (accepted.code, accepted.status, accepted.text, accepted.provider_id) == (250, None, "", "4AbC")
    assert (deferred.code, deferred.status, deferred.text) == (451, "4.7.1", "4.7.1 greylisted")


def test_what_a_rehearsal_accepted_is_counted_apart(ledger: Ledger) -> None:
    ledger.commit("i", transport="outbox", run_id=1, claims=[claim(1, "i"), claim(2, "i")])
    ledger.commit("i", transport="outbox", run_id=1, outcomes=[Result("user1@example.com", State.ACCEPTED, 250)])
    counts = ledger.counts("i")[0]
    assert (counts.accepted, counts.unknown, counts.rehearsed) == (1, 1, 1)


def test_a_full_disk_is_one_storage_error_and_the_ledger_stays_consistent(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as ledger:
        ledger.commit("i", transport="smtp", run_id=1, claims=[claim(n, "i") for n in range(3)])
        pages = ledger._db.execute("PRAGMA page_count").fetchone()[0]
        ledger._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
        big = [Claim(f"x{n}@example.com", f"x{n}@example.com", "m" * 400 + str(n), None) for n in range(2000)]
        with pytest.raises(StorageError, match="cannot write the send ledger .*full.*re-run the same command"):
            ledger.commit("i", transport="smtp", run_id=1, claims=big,
                          outcomes=[Result("user0@example.com", State.ACCEPTED, 250)])
    with Ledger.open(path) as ledger:
        counts = ledger.counts("i")[0]
        assert (counts.unknown, counts.accepted, counts.total) == (3, 0, 3)


def test_lookups_for_the_bounce_step(ledger: Ledger) -> None:
    ledger.commit("2026-11", transport="smtp", run_id=1, claims=[claim(1, "2026-11")])
    ledger.commit("2026-12", transport="smtp", run_id=2, claims=[claim(1, "2026-12"), claim(2, "2026-12")])
    ledger.commit(
        "2026-12",
        transport="smtp",
        run_id=2,
        outcomes=[Result("user2@example.com", State.ACCEPTED, provider_id="prov-2")],
    )
    assert ledger.find_by_verp("VERP000000000002") == ("2026-12", "User2@example.com")
    assert ledger.find_by_message_id("<2026-11.1@example.co.kr>") == ("2026-11", "User1@example.com")
    assert ledger.find_by_provider_id("prov-2") == ("2026-12", "User2@example.com")
    assert ledger.find_by_verp("nothing") is None
    history = ledger.history("USER1@example.com")
    assert [row.issue for row in history] == ["2026-11", "2026-12"]


def test_rejected_recipients_are_failed_without_a_claim(ledger: Ledger) -> None:
    ledger.record_rejected("i", "a@b.kr", "a@b.kr", "To name contains U+000D", transport="smtp", run_id=1)
    row = ledger.rows("i")[0]
    assert row.state is State.FAILED and row.attempts == 0
    assert row.text == "rejected before sending: To name contains U+000D"


def test_runs_record_the_allow_gaps_reason(ledger: Ledger) -> None:
    run = ledger.start_run("i", transport="smtp", allow_gaps="대표님 승인: 한빛상사 12월 제외", options={"limit": 5})
    ledger.finish_run(run, summary={"accepted": 5}, exit_code=0)
    (recorded,) = ledger.runs("i")
    assert recorded["allow_gaps"] == "대표님 승인: 한빛상사 12월 제외"
    assert recorded["exit_code"] == 0 and recorded["finished_at"]


def test_ledger_is_wal_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    with Ledger.open(path) as first:
        first.commit("i", transport="smtp", run_id=None, claims=[claim(1, "i")])
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Ledger.open(path) as second:
        assert second.counts()[0].unknown == 1


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match=r"cannot open the send ledger .*\[send\] ledger"):
        Ledger.open(path)
