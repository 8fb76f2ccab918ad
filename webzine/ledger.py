"""Send state in SQLite (WAL): what was handed to a transport, and what became of it.

One row per issue × recipient. The orchestration writes `claimed` (and commits) *before* a
message is handed to a transport, and `accepted` / `failed` / `deferred` once the transport has
answered. A crash between the two leaves `claimed`: the message may or may not have left, so a
re-run reports those rows as *unknown* instead of guessing, and sends them again only when told to
(`--resend-unknown`). Claims and outcomes are committed in batches; a claim is always committed
before its message leaves, and outcomes are applied before the claims of the same commit.

The ledger also answers the bounce step's questions: which issue and recipient a VERP token,
Message-ID or provider id belongs to, and an address's history across issues.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path

from webzine.errors import ConfigError, StorageError
from webzine.transports import REHEARSALS

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    issue        TEXT NOT NULL,
    key          TEXT NOT NULL,
    email        TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('claimed', 'accepted', 'failed', 'deferred')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    code         INTEGER,
    status       TEXT,
    text         TEXT NOT NULL DEFAULT '',
    provider_id  TEXT,
    message_id   TEXT NOT NULL,
    verp         TEXT,
    transport    TEXT NOT NULL,
    run_id       INTEGER,
    claimed_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (issue, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sends_verp ON sends (verp) WHERE verp IS NOT NULL;
CREATE INDEX IF NOT EXISTS sends_message_id ON sends (message_id);
CREATE INDEX IF NOT EXISTS sends_provider_id ON sends (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS sends_key ON sends (key, claimed_at);
CREATE TABLE IF NOT EXISTS runs (
    id             INTEGER PRIMARY KEY,
    issue          TEXT NOT NULL,
    transport      TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    allow_gaps     TEXT,
    options        TEXT NOT NULL DEFAULT '{}',
    summary        TEXT,
    exit_code      INTEGER
);
"""


class State(StrEnum):
    CLAIMED = "claimed"  # handed (or about to be handed) to a transport; outcome unknown
    ACCEPTED = "accepted"
    FAILED = "failed"  # permanent: the server refused, or the recipient was rejected before sending
    DEFERRED = "deferred"  # temporary: a re-run retries it


@dataclass(frozen=True, slots=True)
class Claim:
    """A claim on one recipient. `attempts` is the row's attempt count this run read (0: no row):
    the claim holds only if nobody claimed the recipient since, so two runs can never both win."""

    key: str
    email: str
    message_id: str
    verp: str | None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What the ledger says of one recipient for one issue: the plan's input."""

    state: State
    attempts: int = 0
    transport: str = ""

    @property
    def rehearsal(self) -> bool:
        return self.transport in REHEARSALS


@dataclass(frozen=True, slots=True)
class Result:
    key: str
    state: State
    code: int | None = None
    status: str | None = None
    text: str = ""
    provider_id: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    issue: str
    key: str
    email: str
    state: State
    attempts: int
    code: int | None
    status: str | None
    text: str
    provider_id: str | None
    message_id: str
    verp: str | None
    transport: str
    claimed_at: str
    updated_at: str

    @property
    def rehearsal(self) -> bool:
        return self.transport in REHEARSALS


@dataclass(frozen=True, slots=True)
class Counts:
    issue: str
    accepted: int = 0
    failed: int = 0
    deferred: int = 0
    unknown: int = 0  # rows still `claimed`: the crash window
    rehearsed: int = 0  # of the accepted, those a rehearsal transport (the outbox) took: not delivered

    @property
    def total(self) -> int:
        return self.accepted + self.failed + self.deferred + self.unknown


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


_COLUMNS = (
    "issue, key, email, state, attempts, code, status, text, provider_id, message_id, verp, "
    "transport, claimed_at, updated_at"
)


def _row(values: Sequence) -> Row:
    fields = list(values)
    fields[3] = State(fields[3])
    return Row(*fields)


