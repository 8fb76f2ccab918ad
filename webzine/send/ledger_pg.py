"""The send ledger in PostgreSQL (`[send] ledger = "postgresql://…"`): several `webzine send`
processes — on one machine or on several CI runners — share one issue.

Same interface, records (`ledger_records.py`) and guarantees as the SQLite ledger
(`webzine.send.ledger.Ledger`). A claim is the same compare-and-set on the attempt count: new
recipients are inserted (`ON CONFLICT DO NOTHING`: the first insert wins), known ones are locked
with `SELECT … FOR UPDATE SKIP LOCKED` — a row another worker is claiming at this moment is
skipped instead of waited for, and is that worker's — and taken only if the attempt count is
still the one this run read. Rows are the first schema's shape: size matters less in a database
server, and indexed lookups are cheap there.

The password comes from WEBZINE_LEDGER_DB_PASSWORD (or libpq's PGPASSWORD), never from the URL
in webzine.toml.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from webzine.errors import ConfigError, StorageError
from webzine.i18n import N_, _
from webzine.send.ledger_records import (Brief, Claim, Counts, LedgerEntry, Result, Row, State, brief_frame,
                                         counts_list, kept_reply, now_text, tally)

if TYPE_CHECKING:
    import polars as pl

PASSWORD_ENV = "WEBZINE_LEDGER_DB_PASSWORD"
SCHEMA_LOCK = 0x7765627A  # advisory lock id while creating the schema ("webz")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS webzine_sends (
    issue TEXT NOT NULL, key TEXT NOT NULL, email TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({", ".join(f"'{state}'" for state in State)})),
    attempts INTEGER NOT NULL DEFAULT 0, code INTEGER, status TEXT, text TEXT NOT NULL DEFAULT '',
    provider_id TEXT, message_id TEXT NOT NULL, verp TEXT, transport TEXT NOT NULL, run_id BIGINT,
    claimed_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (issue, key)
);
CREATE INDEX IF NOT EXISTS webzine_sends_verp ON webzine_sends (verp) WHERE verp IS NOT NULL;
CREATE INDEX IF NOT EXISTS webzine_sends_message_id ON webzine_sends (message_id);
CREATE INDEX IF NOT EXISTS webzine_sends_provider_id ON webzine_sends (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS webzine_sends_key ON webzine_sends (key, claimed_at);
CREATE TABLE IF NOT EXISTS webzine_runs (
    id BIGSERIAL PRIMARY KEY, issue TEXT NOT NULL, transport TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT, allow_gaps TEXT, options TEXT NOT NULL DEFAULT '{{}}', summary TEXT, exit_code INTEGER
);
"""

_COLUMNS = ("issue, key, email, state, attempts, code, status, text, provider_id, message_id, verp, transport, "
            "claimed_at, updated_at")


# What `_storage` was doing when the database failed → the message saying so.
CANNOT = {
    "archive": N_("{place}: cannot archive the send ledger ({reason}); "
        "nothing was lost — re-run the same command to resume once the database answers."),
    "create": N_("{place}: cannot create the send ledger ({reason}); "
        "nothing was lost — re-run the same command to resume once the database answers."),
    "read": N_("{place}: cannot read the send ledger ({reason}); "
        "nothing was lost — re-run the same command to resume once the database answers."),
    "write": N_("{place}: cannot write the send ledger ({reason}); "
        "nothing was lost — re-run the same command to resume once the database answers."),
}


def where(url: str) -> str:
    """host:port/database of a URL, for messages (never the user or a password)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}/{parts.path.strip('/')}"


def connect(url: str) -> Any:
    """A psycopg connection to `url` (autocommit; transactions are explicit)."""
    try:
        import psycopg  # optional dependency: `pip install 'webzine[postgres]'`
    except ImportError:
        raise ConfigError(_("[send] ledger is a PostgreSQL URL but psycopg is not installed"),
                          hint="pip install 'webzine[postgres]'") from None
    password = os.environ.get(PASSWORD_ENV)
    try:
        return psycopg.connect(url, connect_timeout=10, autocommit=True, **({"password": password} if password else {}))
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ConfigError(_("Cannot open the send ledger at {place}: {reason}").format(place=where(url), reason=reason),
                          hint=_("check that the server runs and the user may connect; the password comes from "
                                 "{variable} or PGPASSWORD.").format(variable=PASSWORD_ENV)) from exc


def _row(values: Sequence) -> Row:
    fields = list(values)
    fields[3] = State(fields[3])
    return Row(*fields)


def _reply_columns(outcome: Result) -> tuple[str | None, str]:
    """`kept_reply` for the first schema's columns, whose text is never NULL."""
    status, text = kept_reply(outcome)
    return status, text or ""


