"""What the web service records: unsubscribes, provider events and reader feedback.

SQLite in WAL mode by default, so `webzine send` and `webzine suppressions pull` can read while the
server writes. Every unsubscribe is kept with its time, source and evidence (the request that made
it) because the sender may have to show when and how a reader asked to stop. Writes are idempotent:
the address is the primary key of `unsubscribes`, a provider event's id is unique per provider, and
one reader has one rating per issue (the latest wins).

Several instances share one PostgreSQL database instead (`serve.store = "postgresql://…"`): the
same `Store`, tables and queries over the other dialect (`dialects.py`). Any other URL is refused
rather than silently falling back to a local file other instances would not see.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from webzine.bounces.events import BounceEvent, Kind
from webzine.bounces.policy import SUPPRESSION_REASONS
from webzine.config import Settings
from webzine.errors import ConfigError
from webzine.i18n import _
from webzine.models import Suppression, SuppressionReason
from webzine.unsubscribes.dialects import Dialect, PostgreSQL, SQLite, is_postgres_url

# `{table_options}`: what the dialect adds to every table (SQLite: WITHOUT ROWID).
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
){table_options};
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
){table_options};
CREATE TABLE IF NOT EXISTS feedback (
    issue TEXT NOT NULL,
    address TEXT NOT NULL,             -- lowercased
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (issue, address)
){table_options};
"""

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
    return is_postgres_url(settings.serve.store)


def sqlite_path(settings: Settings) -> Path:
    """The store's file; a URL is refused (callers check `is_postgres` first)."""
    target = settings.serve.store
    if "://" in target:
        scheme = target.split("://", 1)[0]
        raise ConfigError(
            _("webzine.toml [serve] store: '{scheme}://' URLs are not supported; use a SQLite file or postgresql://.").format(
                scheme=scheme),
            hint=_('write store = "state/serve.sqlite3" for one instance or "postgresql://user@host:5432/db" for several.'),
        )
    return settings.path(target)


def open_store(settings: Settings) -> "Store":
    """The configured store, created if missing: PostgreSQL for a postgresql:// URL, else SQLite."""
    return Store.from_settings(settings)


T = TypeVar("T")
UNSUBSCRIBE_COLUMNS = "address, list_id, at, source, evidence, notice_status, notice_attempts"
_CHUNK = 500  # values per IN (…): below SQLite's oldest limit on bound parameters


