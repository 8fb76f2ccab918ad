"""A ledger written by an older schema — the first (one wide `sends` row per issue × recipient) or
the second (compact, times in milliseconds) — is upgraded in place on first open, and answers
every question as before, times to the second."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from webzine.errors import ConfigError
from webzine.send.ledger import SCHEMA_VERSION, Claim, Ledger, LedgerEntry, Result, State

# The first schema's DDL, as webzine wrote it until the compact ledger (SCHEMA_VERSION 1).
FIRST_SCHEMA = """
CREATE TABLE sends (
    issue TEXT NOT NULL, key TEXT NOT NULL, email TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'accepted', 'failed', 'deferred')),
    attempts INTEGER NOT NULL DEFAULT 0, code INTEGER, status TEXT, text TEXT NOT NULL DEFAULT '',
    provider_id TEXT, message_id TEXT NOT NULL, verp TEXT, transport TEXT NOT NULL, run_id INTEGER,
    claimed_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (issue, key)
) WITHOUT ROWID;
CREATE INDEX sends_verp ON sends (verp) WHERE verp IS NOT NULL;
CREATE INDEX sends_message_id ON sends (message_id);
CREATE INDEX sends_provider_id ON sends (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX sends_key ON sends (key, claimed_at);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, issue TEXT NOT NULL, transport TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT, allow_gaps TEXT, options TEXT NOT NULL DEFAULT '{}', summary TEXT, exit_code INTEGER
);
PRAGMA user_version = 1;
"""

MID = "2026-11.{:032x}@example.co.kr"
# (issue, key, email, state, attempts, code, status, text, provider_id, message_id, verp, transport, run_id,
#  claimed_at, updated_at) as the first schema's Sender wrote them.
FIRST_ROWS = [
    ("2026-11", "kim@example.com", "Kim@Example.com", "accepted", 1, 250, "2.0.0", "2.0.0 Ok: queued as 4AbC",
     "4AbC", MID.format(1), "abcdefghijklmnop", "smtp", 1, "2026-11-05T01:00:00.000+00:00",
     "2026-11-05T01:00:00.250+00:00"),
    ("2026-11", "lee@example.com", "lee@example.com", "failed", 1, 550, "5.1.1", "5.1.1 no such user", None,
     MID.format(2), "qrstuvwxyz234567", "smtp", 1, "2026-11-05T01:00:00.100+00:00",
     "2026-11-05T01:00:01.000+00:00"),
    ("2026-11", "park@example.com", "park@example.com", "claimed", 2, 451, "4.3.0", "try later", None,
     MID.format(3), "aaaaaaaaaaaaaaaa", "smtp", 2, "2026-11-05T01:00:00.200+00:00",
     "2026-11-06T09:00:00.000+00:00"),
    ("2026-11", "bad@example.com", "bad@example.com", "failed", 0, None, None,
     "rejected before sending: To name contains U+000D", None, "", None, "smtp", 1,
     "2026-11-05T01:00:00.300+00:00", "2026-11-05T01:00:00.300+00:00"),
    ("2026-12", "kim@example.com", "Kim@Example.com", "accepted", 1, 250, None, "written to outbox/x.eml",
     "outbox/x.eml", "odd-form-id@elsewhere.kr", "verp000000000001", "outbox", 3,
     "2026-12-05T01:00:00.000+00:00", "2026-12-05T01:00:00.010+00:00"),
]


def whole_seconds(stamp: str) -> str:
    """Times are kept in whole seconds from the issue's first claim (here on a whole second)."""
    return stamp[:19] + ".000" + stamp[23:]


