"""The store on PostgreSQL, for several `webzine serve` instances behind one load balancer.

Same tables, columns and answers as the SQLite store (`store.py`); only the SQL dialect differs.
Writes are idempotent through unique keys and `INSERT … ON CONFLICT DO NOTHING`, so the same
unsubscribe arriving at two instances at once is recorded exactly once: the second insert waits
for the first transaction and then does nothing. Timestamps stay ISO 8601 text so both stores
order and report them identically.

The URL names user, host, port and database only; the password comes from the environment
(`[serve] store_password_env`, default WEBZINE_SERVE_DB_PASSWORD) or from libpq's own PGPASSWORD
/ ~/.pgpass, never from webzine.toml.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from webzine.bounces.events import BounceEvent
from webzine.config import Settings
from webzine.errors import ConfigError
from webzine.models import Suppression
from webzine.unsubscribes.store import (
    READER_STOP_KINDS,
    SUPPRESSING_KINDS,
    Rating,
    Unsubscribe,
    UnsubscribeRequest,
    suppressions_from_rows,
    utcnow,
)

SCHEMES = ("postgresql", "postgres")

SCHEMA = """
CREATE TABLE IF NOT EXISTS unsubscribes (
    address TEXT PRIMARY KEY,
    list_id TEXT NOT NULL,
    at TEXT NOT NULL,
    source TEXT NOT NULL,
    evidence TEXT NOT NULL,
    notice_status TEXT NOT NULL DEFAULT 'pending',
    notice_attempts INTEGER NOT NULL DEFAULT 0,
    notice_due TEXT NOT NULL DEFAULT '',
    notice_at TEXT NOT NULL DEFAULT '',
    notice_detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS unsubscribes_notice ON unsubscribes (notice_status, notice_due);
CREATE TABLE IF NOT EXISTS events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
CREATE TABLE IF NOT EXISTS feedback (
    issue TEXT NOT NULL,
    address TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (issue, address)
);
"""
# Instances starting together would race on CREATE TABLE IF NOT EXISTS (it is not atomic in
# PostgreSQL); one advisory lock makes them take turns.
SCHEMA_LOCK = 0x7765627A696E65  # "webzine"

UNSUBSCRIBE_COLUMNS = "address, list_id, at, source, evidence, notice_status, notice_attempts"


def is_postgres_url(target: str) -> bool:
    return target.split("://", 1)[0].lower() in SCHEMES if "://" in target else False


def check_url(target: str) -> str:
    """The URL as given, once it is known to name a database and to carry no password."""
    parts = urlsplit(target)
    if parts.password is not None:
        raise ConfigError(
            "webzine.toml [serve] store: the PostgreSQL URL contains a password; secrets never go in the file.",
            hint="remove ':password' from the URL and export WEBZINE_SERVE_DB_PASSWORD (or PGPASSWORD) instead.",
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise ConfigError(
            f"webzine.toml [serve] store: '{target}' does not name a host and a database.",
            hint='write it as store = "postgresql://user@host:5432/database".',
        )
    return target


def _where(target: str) -> str:
    parts = urlsplit(target)
    return f"{parts.hostname}:{parts.port or 5432}/{parts.path.strip('/')}"


class PostgresStore:
    """Same methods as `store.Store`. One connection for writes and one for reads, each behind
    its own lock (psycopg connections are not for concurrent use by several threads)."""

    def __init__(self, url: str, *, password: str | None = None) -> None:
        import psycopg  # optional dependency: `pip install 'webzine[postgres]'`

        self.url = check_url(url)
        self._psycopg = psycopg
        self._db = self._connect(password)
        self._reader = self._connect(password)
        # One snapshot per read, so `suppressions()` sees both tables at the same moment.
        self._reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            cur.execute(SCHEMA)

    @classmethod
    def from_settings(cls, settings: Settings) -> "PostgresStore":
        return cls(settings.serve.store, password=os.environ.get(settings.serve.store_password_env) or None)

    def _connect(self, password: str | None) -> Any:
        extra = {"password": password} if password else {}
        try:
            return self._psycopg.connect(self.url, connect_timeout=10, **extra)
        except self._psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"Cannot open the PostgreSQL store at {_where(self.url)}: {reason}",
                hint="check that the server runs and the user may connect; the password comes from"
                " WEBZINE_SERVE_DB_PASSWORD or PGPASSWORD.",
            ) from exc

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints by itself (kept so the writer treats both stores alike)."""

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock, self._db.transaction(), self._db.cursor() as cur:
            yield cur

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self._read_lock, self._reader.transaction(), self._reader.cursor() as cur:
            yield cur

    # -- unsubscribes ------------------------------------------------------------------------

    def record_unsubscribe(
        self, address: str, list_id: str, source: str, evidence: dict[str, str], *, notify: bool = True
    ) -> tuple[bool, str]:
        return self.record_unsubscribes([UnsubscribeRequest(address, list_id, source, evidence, notify)])[0]

    def record_unsubscribes(self, requests: Sequence[UnsubscribeRequest]) -> list[tuple[bool, str]]:
        """Several unsubscribes in one transaction and two round trips, whatever the batch size.

        Rows go in in address order, so two instances writing overlapping batches lock them in the
        same order and cannot deadlock. The same address twice in one batch is recorded once (the
        first request wins, as in SQLite); the second gets the first's time."""
        at = utcnow()
        first: dict[str, UnsubscribeRequest] = {}
        for request in requests:
            first.setdefault(request.address.lower(), request)
        addresses = sorted(first)
        columns: list[list[str]] = [[], [], [], []]
        for address in addresses:
            request = first[address]
            columns[0].append(request.list_id)
            columns[1].append(request.source)
            columns[2].append(json.dumps(request.evidence, ensure_ascii=False, sort_keys=True))
            columns[3].append("pending" if request.notify else "skipped")
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO unsubscribes (address, list_id, at, source, evidence, notice_status)"
                " SELECT a, l, %s, s, e, n FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
                " WITH ORDINALITY AS batch (a, l, s, e, n, i) ORDER BY i"
                " ON CONFLICT (address) DO NOTHING RETURNING address",
                (at, addresses, *columns),
            )
            new = {row[0] for row in cur.fetchall()}
            cur.execute("SELECT address, at FROM unsubscribes WHERE address = ANY(%s)", (addresses,))
            recorded = dict(cur.fetchall())
        results: list[tuple[bool, str]] = []
        for request in requests:
            address = request.address.lower()
            results.append((True, at) if address in new else (False, recorded[address]))
            new.discard(address)  # a repeat later in the batch is not "first time"
        return results

    def unsubscribed(self) -> set[str]:
        with self._read() as cur:
            cur.execute(
                "SELECT address FROM unsubscribes UNION SELECT address FROM events WHERE kind = ANY(%s)",
                (list(READER_STOP_KINDS),),
            )
            return {row[0] for row in cur.fetchall()}

    def get_unsubscribe(self, address: str) -> Unsubscribe | None:
        with self._read() as cur:
            cur.execute(f"SELECT {UNSUBSCRIBE_COLUMNS} FROM unsubscribes WHERE address = %s", (address.lower(),))
            row = cur.fetchone()
        if row is None:
            return None
        return Unsubscribe(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])

    def count_unsubscribes(self) -> int:
        with self._read() as cur:
            cur.execute("SELECT count(*) FROM unsubscribes")
            return int(cur.fetchone()[0])

    # -- notices ---------------------------------------------------------------------------------

    def due_notices(self, now: str, limit: int = 50) -> list[Unsubscribe]:
        with self._read() as cur:
            cur.execute(
                f"SELECT {UNSUBSCRIBE_COLUMNS} FROM unsubscribes WHERE notice_status = 'pending'"
                " AND notice_due <= %s ORDER BY at LIMIT %s",
                (now, limit),
            )
            rows = cur.fetchall()
        return [Unsubscribe(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]

    def mark_notice(self, address: str, status: str, detail: str = "", *, retry_at: str = "") -> None:
        with self._transaction() as cur:
            cur.execute(
                "UPDATE unsubscribes SET notice_status = %s, notice_detail = %s, notice_due = %s,"
                " notice_attempts = notice_attempts + 1, notice_at = %s WHERE address = %s",
                (status, detail[:500], retry_at, utcnow(), address.lower()),
            )

    # -- provider events ------------------------------------------------------------------------

    def record_events(self, events: Iterable[BounceEvent]) -> int:
        received = utcnow()
        rows = sorted(
            (
                event.provider,
                event.dedupe_key,
                event.key,
                event.kind.value,
                event.occurred_at.isoformat() if event.occurred_at else received,
                received,
                event.to_json(),
            )
            for event in events
        )
        if not rows:
            return 0
        with self._transaction() as cur:
            # One pipelined round trip for the whole batch; rowcount sums the rows inserted.
            cur.executemany(
                "INSERT INTO events (provider, event_id, address, kind, at, received_at, event)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (provider, event_id) DO NOTHING",
                rows,
            )
            return max(cur.rowcount, 0)

    def events(self) -> list[BounceEvent]:
        with self._read() as cur:
            cur.execute("SELECT event FROM events ORDER BY at, provider, event_id")
            return [BounceEvent.from_json(row[0]) for row in cur.fetchall()]

    # -- feedback ------------------------------------------------------------------------------------

    def record_rating(self, issue: str, address: str, score: int, comment: str) -> None:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO feedback (issue, address, score, comment, at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (issue, address) DO UPDATE SET score = excluded.score, at = excluded.at,"
                " comment = CASE WHEN excluded.comment = '' THEN feedback.comment ELSE excluded.comment END",
                (issue, address.lower(), score, comment, utcnow()),
            )

    def ratings(self, issue: str) -> list[Rating]:
        with self._read() as cur:
            cur.execute(
                "SELECT issue, address, score, comment, at FROM feedback WHERE issue = %s ORDER BY at", (issue,)
            )
            return [Rating(*row) for row in cur.fetchall()]

    # -- read side for other commands ---------------------------------------------------------------

    def suppressions(self) -> list[Suppression]:
        """As `Store.suppressions`: the earliest event per address and kind (DISTINCT ON is
        PostgreSQL's spelling of SQLite's bare columns beside min())."""
        with self._read() as cur:
            cur.execute("SELECT address, at, source FROM unsubscribes ORDER BY at")
            own = cur.fetchall()
            cur.execute(
                "SELECT * FROM (SELECT DISTINCT ON (address, kind) address, kind, at, provider,"
                " event::jsonb ->> 'reason' FROM events WHERE kind = ANY(%s)"
                " ORDER BY address, kind, at) AS earliest ORDER BY at",
                (list(SUPPRESSING_KINDS),),
            )
            events = cur.fetchall()
        return suppressions_from_rows(own, events)
