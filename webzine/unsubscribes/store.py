"""What the web service records: unsubscribes, provider events and reader feedback.

SQLite in WAL mode by default, so `webzine send` and `webzine suppressions pull` can read while the
server writes. Every unsubscribe is kept with its time, source and evidence (the request that made
it) because the sender may have to show when and how a reader asked to stop. Writes are idempotent:
the address is the primary key of `unsubscribes`, a provider event's id is unique per provider, and
one reader has one rating per issue (the latest wins).

Several instances share one PostgreSQL database instead (`serve.store = "postgresql://…"`, see
`pgstore.py`); `open_store` picks the backend, and both answer the `StoreBackend` protocol. Any
other URL is refused rather than silently falling back to a local file other instances would not see.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from webzine.bounces.events import BounceEvent, Kind
from webzine.config import Settings
from webzine.errors import ConfigError
from webzine.models import Suppression, SuppressionReason

SCHEMA = """
CREATE TABLE IF NOT EXISTS unsubscribes (
    address TEXT PRIMARY KEY,          -- lowercased
    list_id TEXT NOT NULL,
    at TEXT NOT NULL,                  -- ISO 8601, UTC
    source TEXT NOT NULL,              -- one-click | web-page | sendgrid | mailgun | ...
    evidence TEXT NOT NULL,            -- JSON: client address, user agent, content type
    notice_status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | failed | skipped
    notice_attempts INTEGER NOT NULL DEFAULT 0,
    notice_due TEXT NOT NULL DEFAULT '',
    notice_at TEXT NOT NULL DEFAULT '',
    notice_detail TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS unsubscribes_notice ON unsubscribes (notice_status, notice_due);
CREATE TABLE IF NOT EXISTS events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,            -- the event's dedupe key (provider event id)
    address TEXT NOT NULL,             -- lowercased
    kind TEXT NOT NULL,                -- webzine.bounces.events.Kind: hard | soft | complaint | unsubscribe ...
    at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    event TEXT NOT NULL,               -- the whole BounceEvent as JSON, evidence included
    PRIMARY KEY (provider, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feedback (
    issue TEXT NOT NULL,
    address TEXT NOT NULL,             -- lowercased
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (issue, address)
) WITHOUT ROWID;
"""

# Event kinds that mean "stop sending to this address", mapped to the suppression reason.
SUPPRESSING_KINDS = {
    Kind.HARD.value: SuppressionReason.HARD_BOUNCE,
    Kind.COMPLAINT.value: SuppressionReason.COMPLAINT,
    Kind.UNSUBSCRIBE.value: SuppressionReason.UNSUBSCRIBED,
}
# Kinds by which the reader asked to stop (a spam report is the bluntest way of asking).
READER_STOP_KINDS = (Kind.UNSUBSCRIBE.value, Kind.COMPLAINT.value)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    address: str
    list_id: str
    source: str  # one-click | web-page
    evidence: dict[str, str]
    notify: bool = True  # queue the 수신거부 notice for this address


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    address: str
    list_id: str
    at: str
    source: str
    evidence: dict[str, str]
    notice_status: str = "pending"
    notice_attempts: int = 0


@dataclass(frozen=True, slots=True)
class Rating:
    issue: str
    address: str
    score: int
    comment: str
    at: str


def is_postgres(settings: Settings) -> bool:
    from webzine.unsubscribes.pgstore import is_postgres_url

    return is_postgres_url(settings.serve.store)


def sqlite_path(settings: Settings) -> Path:
    """The store's file; a URL is refused (callers check `is_postgres` first)."""
    target = settings.serve.store
    if "://" in target:
        scheme = target.split("://", 1)[0]
        raise ConfigError(
            f"webzine.toml [serve] store: '{scheme}://' URLs are not supported; use a SQLite file or postgresql://.",
            hint='write store = "state/serve.sqlite3" for one instance or "postgresql://user@host:5432/db" for several.',
        )
    return settings.path(target)


class StoreBackend(Protocol):
    """What the server and the other commands use of a store; `Store` (SQLite) and
    `pgstore.PostgresStore` both provide it."""

    def close(self) -> None: ...
    def checkpoint(self) -> None: ...
    def record_unsubscribe(
        self, address: str, list_id: str, source: str, evidence: dict[str, str], *, notify: bool = True
    ) -> tuple[bool, str]: ...
    def record_unsubscribes(self, requests: Sequence[UnsubscribeRequest]) -> list[tuple[bool, str]]: ...
    def unsubscribed(self) -> set[str]: ...
    def get_unsubscribe(self, address: str) -> "Unsubscribe | None": ...
    def count_unsubscribes(self) -> int: ...
    def due_notices(self, now: str, limit: int = 50) -> "list[Unsubscribe]": ...
    def mark_notice(self, address: str, status: str, detail: str = "", *, retry_at: str = "") -> None: ...
    def record_events(self, events: Iterable[BounceEvent]) -> int: ...
    def events(self) -> list[BounceEvent]: ...
    def record_rating(self, issue: str, address: str, score: int, comment: str) -> None: ...
    def ratings(self, issue: str) -> "list[Rating]": ...
    def suppressions(self) -> list[Suppression]: ...


def open_store(settings: Settings) -> StoreBackend:
    """The configured store, created if missing: PostgreSQL for a postgresql:// URL, else SQLite."""
    if is_postgres(settings):
        from webzine.unsubscribes.pgstore import PostgresStore

        return PostgresStore.from_settings(settings)
    return Store.from_settings(settings)


class Store:
    """SQLite, safe to share between threads: one connection for writes, one for reads, each
    serialised by its own lock.

    Each write is one short transaction. synchronous=FULL, as in the ledger: a reader whose
    unsubscribe was answered 200 must stay unsubscribed after a power loss, not only after a crash
    of this process (NORMAL may lose the last commits then). The price is one WAL fsync per
    commit; the unsubscribe writer (writer.py) commits every waiting request in one transaction,
    so under load the fsync is shared by the whole batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        # No checkpoint inside a commit: its fsync would hold up every request waiting on that
        # commit. The server calls `checkpoint()` beside the writes instead (see writer.py); other
        # processes checkpoint when they close.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.executescript(SCHEMA)
        # Reads get their own connection: in WAL mode they never wait for a writer, so a page
        # view is not held up by a commit that is waiting for the disk.
        self._reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._read_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "Store":
        return cls(sqlite_path(settings))

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database without blocking writers
        (a PASSIVE checkpoint on a connection of its own)."""
        with closing(sqlite3.connect(self.path, isolation_level=None, timeout=10)) as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- unsubscribes ------------------------------------------------------------------------

    def record_unsubscribe(
        self, address: str, list_id: str, source: str, evidence: dict[str, str], *, notify: bool = True
    ) -> tuple[bool, str]:
        """Record that `address` asked to stop. Returns (first time?, when it was recorded): a
        repeat changes nothing and reports the original time."""
        return self.record_unsubscribes([UnsubscribeRequest(address, list_id, source, evidence, notify)])[0]

    def record_unsubscribes(self, requests: Sequence[UnsubscribeRequest]) -> list[tuple[bool, str]]:
        """Several unsubscribes in one transaction (group commit: one WAL write for all of them).

        The same address twice in one batch is recorded once; the second gets the first's time."""
        at = utcnow()
        results: list[tuple[bool, str]] = []
        with self._transaction() as db:
            for request in requests:
                address = request.address.lower()
                cursor = db.execute(
                    "INSERT OR IGNORE INTO unsubscribes (address, list_id, at, source, evidence, notice_status)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        address,
                        request.list_id,
                        at,
                        request.source,
                        json.dumps(request.evidence, ensure_ascii=False, sort_keys=True),
                        "pending" if request.notify else "skipped",
                    ),
                )
                if cursor.rowcount == 1:
                    results.append((True, at))
                else:
                    row = db.execute("SELECT at FROM unsubscribes WHERE address = ?", (address,)).fetchone()
                    results.append((False, row[0]))
        return results

    def unsubscribed(self) -> set[str]:
        """Every address that asked to stop: our own unsubscribes plus provider unsubscribes
        and complaints (a spam report is the bluntest way of asking)."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT address FROM unsubscribes UNION SELECT address FROM events WHERE kind IN (?, ?)",
                READER_STOP_KINDS,
            ).fetchall()
        return {row[0] for row in rows}

    def get_unsubscribe(self, address: str) -> Unsubscribe | None:
        with self._read_lock:
            row = self._reader.execute(
                "SELECT address, list_id, at, source, evidence, notice_status, notice_attempts"
                " FROM unsubscribes WHERE address = ?",
                (address.lower(),),
            ).fetchone()
        if row is None:
            return None
        return Unsubscribe(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])

    def count_unsubscribes(self) -> int:
        with self._read_lock:
            return self._reader.execute("SELECT count(*) FROM unsubscribes").fetchone()[0]

    # -- notices (수신거부 처리결과 통지) --------------------------------------------------------

    def due_notices(self, now: str, limit: int = 50) -> list[Unsubscribe]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT address, list_id, at, source, evidence, notice_status, notice_attempts"
                " FROM unsubscribes WHERE notice_status = 'pending' AND notice_due <= ?"
                " ORDER BY at LIMIT ?",
                (now, limit),
            ).fetchall()
        return [Unsubscribe(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]

    def mark_notice(self, address: str, status: str, detail: str = "", *, retry_at: str = "") -> None:
        """`sent`/`failed` are final; `pending` with `retry_at` schedules another attempt."""
        with self._transaction() as db:
            db.execute(
                "UPDATE unsubscribes SET notice_status = ?, notice_detail = ?, notice_due = ?,"
                " notice_attempts = notice_attempts + 1, notice_at = ? WHERE address = ?",
                (status, detail[:500], retry_at, utcnow(), address.lower()),
            )

    # -- provider events ------------------------------------------------------------------------

    def record_events(self, events: Iterable[BounceEvent]) -> int:
        """Store provider events, ignoring ones already stored (providers retry deliveries and
        SNS may deliver twice); returns how many were new."""
        received = utcnow()
        with self._transaction() as db:
            new = 0
            for event in events:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO events (provider, event_id, address, kind, at, received_at, event)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        event.provider,
                        event.dedupe_key,
                        event.key,
                        event.kind.value,
                        event.occurred_at.isoformat() if event.occurred_at else received,
                        received,
                        event.to_json(),
                    ),
                )
                new += cursor.rowcount
            return new

    def events(self) -> list[BounceEvent]:
        """Every stored provider event, oldest first."""
        with self._read_lock:
            rows = self._reader.execute("SELECT event FROM events ORDER BY at, provider, event_id").fetchall()
        return [BounceEvent.from_json(row[0]) for row in rows]

    # -- feedback ------------------------------------------------------------------------------------

    def record_rating(self, issue: str, address: str, score: int, comment: str) -> None:
        """One rating per reader and issue: a second answer replaces the first; an empty comment
        keeps an earlier one (the one-click score link must not wipe what was written)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO feedback (issue, address, score, comment, at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (issue, address) DO UPDATE SET score = excluded.score, at = excluded.at,"
                " comment = CASE WHEN excluded.comment = '' THEN feedback.comment ELSE excluded.comment END",
                (issue, address.lower(), score, comment, utcnow()),
            )

    def ratings(self, issue: str) -> list[Rating]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT issue, address, score, comment, at FROM feedback WHERE issue = ? ORDER BY at",
                (issue,),
            ).fetchall()
        return [Rating(*row) for row in rows]

    # -- read side for other commands ---------------------------------------------------------------

    def suppressions(self) -> list[Suppression]:
        """Unsubscribes and suppressing provider events as suppression rows, one per address and
        reason, earliest first (soft bounces are left to the bounce policy, which counts them)."""
        kinds = tuple(SUPPRESSING_KINDS)
        with self._read_lock:
            self._reader.execute("BEGIN")  # one snapshot for both queries
            try:
                own = self._reader.execute("SELECT address, at, source FROM unsubscribes ORDER BY at").fetchall()
                events = self._reader.execute(
                    f"SELECT address, kind, min(at), provider, json_extract(event, '$.reason') FROM events"
                    f" WHERE kind IN ({','.join('?' * len(kinds))}) GROUP BY address, kind ORDER BY min(at)",
                    kinds,
                ).fetchall()
            finally:
                self._reader.execute("COMMIT")
        return suppressions_from_rows(own, events)