class Ledger:
    """One connection, used from one thread (the orchestration's); open with `Ledger.open`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: str | Path) -> "Ledger":
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed claim survives power loss, not only a crash of this process.
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            db.executescript(_SCHEMA)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"{path}: the ledger was written by a newer webzine (schema {version}); upgrade webzine."
                )
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"{path}: cannot open the send ledger ({exc}); check the path in [send] ledger."
            ) from exc
        return cls(db, path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the send path ---------------------------------------------------------------------

    def states(self, issue: str, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        """State, attempts and transport of the given recipients that have a row for `issue`."""
        found: dict[str, LedgerEntry] = {}
        with self._storage("read"):
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, state, attempts, transport in self._db.execute(
                    f"SELECT key, state, attempts, transport FROM sends WHERE issue = ? AND key IN ({marks})",
                    (issue, *chunk),
                ):
                    found[key] = LedgerEntry(State(state), attempts, transport)
        return found

    def all_states(self, issue: str) -> dict[str, LedgerEntry]:
        """Every row of `issue`, for the plan of a whole list (`status`, `due`, the dry run)."""
        with self._storage("read"):
            return {key: LedgerEntry(State(state), attempts, transport) for key, state, attempts, transport in
                    self._db.execute("SELECT key, state, attempts, transport FROM sends WHERE issue = ?", (issue,))}

    def commit(
        self,
        issue: str,
        *,
        transport: str,
        run_id: int | None,
        outcomes: Iterable[Result] = (),
        claims: Iterable[Claim] = (),
    ) -> set[str]:
        """Apply outcomes, then claims, in one durable transaction; the keys this run now holds.

        A claim is a compare-and-set on the row's attempt count: it holds only when the row is
        still as the run read it, so a recipient claimed meanwhile by another process (even one
        that bypassed the send lock) is left to that process."""
        now = _now()
        outcome_rows = [
            (o.state.value, o.code, o.status, o.text, o.provider_id, now, issue, o.key) for o in outcomes
        ]
        claims = list(claims)
        claim_rows = [
            (issue, c.key, c.email, c.attempts + 1, c.message_id, c.verp, transport, run_id, now, now) for c in claims
        ]
        if not outcome_rows and not claim_rows:
            return set()
        db = self._db
        with self._storage("write"):
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "UPDATE sends SET state = ?, code = ?, status = ?, text = ?, "
                    "provider_id = coalesce(?, provider_id), updated_at = ? WHERE issue = ? AND key = ?",
                    outcome_rows,
                )
                db.executemany(
                    "INSERT INTO sends (issue, key, email, state, attempts, message_id, verp, transport, "
                    "run_id, claimed_at, updated_at) VALUES (?, ?, ?, 'claimed', ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (issue, key) DO UPDATE SET state = 'claimed', attempts = excluded.attempts, "
                    "email = excluded.email, message_id = excluded.message_id, verp = excluded.verp, "
                    "transport = excluded.transport, run_id = excluded.run_id, "
                    "updated_at = excluded.updated_at WHERE sends.attempts = excluded.attempts - 1",
                    claim_rows,
                )
                held = self._held(issue, run_id, claims)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return held

    def _held(self, issue: str, run_id: int | None, claims: Sequence[Claim]) -> set[str]:
        expected = {c.key: c.attempts + 1 for c in claims}
        held: set[str] = set()
        keys = list(expected)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, attempts in self._db.execute(
                f"SELECT key, attempts FROM sends WHERE issue = ? AND state = 'claimed' AND run_id IS ? "
                f"AND key IN ({marks})", (issue, run_id, *chunk),
            ):
                if attempts == expected[key]:
                    held.add(key)
        return held

    @contextmanager
    def _storage(self, doing: str) -> Iterator[None]:
        """SQLite's storage failures (disk full, read-only, locked, I/O) as one `StorageError`:
        the transaction is rolled back by SQLite, so the ledger stays as it was."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise StorageError(
                f"{self.path}: cannot {doing} the send ledger ({exc}); nothing was lost — free disk space or "
                "fix the file's permissions, then re-run the same command to resume."
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise StorageError(
                f"{self.path}: the send ledger failed ({exc}); re-run the same command once the cause is fixed."
            ) from exc

    def record_rejected(self, issue: str, email: str, key: str, reason: str, *, transport: str,
                        run_id: int | None) -> None:
        """A recipient refused before sending (unsafe data): `failed`, never claimed."""
        now = _now()
        with self._storage("write"):
            self._record_rejected(issue, email, key, reason, transport, run_id, now)

    def _record_rejected(self, issue: str, email: str, key: str, reason: str, transport: str,
                         run_id: int | None, now: str) -> None:
        self._db.execute(
            "INSERT INTO sends (issue, key, email, state, attempts, text, message_id, transport, "
            "run_id, claimed_at, updated_at) VALUES (?, ?, ?, 'failed', 0, ?, '', ?, ?, ?, ?) "
            "ON CONFLICT (issue, key) DO UPDATE SET state = 'failed', text = excluded.text, "
            "updated_at = excluded.updated_at",
            (issue, key, email, f"rejected before sending: {reason}", transport, run_id, now, now),
        )

    def settle(self, issue: str, decisions: Sequence[tuple[str, State, str]]) -> int:
        """Record how unknown recipients were settled: (key, accepted or deferred, evidence).
        Only rows still `claimed` change, so a decision never overwrites a later outcome."""
        now = _now()
        with self._storage("write"):
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                changed = 0
                for key, state, text in decisions:
                    changed += db.execute(
                        "UPDATE sends SET state = ?, text = ?, updated_at = ? "
                        "WHERE issue = ? AND key = ? AND state = 'claimed'", (state.value, text, now, issue, key),
                    ).rowcount
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return changed

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, issue: str, *, transport: str, allow_gaps: str | None, options: dict) -> int:
        with self._storage("write"):
            cursor = self._db.execute(
                "INSERT INTO runs (issue, transport, started_at, allow_gaps, options) VALUES (?, ?, ?, ?, ?)",
                (issue, transport, _now(), allow_gaps, json.dumps(options, ensure_ascii=False, sort_keys=True)),
            )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, *, summary: dict, exit_code: int) -> None:
        with self._storage("write"):
            self._db.execute(
                "UPDATE runs SET finished_at = ?, summary = ?, exit_code = ? WHERE id = ?",
                (_now(), json.dumps(summary, ensure_ascii=False, sort_keys=True), exit_code, run_id),
            )

    def runs(self, issue: str | None = None) -> list[dict]:
        query = "SELECT id, issue, transport, started_at, finished_at, allow_gaps, exit_code FROM runs"
        args: tuple = ()
        if issue is not None:
            query += " WHERE issue = ?"
            args = (issue,)
        names = ("id", "issue", "transport", "started_at", "finished_at", "allow_gaps", "exit_code")
        return [dict(zip(names, values)) for values in self._db.execute(query + " ORDER BY id", args)]

    # -- questions from status and bounces -----------------------------------------------------

    def counts(self, issue: str | None = None) -> list[Counts]:
        """Per issue: accepted, failed, deferred and unknown (still claimed), and how many of the
        accepted were only rehearsed (written to the outbox, not delivered)."""
        query = "SELECT issue, state, transport, count(*) FROM sends"
        args: tuple = ()
        if issue is not None:
            query += " WHERE issue = ?"
            args = (issue,)
        tally: dict[str, dict[str, int]] = {}
        with self._storage("read"):
            grouped = self._db.execute(query + " GROUP BY issue, state, transport", args).fetchall()
        for name, state, transport, number in grouped:
            states = tally.setdefault(name, {})
            states[state] = states.get(state, 0) + number
            if state == "accepted" and transport in REHEARSALS:
                states["rehearsed"] = states.get("rehearsed", 0) + number
        if issue is not None:
            tally.setdefault(issue, {})
        return [
            Counts(
                issue=name,
                accepted=states.get("accepted", 0),
                failed=states.get("failed", 0),
                deferred=states.get("deferred", 0),
                unknown=states.get("claimed", 0),
                rehearsed=states.get("rehearsed", 0),
            )
            for name, states in sorted(tally.items())
        ]

    def rows(self, issue: str, state: State | None = None) -> list[Row]:
        query = f"SELECT {_COLUMNS} FROM sends WHERE issue = ?"
        args: tuple = (issue,)
        if state is not None:
            query += " AND state = ?"
            args += (state.value,)
        return [_row(values) for values in self._db.execute(query + " ORDER BY claimed_at, key", args)]

    def _find(self, column: str, value: str) -> tuple[str, str] | None:
        found = self._db.execute(
            f"SELECT issue, email FROM sends WHERE {column} = ? LIMIT 1", (value,)
        ).fetchone()
        return (found[0], found[1]) if found else None

    def find_by_verp(self, token: str) -> tuple[str, str] | None:
        """(issue, email) the VERP token was issued for."""
        return self._find("verp", token.lower())

    def find_by_message_id(self, message_id: str) -> tuple[str, str] | None:
        """(issue, email) for a Message-ID, with or without angle brackets."""
        return self._find("message_id", message_id.strip().strip("<>"))

    def find_by_provider_id(self, provider_id: str) -> tuple[str, str] | None:
        return self._find("provider_id", provider_id)

    def history(self, email: str) -> list[Row]:
        """Every issue sent to this address, oldest first: the soft-bounce counter walks it to
        find "N distinct issues in a row with no success in between"."""
        return [
            _row(values)
            for values in self._db.execute(
                f"SELECT {_COLUMNS} FROM sends WHERE key = ? ORDER BY claimed_at, issue",
                (email.strip().lower(),),
            )
        ]