class Store:
    """The store on SQLite (a file path) or PostgreSQL (a postgresql:// URL), safe to share
    between threads: one connection for writes and one for reads, each behind its own lock.

    Each write is one short transaction. Writes are idempotent through unique keys and
    `INSERT … ON CONFLICT DO NOTHING`, so on PostgreSQL the same unsubscribe arriving at two
    instances at once is recorded exactly once: the second insert waits for the first transaction
    and then does nothing. Timestamps are ISO 8601 text, so both databases order and report them
    identically."""

    def __init__(self, location: Path | str, *, password: str | None = None) -> None:
        self.dialect: Dialect = (
            PostgreSQL(str(location), password) if is_postgres_url(str(location)) else SQLite(Path(location))
        )
        self.path = location
        self._db, self._reader = self.dialect.open(SCHEMA.format(table_options=self.dialect.table_options))
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "Store":
        if is_postgres(settings):
            password = os.environ.get(settings.serve.store_password_env) or None
            return cls(settings.serve.store, password=password)
        return cls(sqlite_path(settings))

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()

    def checkpoint(self) -> None:
        """Fold the SQLite WAL into the database (PostgreSQL does this by itself)."""
        self.dialect.checkpoint()

    @contextmanager
    def _write(self) -> Iterator[Any]:
        with self._lock, self.dialect.transaction(self._db, write=True) as cursor:
            yield cursor

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self._read_lock, self.dialect.transaction(self._reader, write=False) as cursor:
            yield cursor

    def _sql(self, text: str) -> str:
        return self.dialect.sql(text)

    # -- unsubscribes ------------------------------------------------------------------------

    def record_unsubscribe(
        self, address: str, list_id: str, source: str, evidence: dict[str, str], *, notify: bool = True
    ) -> tuple[bool, str]:
        """Record that `address` asked to stop. Returns (first time?, when it was recorded): a
        repeat changes nothing and reports the original time."""
        return self.record_unsubscribes([UnsubscribeRequest(address, list_id, source, evidence, notify)])[0]

    def record_unsubscribes(self, requests: Sequence[UnsubscribeRequest]) -> list[tuple[bool, str]]:
        """Several unsubscribes in one transaction (group commit: one WAL write for all of them).

        Rows go in in address order, so two instances writing overlapping batches lock them in the
        same order and cannot deadlock. The same address twice in one batch is recorded once (the
        first request wins); the second gets the first's time."""
        at = utcnow()
        first: dict[str, UnsubscribeRequest] = {}
        for request in requests:
            first.setdefault(request.address.lower(), request)
        rows = [
            (address, request.list_id, at, request.source,
             json.dumps(request.evidence, ensure_ascii=False, sort_keys=True),
             "pending" if request.notify else "skipped")
            for address, request in sorted(first.items())
        ]
        insert = self._sql(
            "INSERT INTO unsubscribes (address, list_id, at, source, evidence, notice_status)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (address) DO NOTHING"
        )
        with self._write() as cursor:
            new = {row[0] for row, fresh in zip(rows, self.dialect.inserted(cursor, insert, rows), strict=True) if fresh}
            recorded = dict.fromkeys(new, at)
            for chunk in _chunks([row[0] for row in rows if row[0] not in new]):
                marks = ",".join("?" * len(chunk))
                cursor.execute(self._sql(f"SELECT address, at FROM unsubscribes WHERE address IN ({marks})"), chunk)
                recorded.update(cursor.fetchall())
        results: list[tuple[bool, str]] = []
        for request in requests:
            address = request.address.lower()
            results.append((address in new, recorded[address]))
            new.discard(address)  # a repeat later in the batch is not "first time"
        return results

    def unsubscribed(self) -> set[str]:
        """Every address that asked to stop: our own unsubscribes plus provider unsubscribes
        and complaints (a spam report is the bluntest way of asking)."""
        with self._read() as cursor:
            cursor.execute(
                self._sql("SELECT address FROM unsubscribes UNION SELECT address FROM events WHERE kind IN (?, ?)"),
                READER_STOP_KINDS,
            )
            return {row[0] for row in cursor.fetchall()}

    def get_unsubscribe(self, address: str) -> Unsubscribe | None:
        with self._read() as cursor:
            cursor.execute(
                self._sql(f"SELECT {UNSUBSCRIBE_COLUMNS} FROM unsubscribes WHERE address = ?"), (address.lower(),)
            )
            row = cursor.fetchone()
        return None if row is None else _unsubscribe(row)

    def count_unsubscribes(self) -> int:
        with self._read() as cursor:
            cursor.execute("SELECT count(*) FROM unsubscribes")
            return int(cursor.fetchone()[0])

    # -- notices (수신거부 처리결과 통지) --------------------------------------------------------

    def due_notices(self, now: str, limit: int = 50) -> list[Unsubscribe]:
        with self._read() as cursor:
            cursor.execute(
                self._sql(f"SELECT {UNSUBSCRIBE_COLUMNS} FROM unsubscribes WHERE notice_status = 'pending'"
                          " AND notice_due <= ? ORDER BY at LIMIT ?"),
                (now, limit),
            )
            rows = cursor.fetchall()
        return [_unsubscribe(row) for row in rows]

    def mark_notice(self, address: str, status: str, detail: str = "", *, retry_at: str = "") -> None:
        """`sent`/`failed` are final; `pending` with `retry_at` schedules another attempt."""
        with self._write() as cursor:
            cursor.execute(
                self._sql("UPDATE unsubscribes SET notice_status = ?, notice_detail = ?, notice_due = ?,"
                          " notice_attempts = notice_attempts + 1, notice_at = ? WHERE address = ?"),
                (status, detail[:500], retry_at, utcnow(), address.lower()),
            )

    # -- provider events ------------------------------------------------------------------------

    def record_events(self, events: Iterable[BounceEvent]) -> int:
        """Store provider events, ignoring ones already stored (providers retry deliveries and
        SNS may deliver twice); returns how many were new. Rows go in in key order (no deadlock
        between instances), in one batch."""
        received = utcnow()
        rows = sorted(
            (event.provider, event.dedupe_key, event.key, event.kind.value,
             event.occurred_at.isoformat() if event.occurred_at else received, received, event.to_json())
            for event in events
        )
        if not rows:
            return 0
        with self._write() as cursor:
            cursor.executemany(
                self._sql("INSERT INTO events (provider, event_id, address, kind, at, received_at, event)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING"),
                rows,
            )
            return max(cursor.rowcount, 0)  # the rows inserted, summed over the batch

    def events(self) -> list[BounceEvent]:
        """Every stored provider event, oldest first."""
        with self._read() as cursor:
            cursor.execute("SELECT event FROM events ORDER BY at, provider, event_id")
            return [BounceEvent.from_json(row[0]) for row in cursor.fetchall()]

    # -- feedback ------------------------------------------------------------------------------------

    def record_rating(self, issue: str, address: str, score: int, comment: str) -> None:
        """One rating per reader and issue: a second answer replaces the first; an empty comment
        keeps an earlier one (the one-click score link must not wipe what was written)."""
        with self._write() as cursor:
            cursor.execute(
                self._sql("INSERT INTO feedback (issue, address, score, comment, at) VALUES (?, ?, ?, ?, ?)"
                          " ON CONFLICT (issue, address) DO UPDATE SET score = excluded.score, at = excluded.at,"
                          " comment = CASE WHEN excluded.comment = '' THEN feedback.comment ELSE excluded.comment END"),
                (issue, address.lower(), score, comment, utcnow()),
            )

    def ratings(self, issue: str) -> list[Rating]:
        with self._read() as cursor:
            cursor.execute(
                self._sql("SELECT issue, address, score, comment, at FROM feedback WHERE issue = ? ORDER BY at"),
                (issue,),
            )
            return [Rating(*row) for row in cursor.fetchall()]

    # -- read side for other commands ---------------------------------------------------------------

    def suppressions(self) -> list[Suppression]:
        """Unsubscribes and suppressing provider events as suppression rows, one per address and
        reason, earliest first (soft bounces are left to the bounce policy, which counts them).
        One snapshot for both tables."""
        kinds = tuple(kind.value for kind in SUPPRESSION_REASONS)
        with self._read() as cursor:
            cursor.execute("SELECT address, at, source FROM unsubscribes ORDER BY at")
            own = cursor.fetchall()
            cursor.execute(
                self._sql("SELECT address, kind, at, provider, event FROM (SELECT address, kind, at, provider, event,"
                          " row_number() OVER (PARTITION BY address, kind ORDER BY at, provider, event_id) AS nth"
                          f" FROM events WHERE kind IN ({','.join('?' * len(kinds))})) AS ranked"
                          " WHERE nth = 1 ORDER BY at, address, kind"),
                kinds,
            )
            events = [(address, kind, at, provider, json.loads(event).get("reason"))
                      for address, kind, at, provider, event in cursor.fetchall()]
        return suppressions_from_rows(own, events)


