"""The two databases the store runs on, reduced to what differs between them: how to connect and
create the tables, how a transaction begins, how a parameter is written, how a batch of inserts
reports which rows were new, and whether the WAL needs a checkpoint.

Tables, queries and answers are the store's own (`store.py`), written once with `?` parameters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from webzine.errors import ConfigError
from webzine.i18n import _

SCHEMES = ("postgresql", "postgres")
# Instances starting together would race on CREATE TABLE IF NOT EXISTS (it is not atomic in
# PostgreSQL); one advisory lock makes them take turns.
SCHEMA_LOCK = 0x7765627A696E65  # "webzine"


def is_postgres_url(target: str) -> bool:
    return target.split("://", 1)[0].lower() in SCHEMES if "://" in target else False


class SQLite:
    """A file on this machine in WAL mode: two connections (writes, reads), each used under the
    store's lock for it.

    synchronous=FULL, as in the ledger: a reader whose unsubscribe was answered 200 must stay
    unsubscribed after a power loss, not only after a crash of this process (NORMAL may lose the
    last commits then). The price is one WAL fsync per commit, shared by every request the
    unsubscribe writer (writer.py) commits together."""

    over_network = False
    table_options = " WITHOUT ROWID"

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self, schema: str) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA synchronous=FULL")
        # No checkpoint inside a commit: its fsync would hold up every request waiting on that
        # commit. The server calls `checkpoint()` beside the writes instead (see writer.py); other
        # processes checkpoint when they close.
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.executescript(schema)
        # Reads get their own connection: in WAL mode they never wait for a writer, so a page
        # view is not held up by a commit that is waiting for the disk.
        reader = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        return writer, reader

    @staticmethod
    def sql(text: str) -> str:
        return text

    @staticmethod
    @contextmanager
    def transaction(db: sqlite3.Connection, *, write: bool) -> Iterator[sqlite3.Cursor]:
        """A write takes the write lock at once (IMMEDIATE); a read is one snapshot."""
        cursor = db.cursor()
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @staticmethod
    def inserted(cursor: sqlite3.Cursor, statement: str, rows: Sequence[tuple]) -> list[bool]:
        """Whether each `INSERT … DO NOTHING` inserted its row (one cheap statement per row)."""
        return [cursor.execute(statement, row).rowcount == 1 for row in rows]

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database without blocking writers
        (a PASSIVE checkpoint on a connection of its own)."""
        with closing(sqlite3.connect(self.path, isolation_level=None, timeout=10)) as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")


class PostgreSQL:
    """A server shared by several `webzine serve` instances.

    The URL names user, host, port and database only; the password comes from the environment
    (`[serve] store_password_env`, default WEBZINE_SERVE_DB_PASSWORD) or from libpq's own
    PGPASSWORD / ~/.pgpass, never from webzine.toml."""

    over_network = True
    table_options = ""

    def __init__(self, url: str, password: str | None = None) -> None:
        self.url = check_url(url)
        self._password = password

    def open(self, schema: str) -> tuple[Any, Any]:
        import psycopg  # optional dependency: `pip install 'webzine[postgres]'`

        writer, reader = self._connect(psycopg), self._connect(psycopg)
        # One snapshot per read, so `suppressions()` sees both tables at the same moment.
        reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with writer.transaction(), writer.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            cursor.execute(schema)
        return writer, reader

    def _connect(self, psycopg: Any) -> Any:
        extra = {"password": self._password} if self._password else {}
        try:
            return psycopg.connect(self.url, connect_timeout=10, **extra)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                _("Cannot open the PostgreSQL store at {place}: {reason}").format(place=where(self.url), reason=reason),
                hint=_("check that the server runs and the user may connect; the password comes from"
                       " WEBZINE_SERVE_DB_PASSWORD or PGPASSWORD."),
            ) from exc

    @staticmethod
    def sql(text: str) -> str:
        return _percent_parameters(text)

    @staticmethod
    @contextmanager
    def transaction(db: Any, *, write: bool) -> Iterator[Any]:
        with db.transaction(), db.cursor() as cursor:
            yield cursor

    @staticmethod
    def inserted(cursor: Any, statement: str, rows: Sequence[tuple]) -> list[bool]:
        """Whether each `INSERT … DO NOTHING RETURNING …` inserted its row, the whole batch
        pipelined in one round trip."""
        if not rows:
            return []
        cursor.executemany(statement + " RETURNING 1", rows, returning=True)
        found = []
        while True:
            found.append(cursor.fetchone() is not None)
            if not cursor.nextset():
                return found

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints by itself."""


Dialect = SQLite | PostgreSQL


@cache
def _percent_parameters(text: str) -> str:
    return text.replace("?", "%s")


def check_url(target: str) -> str:
    """The URL as given, once it is known to name a database and to carry no password."""
    parts = urlsplit(target)
    if parts.password is not None:
        raise ConfigError(
            _("webzine.toml [serve] store: the PostgreSQL URL contains a password; secrets never go in the file."),
            hint=_("remove ':password' from the URL and export WEBZINE_SERVE_DB_PASSWORD (or PGPASSWORD) instead."),
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise ConfigError(
            _("webzine.toml [serve] store: '{target}' does not name a host and a database.").format(target=target),
            hint=_('write it as store = "postgresql://user@host:5432/database".'),
        )
    return target


def where(url: str) -> str:
    """host:port/database of a URL, for messages (never the user or a password)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}/{parts.path.strip('/')}"
