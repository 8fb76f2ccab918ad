"""Closed issues folded into per-issue archives still answer every question the live ledger did,
and writing to an archived issue brings it back first: folding never loses or repeats anyone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from webzine.errors import StorageError
from webzine.send.ledger import Claim, Ledger, LedgerEntry, Result, State
from webzine.tokens import verp_token

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)  # far after the rows: every issue is "quiet"


def claim(number: int, issue: str, attempts: int = 0) -> Claim:
    key = f"user{number}@example.com"
    return Claim(key, f"User{number}@example.com", f"{issue}.{number:032x}@example.co.kr",
                 verp_token("secret", issue, key) if number < 8 else None, attempts)


def send(ledger: Ledger, issue: str, numbers: range, outcome: State = State.ACCEPTED) -> None:
    run = ledger.start_run(issue, transport="smtp", allow_gaps=None, options={})
    ledger.commit(issue, transport="smtp", run_id=run, claims=[claim(n, issue) for n in numbers])
    ledger.commit(issue, transport="smtp", run_id=run, outcomes=[
        Result(f"user{n}@example.com", outcome, 451 if outcome is State.DEFERRED else 250, "4.3.0", "later",
               f"prov-{issue}-{n}") for n in numbers])
    ledger.finish_run(run, summary={}, exit_code=0)


def answers(ledger: Ledger, issue: str) -> tuple:
    return (ledger.all_states(issue), ledger.states(issue, ["user1@example.com", "nobody@example.com"]),
            ledger.rows(issue), ledger.counts(issue), ledger.find_by_verp(verp_token("secret", issue, "user1@example.com").upper()),
            ledger.find_by_message_id(f"<{issue}.{1:032x}@example.co.kr>"), ledger.find_by_provider_id(f"prov-{issue}-3"),
            ledger.history("USER1@example.com"))


def test_a_folded_issue_answers_as_before_from_its_archive(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        send(ledger, "2026-11", range(10))
        send(ledger, "2026-12", range(5))
        before = answers(ledger, "2026-11")
        assert before[4:7] == (("2026-11", "User1@example.com"),) * 2 + (("2026-11", "User3@example.com"),)
        assert ledger.closed_issues(older_than_days=9999, now=NOW) == ["2026-11", "2026-12"]
        archive = ledger.archive("2026-11")
        assert archive == tmp_path / "ledger-archive" / "2026-11.sqlite3.gz"
        assert ledger._db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 5, "only the live issue"
        assert answers(ledger, "2026-11") == before
    with Ledger.open(tmp_path / "ledger.sqlite3") as reopened:
        assert answers(reopened, "2026-11") == before
        assert [c.issue for c in reopened.counts()] == ["2026-11", "2026-12"]


def test_writing_to_an_archived_issue_brings_it_back_and_claims_hold_once(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        send(ledger, "2026-11", range(4))
        send(ledger, "2026-11", range(4, 6), State.DEFERRED)
        assert ledger.closed_issues(older_than_days=9999, now=NOW) == [], "deferred recipients keep it open"
        assert ledger.closed_issues(older_than_days=30, now=NOW) == ["2026-11"], "until it has been quiet long enough"
        ledger.archive("2026-11")
        retry = [claim(n, "2026-11", attempts=1) for n in (4, 5)]
        assert ledger.commit("2026-11", transport="smtp", run_id=9, claims=retry) == {"user4@example.com", "user5@example.com"}
        assert ledger.commit("2026-11", transport="smtp", run_id=10, claims=retry) == set(), "a stale read wins nothing"
        assert not (tmp_path / "ledger-archive" / "2026-11.sqlite3.gz").exists()
        states = ledger.all_states("2026-11")
        assert states["user0@example.com"] == LedgerEntry(State.ACCEPTED, 1, "smtp")
        assert states["user4@example.com"] == LedgerEntry(State.CLAIMED, 2, "smtp")
        assert ledger.counts("2026-11")[0].total == 6


def test_an_archived_issue_whose_file_is_missing_is_an_error_never_an_unsent_issue(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        send(ledger, "2026-11", range(3))
        send(ledger, "2026-12", range(3))
        ledger.archive("2026-11")
    (tmp_path / "ledger-archive" / "2026-11.sqlite3.gz").unlink()
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        with pytest.raises(StorageError, match=r"2026-11 was archived there and the file is missing; restore"):
            ledger.all_states("2026-11")
        with pytest.raises(StorageError, match="file is missing"):
            ledger.commit("2026-11", transport="smtp", run_id=3, claims=[claim(1, "2026-11")])
        assert ledger.counts("2026-11")[0].accepted == 3, "counts are kept with the live ledger"
        assert [row.issue for row in ledger.history("user1@example.com")] == ["2026-12"], "lookups use what is here"


def test_an_open_run_keeps_an_issue_live_until_it_is_quiet(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        send(ledger, "2026-11", range(3))
        ledger.start_run("2026-11", transport="smtp", allow_gaps=None, options={})
        assert ledger.closed_issues(older_than_days=9999, now=NOW) == []
        recently = datetime.now(timezone.utc) + timedelta(days=1)
        assert ledger.closed_issues(older_than_days=2, now=recently) == []
        assert ledger.closed_issues(older_than_days=2, now=NOW) == ["2026-11"]