def _unsubscribe(row: Sequence[Any]) -> Unsubscribe:
    return Unsubscribe(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
        reason = SUPPRESSION_REASONS[Kind(kind)]
        key = str(address)
        rows.setdefault((key, reason), Suppression(key, reason, _day(str(at)), f"webhook:{provider}", detail or ""))
    return list(rows.values())


def _day(timestamp: str) -> date | None:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def open_existing(settings: Settings) -> Store | None:
    """The store for reading, or None when a SQLite store was never created (nothing served yet).
    A PostgreSQL store is always opened: the database is the shared truth."""
    if is_postgres(settings):
        return open_store(settings)
    path = sqlite_path(settings)
    return Store(path) if path.exists() else None


def _read_existing(settings: Settings, read: Callable[[Store], T], nothing: T) -> T:
    """One answer from the store, or `nothing` when nothing was served yet."""
    store = open_existing(settings)
    if store is None:
        return nothing
    try:
        return read(store)
    finally:
        store.close()


def load_unsubscribed(settings: Settings) -> set[str]:
    """Lowercased addresses that asked to stop (for `webzine send`); empty when nothing was served."""
    return _read_existing(settings, Store.unsubscribed, set())


def store_suppressions(settings: Settings) -> list[Suppression]:
    """The store as suppression rows (for `webzine suppressions pull`)."""
    return _read_existing(settings, Store.suppressions, [])


def store_events(settings: Settings) -> list[BounceEvent]:
    """Provider events received by webhook, in the bounces vocabulary (for the bounce policy,
    which counts soft bounces across issues)."""
    return _read_existing(settings, Store.events, [])