class PgLedger:
    """One connection, used from one thread (the orchestration's); open with `Ledger.open(url)`."""

    def __init__(self, connection: Any, url: str) -> None:
        self._db = connection
        self.url = url
        self.path = url

    @classmethod
    def open(cls, url: str) -> "PgLedger":
        db = connect(url)
        ledger = cls(db, url)
        with ledger._storage("create"), db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            db.execute(SCHEMA)
        return ledger

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "PgLedger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _storage(self, doing: str) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.OperationalError as exc:
            raise StorageError(_(CANNOT[doing]).format(
                place=where(self.url), reason=str(exc).strip())) from exc
        except psycopg.DatabaseError as exc:
            raise StorageError(_("{place}: the send ledger failed ({reason}); re-run the same command once the cause "
                                 "is fixed.").format(place=where(self.url), reason=str(exc).strip())) from exc

    # -- the send path ---------------------------------------------------------------------

    def states(self, issue: str, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        with self._storage("read"):
            found = self._db.execute("SELECT key, state, attempts, transport FROM webzine_sends "
                                     "WHERE issue = %s AND key = ANY(%s)", (issue, list(keys))).fetchall()
        return {key: LedgerEntry(State(state), attempts, transport) for key, state, attempts, transport in found}

    def all_states(self, issue: str) -> dict[str, LedgerEntry]:
        with self._storage("read"):
            found = self._db.execute("SELECT key, state, attempts, transport FROM webzine_sends WHERE issue = %s",
                                     (issue,)).fetchall()
        return {key: LedgerEntry(State(state), attempts, transport) for key, state, attempts, transport in found}

    def commit(self, issue: str, *, transport: str, run_id: int | None, outcomes: Iterable[Result] = (),
               claims: Iterable[Claim] = ()) -> set[str]:
        """Apply outcomes, then claims, in one transaction; the keys this run now holds."""
        outcomes, claims = list(outcomes), list(claims)
        if not outcomes and not claims:
            return set()
        now = now_text()
        db = self._db
        with self._storage("write"), db.transaction(), db.cursor() as cur:
            if outcomes:
                cur.executemany(
                    "UPDATE webzine_sends SET state = %s, code = %s, status = %s, text = %s, "
                    "provider_id = coalesce(%s, provider_id), updated_at = %s WHERE issue = %s AND key = %s",
                    [(o.state.value, o.code, *_reply_columns(o), o.provider_id, now, issue, o.key) for o in outcomes])
            return self._claim(cur, issue, transport, run_id, claims, now) if claims else set()

    def _claim(self, cur: Any, issue: str, transport: str, run_id: int | None, claims: list[Claim],
               now: str) -> set[str]:
        by_key = {c.key: c for c in claims}
        cur.execute(
            "INSERT INTO webzine_sends (issue, key, email, state, attempts, message_id, verp, transport, run_id, "
            "claimed_at, updated_at) SELECT %s, k, e, 'claimed', a + 1, m, v, %s, %s, %s, %s "
            "FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::text[]) AS c(k, e, a, m, v) "
            "ON CONFLICT (issue, key) DO NOTHING RETURNING key",
            (issue, transport, run_id, now, now, [c.key for c in claims], [c.email for c in claims],
             [c.attempts for c in claims], [c.message_id for c in claims], [c.verp for c in claims]))
        held = {key for (key,) in cur.fetchall()}
        rest = [key for key in by_key if key not in held]
        if rest:
            cur.execute("SELECT key, attempts FROM webzine_sends WHERE issue = %s AND key = ANY(%s) "
                        "FOR UPDATE SKIP LOCKED", (issue, rest))
            won = [key for key, attempts in cur.fetchall() if attempts == by_key[key].attempts]
            cur.executemany(
                "UPDATE webzine_sends SET state = 'claimed', attempts = attempts + 1, email = %s, message_id = %s, "
                "verp = %s, transport = %s, run_id = %s, updated_at = %s WHERE issue = %s AND key = %s",
                [(by_key[k].email, by_key[k].message_id, by_key[k].verp, transport, run_id, now, issue, k) for k in won])
            held.update(won)
        return held

    def record_rejected(self, issue: str, email: str, key: str, reason: str, *, transport: str,
                        run_id: int | None) -> None:
        now = now_text()
        with self._storage("write"):
            self._db.execute(
                "INSERT INTO webzine_sends (issue, key, email, state, attempts, text, message_id, transport, run_id, "
                "claimed_at, updated_at) VALUES (%s, %s, %s, 'failed', 0, %s, '', %s, %s, %s, %s) "
                "ON CONFLICT (issue, key) DO UPDATE SET state = 'failed', text = excluded.text, "
                "updated_at = excluded.updated_at",
                (issue, key, email, f"rejected before sending: {reason}", transport, run_id, now, now))

    def settle(self, issue: str, decisions: Sequence[tuple[str, State, str]]) -> int:
        now = now_text()
        changed = 0
        with self._storage("write"), self._db.transaction():
            for key, state, text in decisions:
                changed += self._db.execute(
                    "UPDATE webzine_sends SET state = %s, text = %s, updated_at = %s "
                    "WHERE issue = %s AND key = %s AND state = 'claimed'", (state.value, text, now, issue, key)).rowcount
        return changed

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, issue: str, *, transport: str, allow_gaps: str | None, options: dict) -> int:
        with self._storage("write"):
            (run,) = self._db.execute(
                "INSERT INTO webzine_runs (issue, transport, started_at, allow_gaps, options) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (issue, transport, now_text(), allow_gaps, json.dumps(options, ensure_ascii=False, sort_keys=True)),
            ).fetchone()
        return int(run)

    def finish_run(self, run_id: int, *, summary: dict, exit_code: int) -> None:
        with self._storage("write"):
            self._db.execute("UPDATE webzine_runs SET finished_at = %s, summary = %s, exit_code = %s WHERE id = %s",
                             (now_text(), json.dumps(summary, ensure_ascii=False, sort_keys=True), exit_code, run_id))

    def runs(self, issue: str | None = None) -> list[dict]:
        names = ("id", "issue", "transport", "started_at", "finished_at", "allow_gaps", "exit_code")
        query = f"SELECT {', '.join(names)} FROM webzine_runs"
        with self._storage("read"):
            found = self._db.execute(query + (" WHERE issue = %s" if issue is not None else "") + " ORDER BY id",
                                     (issue,) if issue is not None else ()).fetchall()
        return [dict(zip(names, values)) for values in found]

    # -- questions from status and bounces -----------------------------------------------------

    def counts(self, issue: str | None = None) -> list[Counts]:
        query = "SELECT issue, state, transport, count(*) FROM webzine_sends"
        with self._storage("read"):
            grouped = self._db.execute(query + (" WHERE issue = %s" if issue is not None else "")
                                       + " GROUP BY issue, state, transport",
                                       (issue,) if issue is not None else ()).fetchall()
        return counts_list(tally((name, State(state), transport, number) for name, state, transport, number in grouped),
                           issue)

    def rows(self, issue: str, state: State | None = None) -> list[Row]:
        query = f"SELECT {_COLUMNS} FROM webzine_sends WHERE issue = %s"
        args: tuple = (issue,)
        if state is not None:
            query += " AND state = %s"
            args += (state.value,)
        with self._storage("read"):
            return [_row(values) for values in self._db.execute(query + " ORDER BY claimed_at, key", args)]

    def briefs(self, issue: str) -> Iterator[Brief]:
        """Every row of `issue` in no particular order, with only what the digest and the report
        read, streamed from a server-side cursor."""
        with self._storage("read"), self._db.transaction(), self._db.cursor(name="webzine_briefs") as cur:
            cur.itersize = 20_000
            cur.execute("SELECT key, email, state, transport, text, "
                        "round(extract(epoch FROM claimed_at::timestamptz) * 1000)::bigint "
                        "FROM webzine_sends WHERE issue = %s", (issue,))
            for key, email, state, transport, text, claimed_ms in cur:
                yield Brief(key, email, State(state), transport, text, claimed_ms)

    def brief_table(self, issue: str) -> pl.DataFrame:
        """`briefs` as one frame (`ledger_records.BRIEF_COLUMNS`)."""
        return brief_frame(self.briefs(issue))

    def counts_among(self, keys: Sequence[str]) -> list[Counts]:
        """Per issue, the counts of only these recipients."""
        with self._storage("read"):
            grouped = self._db.execute("SELECT issue, state, transport, count(*) FROM webzine_sends "
                                       "WHERE key = ANY(%s) GROUP BY issue, state, transport", (list(keys),)).fetchall()
        return counts_list(tally((name, State(state), transport, number) for name, state, transport, number in grouped),
                           None)

    def _find(self, column: str, value: str) -> tuple[str, str] | None:
        with self._storage("read"):
            found = self._db.execute(f"SELECT issue, email FROM webzine_sends WHERE {column} = %s LIMIT 1",
                                     (value,)).fetchone()
        return (found[0], found[1]) if found else None

    def find_by_verp(self, token: str) -> tuple[str, str] | None:
        return self._find("verp", token.lower())

    def find_by_message_id(self, message_id: str) -> tuple[str, str] | None:
        return self._find("message_id", message_id.strip().strip("<>"))

    def find_by_provider_id(self, provider_id: str) -> tuple[str, str] | None:
        return self._find("provider_id", provider_id)

    def history(self, email: str) -> list[Row]:
        with self._storage("read"):
            return [_row(values) for values in self._db.execute(
                f"SELECT {_COLUMNS} FROM webzine_sends WHERE key = %s ORDER BY claimed_at, issue",
                (email.strip().lower(),))]
