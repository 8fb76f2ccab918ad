"""What the report and the digests ask the send ledger, on SQLite and on a real PostgreSQL: one
issue's rows as briefs (no `Row` decoding) and as columns, counts among a few recipients (the key customers),
and — on SQLite — counts kept by the tally, equal to counting the rows after every kind of write,
also for a ledger made before the tally existed."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from ledgerkit import location, pg_url  # noqa: F401  (fixtures: both backends)
from test_ledger_pg import claim
from test_serve_postgres import postgres  # noqa: F401  (the session's server)

from webzine.send.ledger import Ledger, Result, State
from webzine.send.ledger_records import brief_frame


@pytest.fixture
def ledger(location: str) -> Iterator[Ledger]:  # noqa: F811
    with Ledger.open(location) as opened:
        yield opened


def _write_every_kind(ledger: Ledger) -> None:
    """Claims, outcomes of each state, a re-claim of a deferred row, a refusal before sending,
    a settled unknown, and an outbox rehearsal of another issue."""
    ledger.commit("2026-12", transport="smtp", run_id=None, claims=[claim(n) for n in range(8)])
    ledger.commit("2026-12", transport="smtp", run_id=None, outcomes=[
        Result("user0@example.com", State.ACCEPTED, 250), Result("user1@example.com", State.ACCEPTED, 250),
        Result("user2@example.com", State.FAILED, 550, "5.1.1", "550 5.1.1 no such user"),
        Result("user3@example.com", State.DEFERRED, 451, "4.3.0", "451 try later")])
    ledger.commit("2026-12", transport="smtp", run_id=None, claims=[claim(3, attempts=1)])
    ledger.record_rejected("2026-12", "Bad@example.com", "bad@example.com", "a line break in the name",
                           transport="smtp", run_id=None)
    ledger.settle("2026-12", [("user4@example.com", State.ACCEPTED, "delivered per the relay's log")])
    ledger.commit("2026-11", transport="outbox", run_id=None, claims=[claim(n, "2026-11") for n in range(3)])
    ledger.commit("2026-11", transport="outbox", run_id=None,
                  outcomes=[Result(f"user{n}@example.com", State.ACCEPTED, 250) for n in range(2)])


def test_briefs_are_the_issue_rows_without_their_decoding(ledger: Ledger) -> None:
    _write_every_kind(ledger)
    rows = {row.key: row for row in ledger.rows("2026-12")}
    briefs = {brief.key: brief for brief in ledger.briefs("2026-12")}
    assert briefs.keys() == rows.keys() and len(briefs) == 9
    for key, row in rows.items():
        brief = briefs[key]
        assert (brief.email, brief.state, brief.transport, brief.text, brief.rehearsal) == (
            row.email, row.state, row.transport, row.text, row.rehearsal)
        assert brief.claimed_at == row.claimed_at
        assert abs(brief.claimed_ms / 1000 - datetime.fromisoformat(row.claimed_at).timestamp()) < 0.002
    assert briefs["user0@example.com"].email == "User0@example.com"
    assert briefs["user2@example.com"].text == "550 5.1.1 no such user"
    assert all(b.rehearsal for b in ledger.briefs("2026-11"))
    assert list(ledger.briefs("1999-01")) == []


def test_the_brief_table_is_the_briefs_as_columns(ledger: Ledger, location: str) -> None:  # noqa: F811
    _write_every_kind(ledger)
    ledger.record_rejected("2026-12", "nodomain", "nodomain", "no @ at all", transport="smtp", run_id=None)
    for issue in ("2026-12", "2026-11", "1999-01"):
        assert ledger.brief_table(issue).equals(brief_frame(ledger.briefs(issue)))
    assert ledger.brief_table("2026-12").height == 10
    if "://" not in location:  # an archived issue (SQLite) is read from its archive
        expected = brief_frame(ledger.briefs("2026-11"))
        assert ledger.archive("2026-11") is not None
        assert ledger.brief_table("2026-11").equals(expected) and expected.height == 3


def test_counts_among_a_few_recipients_per_issue(ledger: Ledger) -> None:
    _write_every_kind(ledger)
    among = {c.issue: c for c in ledger.counts_among(["user0@example.com", "user2@example.com", "user3@example.com",
                                                      "user7@example.com", "nobody@example.com"])}
    assert list(among) == ["2026-11", "2026-12"]
    december = among["2026-12"]
    assert (december.accepted, december.failed, december.deferred, december.unknown) == (1, 1, 0, 2)
    november = among["2026-11"]
    assert (november.accepted, november.rehearsed, november.unknown, november.total) == (1, 1, 1, 2)
    assert ledger.counts_among([]) == []


def _counted(path: Path) -> dict[str, tuple[int, ...]]:
    """Counts by counting every row of the `sends` view, as a person would with sqlite3."""
    with sqlite3.connect(path) as db:
        grouped = db.execute("SELECT issue, state, transport, count(*) FROM sends GROUP BY 1, 2, 3").fetchall()
    found: dict[str, Counter[str]] = {}
    for issue, state, transport, number in grouped:
        found.setdefault(issue, Counter())[state] += number
        if state == "accepted" and transport == "outbox":
            found[issue]["rehearsed"] += number
    return {issue: tuple(c[s] for s in ("accepted", "failed", "deferred", "claimed", "rehearsed"))
            for issue, c in found.items()}


def _read(ledger: Ledger) -> dict[str, tuple[int, ...]]:
    return {c.issue: (c.accepted, c.failed, c.deferred, c.unknown, c.rehearsed) for c in ledger.counts() if c.total}


def test_the_tally_equals_counting_every_row_after_every_kind_of_write(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as ledger:
        _write_every_kind(ledger)
        assert _read(ledger) == _counted(path) == {"2026-11": (2, 0, 0, 1, 2), "2026-12": (3, 2, 0, 4, 0)}
        ledger.commit("2026-11", transport="outbox", run_id=None,
                      outcomes=[Result("user2@example.com", State.ACCEPTED, 250)])
        assert ledger.archive("2026-11") is not None  # its rows leave the live ledger
        assert _read(ledger) == {"2026-12": (3, 2, 0, 4, 0), "2026-11": (3, 0, 0, 0, 3)}
        ledger.commit("2026-11", transport="smtp", run_id=None, claims=[claim(5, "2026-11")])  # brought back
        assert _read(ledger) == _counted(path) == {"2026-11": (3, 0, 0, 1, 3), "2026-12": (3, 2, 0, 4, 0)}


def test_a_ledger_made_before_the_tally_gets_it_on_open(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as ledger:
        _write_every_kind(ledger)
    with sqlite3.connect(path) as db:  # as an older webzine left it (no tally), then one more write
        for trigger in ("tally_insert", "tally_update", "tally_delete"):
            db.execute(f"DROP TRIGGER {trigger}")
        db.execute("DROP TABLE tallies")
        db.execute("UPDATE deliveries SET state = 1 WHERE id = (SELECT min(id) FROM deliveries WHERE state = 0)")
    with Ledger.open(path) as ledger:
        assert _read(ledger) == _counted(path)
        ledger.commit("2026-12", transport="smtp", run_id=None,
                      outcomes=[Result("user3@example.com", State.ACCEPTED, 250)])
        assert _read(ledger) == _counted(path)