def suppressions_from_rows(
    own: Iterable[Sequence[str]], events: Iterable[Sequence[str | None]]
) -> list[Suppression]:
    """Suppression rows from (address, at, source) unsubscribes and (address, kind, earliest at,
    provider, reason) events, both oldest first; one row per address and reason, the earliest wins."""
    rows: dict[tuple[str, SuppressionReason], Suppression] = {}
    for address, at, source in own:
        reason = SuppressionReason.UNSUBSCRIBED
        rows[(address, reason)] = Suppression(address, reason, _day(at), f"serve:{source}", "")
    for address, kind, at, provider, detail in events:
        reason = SUPPRESSING_KINDS[str(kind)]
        key = str(address)
        rows.setdefault((key, reason), Suppression(key, reason, _day(str(at)), f"webhook:{provider}", detail or ""))
    return list(rows.values())


def _day(timestamp: str) -> date | None:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def open_existing(settings: Settings) -> StoreBackend | None:
    """The store for reading, or None when a SQLite store was never created (nothing served yet).
    A PostgreSQL store is always opened: the database is the shared truth."""
    if is_postgres(settings):
        return open_store(settings)
    path = sqlite_path(settings)
    return Store(path) if path.exists() else None


def load_unsubscribed(settings: Settings) -> set[str]:
    """Lowercased addresses that asked to stop (for `webzine send`); empty when nothing was served."""
    store = open_existing(settings)
    if store is None:
        return set()
    try:
        return store.unsubscribed()
    finally:
        store.close()


def store_suppressions(settings: Settings) -> list[Suppression]:
    """The store as suppression rows (for `webzine suppressions pull`)."""
    store = open_existing(settings)
    if store is None:
        return []
    try:
        return store.suppressions()
    finally:
        store.close()


def store_events(settings: Settings) -> list[BounceEvent]:
    """Provider events received by webhook, in the bounces vocabulary (for the bounce policy,
    which counts soft bounces across issues)."""
    store = open_existing(settings)
    if store is None:
        return []
    try:
        return store.events()
    finally:
        store.close()