def first_schema_ledger(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.executescript(FIRST_SCHEMA)
        db.executemany(f"INSERT INTO sends VALUES ({','.join('?' * 15)})", FIRST_ROWS)
        db.execute("INSERT INTO runs (issue, transport, started_at, exit_code) VALUES "
                   "('2026-11', 'smtp', '2026-11-05T01:00:00+00:00', 0)")
        db.commit()


def test_a_first_schema_ledger_is_upgraded_in_place_and_answers_as_before(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    first_schema_ledger(path)
    with Ledger.open(path) as ledger:
        rows = {(row.issue, row.key): row for issue in ("2026-11", "2026-12") for row in ledger.rows(issue)}
        for (issue, key, email, state, attempts, code, status, text, provider_id, message_id, verp, transport,
             _run, claimed_at, updated_at) in FIRST_ROWS:
            row = rows[issue, key]
            assert (row.email, row.state, row.attempts, row.code, row.provider_id, row.message_id, row.verp,
                    row.transport, row.claimed_at, row.updated_at) == (
                email, State(state), attempts, code, provider_id, message_id, verp, transport,
                whole_seconds(claimed_at), whole_seconds(updated_at))
            if state != "accepted":  # an acceptance keeps its state and code; replies only for the rest
                assert (row.status, row.text) == (status, text)
        assert ledger.find_by_verp("ABCDEFGHIJKLMNOP") == ("2026-11", "Kim@Example.com")
        assert ledger.find_by_verp("verp000000000001") == ("2026-12", "Kim@Example.com")
        assert ledger.find_by_message_id(f"<{MID.format(2)}>") == ("2026-11", "lee@example.com")
        assert ledger.find_by_message_id("odd-form-id@elsewhere.kr") == ("2026-12", "Kim@Example.com")
        assert ledger.find_by_provider_id("4AbC") == ("2026-11", "Kim@Example.com")
        assert [row.issue for row in ledger.history("kim@example.com")] == ["2026-11", "2026-12"]
        counts = ledger.counts("2026-11")[0]
        assert (counts.accepted, counts.failed, counts.unknown) == (1, 2, 1)
        assert ledger.counts("2026-12")[0].rehearsed == 1
        assert ledger.runs("2026-11")[0]["exit_code"] == 0
        # The migrated ledger goes on: a re-run reclaims the unknown recipient exactly once.
        claim = Claim("park@example.com", "park@example.com", MID.format(3), "aaaaaaaaaaaaaaaa", attempts=2)
        assert ledger.commit("2026-11", transport="smtp", run_id=4, claims=[claim]) == {"park@example.com"}
        assert ledger.commit("2026-11", transport="smtp", run_id=5, claims=[claim]) == set()
        ledger.commit("2026-11", transport="smtp", run_id=4, outcomes=[Result("park@example.com", State.ACCEPTED, 250)])
        assert ledger.states("2026-11", ["park@example.com"]) == {"park@example.com": LedgerEntry(State.ACCEPTED, 3, "smtp")}
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT type FROM sqlite_master WHERE name = 'sends'").fetchone()[0] == "view"
        assert db.execute("SELECT count(*) FROM sends").fetchone()[0] == len(FIRST_ROWS)


def test_a_migration_that_fails_leaves_the_first_schema_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    first_schema_ledger(path)
    with closing(sqlite3.connect(path)) as db:  # a row the first schema's CHECK would never have let in
        db.execute("PRAGMA ignore_check_constraints = 1")
        db.execute("UPDATE sends SET claimed_at = 'not a time' WHERE key = 'lee@example.com'")
        db.commit()
    with pytest.raises(ConfigError, match=r"cannot upgrade the send ledger \(issue 2026-11, recipient lee@example.com"):
        Ledger.open(path)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT type FROM sqlite_master WHERE name = 'sends'").fetchone()[0] == "table"
        assert db.execute("SELECT count(*) FROM sends").fetchone()[0] == len(FIRST_ROWS)


SECOND_SCHEMA = Path(__file__).parent / "fixtures" / "ledger" / "schema2.sql"
MID2 = "2027-01.{:032x}@example.co.kr"
# (issue, key, state, code, status, text, provider_id, message_id, verp, claimed_at, updated_at) after the
# upgrade: what the second schema's rows said, times rounded down to the second after the issue's start.
SECOND_ROWS = [
    ("2027-01", "kim@example.com", "accepted", 250, None, "", "4AbC", MID2.format(1), "abcdefghijklmnoq",
     "2026-12-07T01:00:00.000+00:00", "2026-12-07T01:00:00.000+00:00"),
    ("2027-01", "lee@example.com", "failed", 550, "5.1.1", "5.1.1 no such user", None, MID2.format(2),
     "abcdefghijklmnor", "2026-12-07T01:00:00.000+00:00", "2026-12-07T01:00:00.000+00:00"),
    ("2027-01", "park@example.com", "deferred", 451, "4.3.0", "try later", None, MID2.format(3), "abcdefghijklmnop",
     "2026-12-07T01:00:00.000+00:00", "2026-12-07T01:00:01.000+00:00"),
    ("2027-01", "bad@example.com", "failed", None, None, "rejected before sending: To name contains U+000D", None, "",
     None, "2026-12-07T01:01:00.000+00:00", "2026-12-07T01:01:00.000+00:00"),
    ("2027-02", "kim@example.com", "accepted", 250, None, "", "outbox/x.eml", "odd-form-id@elsewhere.kr",
     "verp000000000001", "2026-12-07T01:01:00.500+00:00", "2026-12-08T00:59:59.500+00:00"),
]


def test_a_second_schema_ledger_written_by_the_previous_code_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SECOND_SCHEMA.read_text(encoding="utf-8"))
    with Ledger.open(path) as ledger:
        found = [(row.issue, row.key, row.state.value, row.code, row.status, row.text, row.provider_id,
                  row.message_id, row.verp, row.claimed_at, row.updated_at)
                 for issue in ("2027-01", "2027-02") for row in ledger.rows(issue)]
        assert sorted(found) == sorted(SECOND_ROWS)
        assert ledger.find_by_message_id(f"<{MID2.format(2)}>") == ("2027-01", "lee@example.com")
        assert ledger.find_by_verp("ABCDEFGHIJKLMNOQ") == ("2027-01", "Kim@Example.com")
        park = Claim("park@example.com", "park@example.com", MID2.format(3), "abcdefghijklmnop", attempts=1)
        assert ledger.commit("2027-01", transport="smtp", run_id=3, claims=[park]) == {"park@example.com"}
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT code FROM sends WHERE key = 'lee@example.com'").fetchone()[0] == 550


def test_an_archive_folded_by_the_second_schema_is_read_in_seconds(tmp_path: Path) -> None:
    """Archives on the state branch are never rewritten: an old one is upgraded in its scratch copy."""
    import gzip

    old = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(old)) as db:
        db.executescript(SECOND_SCHEMA.read_text(encoding="utf-8"))
    path = tmp_path / "state" / "ledger.sqlite3"
    with Ledger.open(path) as ledger:
        ledger.archive_folder.mkdir()
        (ledger.archive_folder / "2027-01.sqlite3.gz").write_bytes(gzip.compress(old.read_bytes()))
        ledger._db.execute("INSERT INTO archived VALUES ('2027-01', '2027-01.sqlite3.gz', 1, 2, 1, 0, 0, 'x')")
        found = [(row.issue, row.key, row.state.value, row.code, row.status, row.text, row.provider_id,
                  row.message_id, row.verp, row.claimed_at, row.updated_at) for row in ledger.rows("2027-01")]
        assert sorted(found) == sorted(row for row in SECOND_ROWS if row[0] == "2027-01")
