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

import gzip
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from webzine.errors import ConfigError, StorageError
from webzine.i18n import N_, _
from webzine.send import ledger_codec as codec
from webzine.send.ledger_records import (Brief, Claim, Counts, LedgerEntry, Result, Row, State, brief_frame,
                                         brief_schema, counts_list, kept_reply, now_text, tally)

if TYPE_CHECKING:
    import polars as pl

SCHEMA_VERSION = 3  # 2: the compact tables with times in ms and codes as sent; 1: one wide `sends` row

# One row per issue × recipient in `deliveries`, keyed by issue id << 32 | recipient id, so the
# table needs no index of its own; addresses are stored once, in `recipients`. Bounce and reply
# lookups (VERP token, Message-ID, provider id) use a map built in memory on the first lookup
# instead of indexes that would cost more than the rows. `sends` is a view in the first
# schema's shape, for people (and tests) reading the file with sqlite3.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS issues (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    epoch       INTEGER NOT NULL,  -- ms since 1970: deliveries' times count from here
    mid_prefix  TEXT,              -- Message-IDs of the form <prefix><32 hex>@<domain>
    mid_domain  TEXT
);
CREATE TABLE IF NOT EXISTS transports (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS domains (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS recipients (  -- key = local @ domains.name; domain 0: the key has no domain
    domain  INTEGER NOT NULL,
    local   TEXT NOT NULL,
    id      INTEGER NOT NULL,
    email   TEXT,  -- only when it differs from the key (the address as written)
    PRIMARY KEY (domain, local)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    id           INTEGER PRIMARY KEY,  -- issues.id << 32 | recipients.id
    state        INTEGER NOT NULL,     -- 0 claimed, 1 accepted, 2 failed, 3 deferred
    attempts     INTEGER NOT NULL,
    transport    INTEGER NOT NULL,
    run_id       INTEGER,
    claimed      INTEGER NOT NULL,     -- seconds after issues.epoch
    updated      INTEGER NOT NULL,     -- seconds after claimed
    mid,                               -- 16-byte digest, or the Message-ID's text when not of the issue's form
    verp,                              -- 10 bytes of a base32 token, or the token's text
    code         INTEGER,              -- the server's code minus 250 (an acceptance is 0: no bytes)
    provider_id  TEXT,
    status       TEXT,                 -- status and text only for what was not accepted
    text         TEXT
);
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
CREATE TABLE IF NOT EXISTS archived (  -- issues folded into <ledger>-archive/<file>, with their counts
    slug       TEXT PRIMARY KEY,
    file       TEXT NOT NULL,
    accepted   INTEGER NOT NULL,
    failed     INTEGER NOT NULL,
    deferred   INTEGER NOT NULL,
    unknown    INTEGER NOT NULL,
    rehearsed  INTEGER NOT NULL,
    archived_at TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS sends AS
SELECT i.slug AS issue, r.key AS key, coalesce(r.email, r.key) AS email,
       CASE d.state WHEN 0 THEN 'claimed' WHEN 1 THEN 'accepted' WHEN 2 THEN 'failed' ELSE 'deferred' END AS state,
       d.attempts AS attempts, d.code + 250 AS code, d.status AS status, coalesce(d.text, '') AS text,
       d.provider_id AS provider_id,
       CASE WHEN typeof(d.mid) = 'blob' THEN i.mid_prefix || lower(hex(d.mid)) || '@' || i.mid_domain
            ELSE coalesce(d.mid, '') END AS message_id,
       t.name AS transport, d.run_id AS run_id
FROM deliveries d
JOIN issues i ON i.id = d.id >> 32
JOIN (SELECT r.id AS id, r.email AS email, CASE r.domain WHEN 0 THEN r.local ELSE r.local || '@' || m.name END AS key
      FROM recipients r LEFT JOIN domains m ON m.id = r.domain) r ON r.id = d.id & 4294967295
JOIN transports t ON t.id = d.transport;
"""

# Rows per issue × state × transport, kept by triggers on every change to `deliveries` (whatever
# writes it: a send, settle, an archive, a migration, an older webzine), so the counts of a year
# of issues are read, never counted row by row. A ledger made before the tally gets it on open.
_TALLY_SCHEMA = (
    """CREATE TABLE tallies (
        issue      INTEGER NOT NULL,
        state      INTEGER NOT NULL,
        transport  INTEGER NOT NULL,
        rows       INTEGER NOT NULL,
        PRIMARY KEY (issue, state, transport)
    ) WITHOUT ROWID""",
    """CREATE TRIGGER tally_insert AFTER INSERT ON deliveries BEGIN
        INSERT INTO tallies VALUES (new.id >> 32, new.state, new.transport, 1)
        ON CONFLICT DO UPDATE SET rows = rows + 1;
    END""",
    """CREATE TRIGGER tally_update AFTER UPDATE OF id, state, transport ON deliveries
    WHEN old.id != new.id OR old.state != new.state OR old.transport != new.transport BEGIN
        UPDATE tallies SET rows = rows - 1
        WHERE issue = old.id >> 32 AND state = old.state AND transport = old.transport;
        INSERT INTO tallies VALUES (new.id >> 32, new.state, new.transport, 1)
        ON CONFLICT DO UPDATE SET rows = rows + 1;
    END""",
    """CREATE TRIGGER tally_delete AFTER DELETE ON deliveries BEGIN
        UPDATE tallies SET rows = rows - 1
        WHERE issue = old.id >> 32 AND state = old.state AND transport = old.transport;
    END""",
    "INSERT INTO tallies SELECT id >> 32, state, transport, count(*) FROM deliveries GROUP BY 1, 2, 3",
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


_DELIVERY_COLUMNS = ("id, state, attempts, transport, run_id, claimed, updated, mid, verp, code, provider_id, status, "
                     "text")
_SHIFT = 32  # deliveries.id = issue id << 32 | recipient id
_CHUNK = 500  # keys per IN (…): below SQLite's limit on bound parameters


@dataclass(frozen=True, slots=True)
class _Issue:
    id: int
    slug: str
    epoch: int
    form: tuple[str, str] | None

    def ids(self) -> tuple[int, int]:
        """The range of deliveries.id that belongs to this issue."""
        return self.id << _SHIFT, ((self.id + 1) << _SHIFT) - 1


@contextmanager
def _transaction(db: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
    """One transaction, committed at the end of the block, rolled back if it raises (unless
    SQLite already did: a full disk or I/O error ends the transaction by itself)."""
    db.execute(begin)
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _split(key: str) -> tuple[str, str]:
    """(domain, local part) of a key; a key without a domain is all local part."""
    local, at, domain = key.rpartition("@")
    return (domain, local) if at and domain and local else ("", key)


# What `_storage` was doing when the database failed → the message saying so.
CANNOT = {
    "archive": N_("{path}: cannot archive the send ledger ({reason}); "
        "nothing was lost — free disk space or fix the file's permissions, then re-run the same command to resume."),
    "create": N_("{path}: cannot create the send ledger ({reason}); "
        "nothing was lost — free disk space or fix the file's permissions, then re-run the same command to resume."),
    "read": N_("{path}: cannot read the send ledger ({reason}); "
        "nothing was lost — free disk space or fix the file's permissions, then re-run the same command to resume."),
    "write": N_("{path}: cannot write the send ledger ({reason}); "
        "nothing was lost — free disk space or fix the file's permissions, then re-run the same command to resume."),
}


class _Directory:
    """recipient id → (key, email as written), read whole: for the questions that list an issue."""

    def __init__(self, db: sqlite3.Connection) -> None:
        names = dict(db.execute("SELECT id, name FROM domains").fetchall())
        self.of: dict[int, tuple[str, str]] = {}
        for domain, local, rid, email in db.execute("SELECT domain, local, id, email FROM recipients"):
            key = f"{local}@{names[domain]}" if domain else local
            self.of[rid] = (key, email or key)


class _Lookups:
    """VERP token, Message-ID and provider id → deliveries.id, and recipient id → address:
    what the bounce and reply imports ask, built in one pass instead of kept as indexes."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.by_value: dict[tuple[str, object], int] = {}
        for delivery, mid, verp, provider_id in db.execute("SELECT id, mid, verp, provider_id FROM deliveries"):
            for column, value in (("mid", mid), ("verp", verp), ("provider_id", provider_id)):
                if value is not None:
                    self.by_value.setdefault((column, value), delivery)
        self.email = {rid: email for rid, (__, email) in _Directory(db).of.items()}
        self.slug = dict(db.execute("SELECT id, slug FROM issues").fetchall())
        self.form = {i: (p, d) for i, p, d in db.execute("SELECT id, mid_prefix, mid_domain FROM issues")
                     if p is not None}


def _columns(texts: tuple[str | None, ...], **schema: type[pl.DataType]) -> pl.DataFrame:
    """Columns sent as one newline-joined string each (`group_concat`): split and typed by polars."""
    import polars as pl

    if texts[0] is None:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame({name: pl.Series([text]).str.split("\n").explode().cast(dtype)
                         for (name, dtype), text in zip(schema.items(), texts)})


class Ledger:
    """One connection, used from one thread (the orchestration's); open with `Ledger.open`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self.archive_folder = path.with_name(f"{path.stem}-archive")
        self._lookups: _Lookups | None = None
        self._lookups_seen: tuple[int, int] | None = None
        self._opened: dict[str, Ledger] = {}  # archives read so far, by issue
        self._scratch: tempfile.TemporaryDirectory | None = None

    @classmethod
    def open(cls, path: str | Path) -> "Ledger":
        """The ledger at `path`; a PostgreSQL URL (`[send] ledger = "postgresql://…"`) opens the
        PostgreSQL ledger, which has the same methods (`webzine.send.ledger_pg`)."""
        url = database_url(path)
        if url is not None:
            from webzine.send.ledger_pg import PgLedger

            return PgLedger.open(url)  # type: ignore[return-value]
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed claim survives power loss, not only a crash of this process.
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    _("{path}: the ledger was written by a newer webzine (schema {version}); upgrade webzine.").format(
                        path=path, version=version)
                )
            if version < SCHEMA_VERSION and _has_first_schema(db):
                try:
                    migrate_first_schema(db)
                except ValueError as exc:
                    raise ConfigError(
                        _("{path}: cannot upgrade the send ledger ({reason}); it was left as it was — fix or "
                          "remove that row with sqlite3, then re-run.").format(path=path, reason=exc)
                    ) from None
            if version == 2:
                migrate_second_schema(db)
            _create_schema(db)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                _("{path}: cannot open the send ledger ({reason}); check the path in [send] ledger.").format(path=path, reason=exc)
            ) from exc
        return cls(db, path)

    def close(self) -> None:
        for archive in self._opened.values():
            archive.close()
        self._opened.clear()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
        self._db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- issues, recipients, transports -----------------------------------------------------

    def _issue(self, slug: str) -> _Issue | None:
        found = self._db.execute(
            "SELECT id, slug, epoch, mid_prefix, mid_domain FROM issues WHERE slug = ?", (slug,)
        ).fetchone()
        if found is None:
            return None
        return _Issue(found[0], found[1], found[2], (found[3], found[4]) if found[3] is not None else None)

    def _issues(self) -> dict[int, _Issue]:
        return {i: _Issue(i, slug, epoch, (p, d) if p is not None else None)
                for i, slug, epoch, p, d in self._db.execute("SELECT id, slug, epoch, mid_prefix, mid_domain FROM issues")}

    def _issue_for_write(self, slug: str, now: int, message_id: str | None) -> _Issue:
        """The issue's row, created on first use; its Message-ID form is set by the first claim."""
        issue = self._issue(slug)
        if issue is None:
            self._db.execute("INSERT INTO issues (slug, epoch) VALUES (?, ?)", (slug, now))
            issue = self._issue(slug)
            assert issue is not None
        if issue.form is None and message_id and (form := codec.message_id_form(message_id)):
            self._db.execute("UPDATE issues SET mid_prefix = ?, mid_domain = ? WHERE id = ?", (*form, issue.id))
            issue = _Issue(issue.id, issue.slug, issue.epoch, form)
        return issue

    def _transport_id(self, name: str) -> int:
        found = self._db.execute("SELECT id FROM transports WHERE name = ?", (name,)).fetchone()
        if found is not None:
            return int(found[0])
        return int(self._db.execute("INSERT INTO transports (name) VALUES (?)", (name,)).lastrowid or 0)

    def _transport_names(self) -> dict[int, str]:
        return dict(self._db.execute("SELECT id, name FROM transports").fetchall())

    def _domain_ids(self, names: Iterable[str], *, create: bool) -> dict[str, int]:
        """domain name → id ("" is 0: keys without a domain), new ones added when `create`."""
        wanted = sorted(set(names) - {""})
        found = {"": 0}
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT name, id FROM domains WHERE name IN ({marks})", chunk).fetchall())
        if create:
            for name in wanted:
                if name not in found:
                    found[name] = int(self._db.execute("INSERT INTO domains (name) VALUES (?)", (name,)).lastrowid or 0)
        return found

    def _recipients(self, keys: Iterable[str], *, create: bool = False) -> dict[str, tuple[int, str | None]]:
        """key → (recipient id, stored email) of the keys the ledger knows."""
        by_domain: dict[str, list[str]] = {}
        for key in keys:
            domain, local = _split(key)
            by_domain.setdefault(domain, []).append(local)
        domain_ids = self._domain_ids(by_domain, create=create)
        found: dict[str, tuple[int, str | None]] = {}
        point = "SELECT id, email FROM recipients WHERE domain = ? AND local = ?"  # one cached statement
        for domain, locals_ in by_domain.items():
            if domain not in domain_ids:
                continue
            number = domain_ids[domain]
            for local in locals_:
                hit = self._db.execute(point, (number, local)).fetchone()
                if hit is not None:
                    found[f"{local}@{domain}" if domain else local] = hit
        return found

    def _recipient_ids(self, keys: Sequence[str]) -> dict[str, int]:
        return {key: rid for key, (rid, __) in self._recipients(keys).items()}

    def _enrol(self, addresses: dict[str, str]) -> dict[str, int]:
        """key → recipient id for these (key → email), giving new keys the next ids in order."""
        db = self._db
        known = self._recipients(addresses, create=True)
        domain_ids = self._domain_ids({_split(key)[0] for key in addresses}, create=False)
        row = db.execute("SELECT value FROM counters WHERE name = 'recipients'").fetchone()
        next_id = row[0] if row else 1
        new, changed = [], []
        for key, email in addresses.items():
            stored = None if email == key else email
            if key not in known:
                domain, local = _split(key)
                new.append((domain_ids[domain], local, next_id, stored))
                known[key] = (next_id, stored)
                next_id += 1
            elif known[key][1] != stored:
                domain, local = _split(key)
                changed.append((stored, local, domain))
        if new:
            db.executemany("INSERT INTO recipients (domain, local, id, email) VALUES (?, ?, ?, ?)", new)
            db.execute("INSERT INTO counters (name, value) VALUES ('recipients', ?) "
                       "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (next_id,))
        if changed:
            db.executemany("UPDATE recipients SET email = ? WHERE local = ? "
                           "AND domain = (SELECT coalesce(max(id), 0) FROM domains WHERE name = ?)", changed)
        return {key: rid for key, (rid, __) in known.items()}

    # -- the send path ---------------------------------------------------------------------

    def states(self, issue: str, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        """State, attempts and transport of the given recipients that have a row for `issue`."""
        if (archive := self._archive(issue)) is not None:
            return archive.states(issue, keys)
        found: dict[str, LedgerEntry] = {}
        with self._storage("read"):
            known = self._issue(issue)
            if known is None:
                return found
            names = self._transport_names()
            key_of = {(known.id << _SHIFT) | rid: key for key, rid in self._recipient_ids(keys).items()}
            for chunk in _chunks(list(key_of)):
                marks = ",".join("?" * len(chunk))
                for delivery, state, attempts, transport in self._db.execute(
                    f"SELECT id, state, attempts, transport FROM deliveries WHERE id IN ({marks})", chunk,
                ):
                    found[key_of[delivery]] = LedgerEntry(codec.STATES[state], attempts, names[transport])
        return found

    def all_states(self, issue: str) -> dict[str, LedgerEntry]:
        """Every row of `issue`, for the plan of a whole list (`status`, `due`, the dry run)."""
        if (archive := self._archive(issue)) is not None:
            return archive.all_states(issue)
        with self._storage("read"):
            known = self._issue(issue)
            if known is None:
                return {}
            names = self._transport_names()
            directory = _Directory(self._db).of
            mask = (1 << _SHIFT) - 1
            return {directory[delivery & mask][0]: LedgerEntry(codec.STATES[state], attempts, names[transport])
                    for delivery, state, attempts, transport in self._db.execute(
                        "SELECT id, state, attempts, transport FROM deliveries WHERE id BETWEEN ? AND ?", known.ids())}

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
        outcomes = list(outcomes)
        claims = list(claims)
        if not outcomes and not claims:
            return set()
        self._reopen(issue)
        now = _now_ms()
        db = self._db
        with self._storage("write"):
            with _transaction(db):
                known = self._issue_for_write(issue, now, claims[0].message_id if claims else None)
                at = codec.to_units(now - known.epoch)
                base = known.id << _SHIFT
                if outcomes:
                    ids = self._recipient_ids([o.key for o in outcomes])
                    db.executemany(
                        "UPDATE deliveries SET state = ?, code = ?, status = ?, text = ?, "
                        "provider_id = coalesce(?, provider_id), updated = ? - claimed WHERE id = ?",
                        [(codec.STATE_CODES[o.state], codec.code_value(o.code), *kept_reply(o), o.provider_id, at,
                          base | ids[o.key])
                         for o in outcomes if o.key in ids],
                    )
                held: set[str] = set()
                if claims:
                    ids = self._enrol({c.key: c.email for c in claims})
                    transport_id = self._transport_id(transport)
                    db.executemany(
                        "INSERT INTO deliveries (id, state, attempts, transport, run_id, claimed, updated, mid, verp) "
                        "VALUES (?, 0, ?, ?, ?, ?, 0, ?, ?) "
                        "ON CONFLICT (id) DO UPDATE SET state = 0, attempts = excluded.attempts, "
                        "mid = excluded.mid, verp = excluded.verp, transport = excluded.transport, "
                        "run_id = excluded.run_id, updated = excluded.claimed - deliveries.claimed "
                        "WHERE deliveries.attempts = excluded.attempts - 1",
                        [(base | ids[c.key], c.attempts + 1, transport_id, run_id, at,
                          codec.message_id_value(c.message_id, known.form), codec.verp_value(c.verp))
                         for c in claims],
                    )
                    held = self._held(base, run_id, claims, ids)
        return held

    def _held(self, base: int, run_id: int | None, claims: Sequence[Claim], ids: dict[str, int]) -> set[str]:
        expected = {base | ids[c.key]: (c.key, c.attempts + 1) for c in claims}
        held: set[str] = set()
        for chunk in _chunks(list(expected)):
            marks = ",".join("?" * len(chunk))
            for delivery, attempts in self._db.execute(
                f"SELECT id, attempts FROM deliveries WHERE state = 0 AND run_id IS ? AND id IN ({marks})",
                (run_id, *chunk),
            ):
                key, wanted = expected[delivery]
                if attempts == wanted:
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
                _(CANNOT[doing]).format(path=self.path, reason=exc)
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise StorageError(
                _("{path}: the send ledger failed ({reason}); re-run the same command once the cause is fixed.").format(
                    path=self.path, reason=exc)
            ) from exc

    def record_rejected(self, issue: str, email: str, key: str, reason: str, *, transport: str,
                        run_id: int | None) -> None:
        """A recipient refused before sending (unsafe data): `failed`, never claimed."""
        self._reopen(issue)
        now = _now_ms()
        db = self._db
        with self._storage("write"):
            with _transaction(db):
                known = self._issue_for_write(issue, now, None)
                rid = self._enrol({key: email})[key]
                db.execute(
                    "INSERT INTO deliveries (id, state, attempts, transport, run_id, claimed, updated, text) "
                    "VALUES (?, 2, 0, ?, ?, ?, 0, ?) "
                    "ON CONFLICT (id) DO UPDATE SET state = 2, text = excluded.text, "
                    "updated = excluded.claimed - deliveries.claimed",
                    ((known.id << _SHIFT) | rid, self._transport_id(transport), run_id, codec.to_units(now - known.epoch),
                     _("rejected before sending: {reason}").format(reason=reason)),
                )

    def settle(self, issue: str, decisions: Sequence[tuple[str, State, str]]) -> int:
        """Record how unknown recipients were settled: (key, accepted or deferred, evidence).
        Only rows still `claimed` change, so a decision never overwrites a later outcome."""
        self._reopen(issue)
        now = _now_ms()
        with self._storage("write"):
            db = self._db
            known = self._issue(issue)
            if known is None or not decisions:
                return 0
            with _transaction(db):
                ids = self._recipient_ids([key for key, __, __ in decisions])
                changed = 0
                for key, state, text in decisions:
                    if key not in ids:
                        continue
                    changed += db.execute(
                        "UPDATE deliveries SET state = ?, text = ?, updated = ? - claimed WHERE id = ? AND state = 0",
                        (codec.STATE_CODES[state], text, codec.to_units(now - known.epoch), (known.id << _SHIFT) | ids[key]),
                    ).rowcount
        return changed

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, issue: str, *, transport: str, allow_gaps: str | None, options: dict) -> int:
        with self._storage("write"):
            cursor = self._db.execute(
                "INSERT INTO runs (issue, transport, started_at, allow_gaps, options) VALUES (?, ?, ?, ?, ?)",
                (issue, transport, now_text(), allow_gaps, json.dumps(options, ensure_ascii=False, sort_keys=True)),
            )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, *, summary: dict, exit_code: int) -> None:
        with self._storage("write"):
            self._db.execute(
                "UPDATE runs SET finished_at = ?, summary = ?, exit_code = ? WHERE id = ?",
                (now_text(), json.dumps(summary, ensure_ascii=False, sort_keys=True), exit_code, run_id),
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
        with self._storage("read"):
            issues = self._issues()
            names = self._transport_names()
            query = "SELECT issue, state, transport, rows FROM tallies WHERE rows > 0"
            args: tuple = ()
            if issue is not None:
                known = self._issue(issue)
                args = (known.id if known is not None else -1,)
                query += " AND issue = ?"
            grouped = self._db.execute(query, args).fetchall()
        counts = tally((issues[issue_id].slug, codec.STATES[state], names[transport], number)
                       for issue_id, state, transport, number in grouped)
        for slug, *numbers in self._db.execute(
            "SELECT slug, accepted, failed, deferred, unknown, rehearsed FROM archived"
            + (" WHERE slug = ?" if issue is not None else ""), (issue,) if issue is not None else ()):
            counts[slug] = Counts(slug, *numbers)
        return counts_list(counts, issue)

    _ROW_COLUMNS = "id, state, attempts, code, status, text, provider_id, mid, verp, transport, claimed, updated"

    def _rows(self, where: str, args: tuple, issues: dict[int, _Issue], directory: dict[int, tuple[str, str]]) -> list[Row]:
        names = self._transport_names()
        found = []
        mask = (1 << _SHIFT) - 1
        for (delivery, state, attempts, code, status, text, provider_id, mid, verp, transport,
             claimed, updated) in self._db.execute(f"SELECT {self._ROW_COLUMNS} FROM deliveries WHERE {where}", args):
            issue = issues[delivery >> _SHIFT]
            key, email = directory[delivery & mask]
            claimed_ms = issue.epoch + claimed * codec.TIME_UNIT_MS
            found.append(Row(
                issue.slug, key, email, codec.STATES[state], attempts, codec.reply_code(code), status, text or "",
                provider_id, codec.message_id_text(mid, issue.form), codec.verp_token(verp), names[transport],
                codec.from_ms(claimed_ms), codec.from_ms(claimed_ms + updated * codec.TIME_UNIT_MS),
            ))
        return found

    def rows(self, issue: str, state: State | None = None) -> list[Row]:
        if (archive := self._archive(issue)) is not None:
            return archive.rows(issue, state)
        with self._storage("read"):
            known = self._issue(issue)
            if known is None:
                return []
            where, args = "id BETWEEN ? AND ?", known.ids()
            if state is not None:
                where += " AND state = ?"
                args += (codec.STATE_CODES[state],)
            found = self._rows(where, args, {known.id: known}, _Directory(self._db).of)
        return sorted(found, key=lambda row: (row.claimed_at, row.key))

    def briefs(self, issue: str) -> Iterator[Brief]:
        """Every row of `issue` in no particular order, with only what the digest and the report
        read: the rows stream, and the addresses come from one pass over `recipients`."""
        if (archive := self._archive(issue)) is not None:
            yield from archive.briefs(issue)
            return
        with self._storage("read"):
            known = self._issue(issue)
            if known is None:
                return
            names = self._transport_names()
            directory = _Directory(self._db).of
            states = codec.STATES
            mask = (1 << _SHIFT) - 1
            epoch, unit = known.epoch, codec.TIME_UNIT_MS
            for delivery, state, transport, text, claimed in self._db.execute(
                    "SELECT id, state, transport, text, claimed FROM deliveries WHERE id BETWEEN ? AND ?", known.ids()):
                key, email = directory[delivery & mask]
                yield Brief(key, email, states[state], names[transport], text or "", epoch + claimed * unit)

    def brief_table(self, issue: str) -> pl.DataFrame:
        """`briefs` as one frame (`ledger_records.BRIEF_COLUMNS`), in the same order. A million
        rows come as a few long strings, one per column (`group_concat`, split by polars):
        fetched as rows, each cell would be a Python object; the recipient directory the same way."""
        import polars as pl

        if (archive := self._archive(issue)) is not None:
            return archive.brief_table(issue)
        with self._storage("read"):
            known = self._issue(issue)
            if known is None:
                return brief_frame(())
            names = self._transport_names()
            domains = {0: None, **dict(self._db.execute("SELECT id, name FROM domains").fetchall())}
            mask = (1 << _SHIFT) - 1
            rows = _columns(self._db.execute(
                "SELECT group_concat(id & ?, char(10)), group_concat(state, char(10)), "
                "group_concat(transport, char(10)), group_concat(claimed, char(10)) "
                "FROM deliveries WHERE id BETWEEN ? AND ?", (mask, *known.ids())).fetchone(),
                rid=pl.Int64, state=pl.Int64, transport=pl.Int64, claimed=pl.Int64)
            texts = self._db.execute("SELECT id & ?, text FROM deliveries WHERE id BETWEEN ? AND ? AND text IS NOT NULL",
                                     (mask, *known.ids())).fetchall()
            directory = _columns(self._db.execute(
                "SELECT group_concat(id, char(10)), group_concat(domain, char(10)), group_concat(local, char(10)) "
                "FROM recipients").fetchone(), rid=pl.Int64, domain=pl.Int64, local=pl.String)
            written = self._db.execute("SELECT id, email FROM recipients WHERE email IS NOT NULL AND email != ''").fetchall()
        schema = {"rid": pl.Int64, "value": pl.String}
        directory = directory.join(pl.DataFrame(written, schema=schema, orient="row"), on="rid", how="left")
        domain = pl.col("domain").replace_strict(domains, return_dtype=pl.String)
        found = rows.join(directory, on="rid", how="left").join(
            pl.DataFrame(texts, schema=schema, orient="row").rename({"value": "text"}), on="rid", how="left")
        key = pl.when(domain.is_not_null()).then(pl.concat_str("local", pl.lit("@"), domain)).otherwise("local")
        return found.sort("rid").select(
            key.alias("key"), pl.coalesce("value", key).alias("email"),
            pl.col("state").replace_strict({code: state.value for code, state in codec.STATES.items()},
                                           return_dtype=pl.String),
            pl.col("transport").replace_strict(names, return_dtype=pl.String), pl.col("text").fill_null(""),
            (known.epoch + pl.col("claimed") * codec.TIME_UNIT_MS).alias("claimed_ms"),
        ).cast(brief_schema())  # fmt: skip

    def counts_among(self, keys: Sequence[str]) -> list[Counts]:
        """Per issue, the counts of only these recipients (the key customers' coverage month by
        month), live issues and those archived whose file is here."""
        found: dict[str, Counts] = {}
        for store in self._stores():
            found.update((c.issue, c) for c in store._counts_among(keys) if c.issue not in found)
        return [found[name] for name in sorted(found)]

    def _counts_among(self, keys: Sequence[str]) -> list[Counts]:
        with self._storage("read"):
            issues = self._issues()
            names = self._transport_names()
            recipients = sorted(self._recipient_ids(keys).values())
            grouped: dict[tuple[int, int, int], int] = {}
            for issue_id in issues:
                base = issue_id << _SHIFT
                for chunk in _chunks(recipients):
                    marks = ",".join("?" * len(chunk))
                    for state, transport, number in self._db.execute(
                            f"SELECT state, transport, count(*) FROM deliveries WHERE id IN ({marks}) GROUP BY 1, 2",
                            [base | rid for rid in chunk]):
                        group = (issue_id, state, transport)
                        grouped[group] = grouped.get(group, 0) + number
        return counts_list(tally((issues[i].slug, codec.STATES[state], names[transport], number)
                                 for (i, state, transport), number in grouped.items()), None)

    def _lookup(self) -> _Lookups:
        """The lookup maps, rebuilt when this or another connection has written since."""
        seen = (self._db.execute("PRAGMA data_version").fetchone()[0], self._db.total_changes)
        if self._lookups is None or seen != self._lookups_seen:
            self._lookups = _Lookups(self._db)
            self._lookups_seen = seen
        return self._lookups

    def _find(self, column: str, value: object) -> tuple[str, str] | None:
        with self._storage("read"):
            lookups = self._lookup()
        delivery = lookups.by_value.get((column, value))
        if delivery is not None:
            return lookups.slug[delivery >> _SHIFT], lookups.email[delivery & ((1 << _SHIFT) - 1)]
        return None

    def _find_everywhere(self, find: Callable[["Ledger"], tuple[str, str] | None]) -> tuple[str, str] | None:
        """Ask the live ledger, then the archives present, newest first."""
        return next((hit for store in self._stores() if (hit := find(store)) is not None), None)

    def find_by_verp(self, token: str) -> tuple[str, str] | None:
        """(issue, email) the VERP token was issued for."""
        value = codec.verp_value(token)
        return self._find_everywhere(lambda store: store._find("verp", value))

    def find_by_message_id(self, message_id: str) -> tuple[str, str] | None:
        """(issue, email) for a Message-ID, with or without angle brackets."""
        message_id = message_id.strip().strip("<>")
        return self._find_everywhere(lambda store: store._find_message_id(message_id))

    def _find_message_id(self, message_id: str) -> tuple[str, str] | None:
        form = codec.message_id_form(message_id)
        if form is None:
            return self._find("mid", message_id)
        with self._storage("read"):
            lookups = self._lookup()
        digest = codec.message_id_value(message_id, form)
        delivery = lookups.by_value.get(("mid", digest))
        if delivery is not None and lookups.form.get(delivery >> _SHIFT) == form:
            return lookups.slug[delivery >> _SHIFT], lookups.email[delivery & ((1 << _SHIFT) - 1)]
        return self._find("mid", message_id)

    def find_by_provider_id(self, provider_id: str) -> tuple[str, str] | None:
        return self._find_everywhere(lambda store: store._find("provider_id", provider_id))

    def history(self, email: str) -> list[Row]:
        """Every issue sent to this address, oldest first: the soft-bounce counter walks it to
        find "N distinct issues in a row with no success in between"."""
        found = [row for store in self._stores() for row in store._history(email)]
        return sorted(found, key=lambda row: (row.claimed_at, row.issue))

    def _history(self, email: str) -> list[Row]:
        with self._storage("read"):
            key = email.strip().lower()
            known = self._recipients([key])
            if not known:
                return []
            issues = self._issues()
            ((recipient, stored),) = known.values()
            directory = {recipient: (key, stored or key)}
            wanted = [(issue_id << _SHIFT) | recipient for issue_id in issues]
            found = [row for chunk in _chunks(wanted)
                     for row in self._rows(f"id IN ({','.join('?' * len(chunk))})", tuple(chunk), issues, directory)]
        return sorted(found, key=lambda row: (row.claimed_at, row.issue))

    # -- closed issues, folded into per-issue archives ---------------------------------------

    def _archive(self, issue: str) -> "Ledger | None":
        """The archive holding `issue`, read on first use; None while the issue is live."""
        if issue in self._opened:
            return self._opened[issue]
        with self._storage("read"):
            found = self._db.execute("SELECT file FROM archived WHERE slug = ?", (issue,)).fetchone()
        return None if found is None else self._open_archive(issue, self.archive_folder / found[0])

    def _open_archive(self, issue: str, file: Path) -> "Ledger":
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="webzine-ledger-")
        copy = Path(self._scratch.name) / f"{len(self._opened)}.sqlite3"
        try:
            with gzip.open(file, "rb") as source, open(copy, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            db = sqlite3.connect(copy, isolation_level=None, check_same_thread=False)
            if db.execute("PRAGMA user_version").fetchone()[0] == 2:  # folded before times were in seconds
                migrate_second_schema(db)
            archive = Ledger(db, copy)
        except FileNotFoundError:
            raise StorageError(
                _("{file}: issue {issue} was archived there and the file is missing; restore the state with its "
                  "archives (.ci/state.sh restore), then re-run.").format(file=file, issue=issue)
            ) from None
        except (OSError, EOFError, sqlite3.DatabaseError) as exc:
            raise StorageError(
                _("{file}: cannot read the archive of issue {issue} ({reason}); restore it from the state branch, "
                  "then re-run.").format(file=file, issue=issue, reason=exc)
            ) from exc
        self._opened[issue] = archive
        return archive

    def _stores(self) -> Iterator["Ledger"]:
        """The live ledger, then each archive whose file is here, newest issue first."""
        yield self
        with self._storage("read"):
            archived = self._db.execute("SELECT slug, file FROM archived ORDER BY slug DESC").fetchall()
        for slug, file in archived:
            if slug in self._opened or (self.archive_folder / file).exists():
                yield self._open_archive(slug, self.archive_folder / file) if slug not in self._opened else self._opened[slug]

    def _activity(self, issue: _Issue) -> tuple[int, ...]:
        """(rows, attempts, states, codes, replies, provider ids, last change in ms): what an
        archive copy must still match when the live rows are removed, so a write that slipped in
        between keeps the issue live. A claim adds a row or an attempt and an outcome raises the
        state sum, which the time (whole seconds) alone would not show within one second."""
        *fingerprint, last = self._db.execute(
            "SELECT count(*), coalesce(sum(attempts), 0), coalesce(sum(state), 0), coalesce(sum(code), 0), "
            "count(text), count(provider_id), coalesce(max(claimed + updated), 0) "
            "FROM deliveries WHERE id BETWEEN ? AND ?", issue.ids()).fetchone()
        return (*fingerprint, issue.epoch + last * codec.TIME_UNIT_MS)

    def closed_issues(self, *, older_than_days: float, now: datetime) -> list[str]:
        """Live issues to fold: nobody claimed or deferred and no run still open — or nothing
        written for `older_than_days`, whatever is left."""
        now_ms = round(now.timestamp() * 1000)
        chosen = []
        with self._storage("read"):
            for issue in self._issues().values():
                counts = self.counts(issue.slug)[0]
                open_runs = self._db.execute(
                    "SELECT count(*) FROM runs WHERE issue = ? AND finished_at IS NULL", (issue.slug,)).fetchone()[0]
                quiet = now_ms - self._activity(issue)[-1] >= older_than_days * 86_400_000
                if quiet or (counts.unknown == 0 and counts.deferred == 0 and open_runs == 0):
                    chosen.append(issue.slug)
        return sorted(chosen)

    def archive(self, issue: str) -> Path | None:
        """Fold a live issue into `<ledger>-archive/<issue>.sqlite3.gz` (a one-issue ledger,
        gzip-compressed) and remove its rows from the live ledger; None when it changed meanwhile.

        The file is complete (temp file, fsync, rename) before the live rows go, and the rows go
        only if they are still exactly what was copied: a crash or a concurrent send never loses one."""
        known = self._issue(issue)
        if known is None:
            return None
        self.archive_folder.mkdir(parents=True, exist_ok=True)
        name = f"{_file_name(issue)}.sqlite3.gz"
        with tempfile.TemporaryDirectory(dir=self.archive_folder, prefix=".archiving-") as scratch:
            copy = Path(scratch) / "issue.sqlite3"
            with self._storage("archive"):
                Ledger.open(copy).close()
                copied = self._copy_issue(known, copy)
                with sqlite3.connect(copy, isolation_level=None) as db:
                    db.execute("PRAGMA journal_mode=DELETE")
                    db.execute("VACUUM")
                db.close()
            packed = Path(scratch) / name
            with open(copy, "rb") as source, open(packed, "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as target:
                    shutil.copyfileobj(source, target, 1 << 20)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(packed, self.archive_folder / name)
        if not self._drop_issue(known, copied, name):
            (self.archive_folder / name).unlink(missing_ok=True)
            return None
        return self.archive_folder / name

    def _copy_issue(self, issue: _Issue, copy: Path) -> tuple[int, ...]:
        """The issue's rows, recipients, domains and transports into the empty ledger at `copy`."""
        db = self._db
        db.execute("ATTACH DATABASE ? AS archive", (str(copy),))
        try:
            with _transaction(db, "BEGIN"):
                low, high = issue.ids()
                copy = "INSERT INTO archive.{0} ({1}) SELECT {1} FROM main.{0}"  # by name, never by position
                db.execute(copy.format("issues", "id, slug, epoch, mid_prefix, mid_domain") + " WHERE id = ?",
                           (issue.id,))
                db.execute(copy.format("transports", "id, name"))
                db.execute(copy.format("counters", "name, value"))
                db.execute(copy.format("recipients", "domain, local, id, email")
                           + f" WHERE id IN (SELECT id & {(1 << _SHIFT) - 1} FROM deliveries WHERE id BETWEEN ? AND ?)"
                           " ORDER BY domain, local", (low, high))
                db.execute(copy.format("domains", "id, name") + " WHERE id IN (SELECT domain FROM archive.recipients)")
                db.execute(copy.format("deliveries", _DELIVERY_COLUMNS) + " WHERE id BETWEEN ? AND ?", (low, high))
                copied = self._activity(issue)
        finally:
            db.execute("DETACH DATABASE archive")
        return copied

    def _drop_issue(self, issue: _Issue, copied: tuple[int, ...], file: str) -> bool:
        db = self._db
        counts = self.counts(issue.slug)[0]
        with self._storage("write"):
            with _transaction(db):
                if self._activity(issue) != copied:
                    return False
                db.execute("DELETE FROM deliveries WHERE id BETWEEN ? AND ?", issue.ids())
                db.execute("DELETE FROM issues WHERE id = ?", (issue.id,))
                db.execute(f"DELETE FROM recipients WHERE id NOT IN (SELECT id & {(1 << _SHIFT) - 1} FROM deliveries)")
                db.execute("INSERT OR REPLACE INTO archived (slug, file, accepted, failed, deferred, unknown, rehearsed, "
                           "archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (issue.slug, file, counts.accepted, counts.failed, counts.deferred, counts.unknown,
                            counts.rehearsed, now_text()))
        return True

    def vacuum(self) -> None:
        """Give the space of folded issues back, so the file that is saved is only what is live."""
        with self._storage("write"):
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _reopen(self, issue: str) -> None:
        """Bring an archived issue back into the live ledger before anything is written to it."""
        archive = self._archive(issue)
        if archive is None:
            return
        source = archive._issue(issue)
        rows = archive._db.execute(
            "SELECT id, state, attempts, transport, run_id, claimed, updated, mid, verp, code, status, text, "
            "provider_id FROM deliveries ORDER BY id").fetchall()
        directory = _Directory(archive._db).of
        names = archive._transport_names()
        mask = (1 << _SHIFT) - 1
        db = self._db
        with self._storage("write"):
            with _transaction(db):
                issue_id = int(db.execute(
                    "INSERT INTO issues (slug, epoch, mid_prefix, mid_domain) VALUES (?, ?, ?, ?)",
                    (issue, source.epoch if source else _now_ms(), *((source.form if source else None) or (None, None))),
                ).lastrowid or 0)
                ids = self._enrol({key: email for key, email in (directory[row[0] & mask] for row in rows)})
                transports = {number: self._transport_id(name) for number, name in names.items()}
                db.executemany(
                    "INSERT INTO deliveries (id, state, attempts, transport, run_id, claimed, updated, mid, verp, code, "
                    "status, text, provider_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [((issue_id << _SHIFT) | ids[directory[row[0] & mask][0]], row[1], row[2], transports[row[3]],
                      *row[4:]) for row in rows],
                )
                (file,) = db.execute("SELECT file FROM archived WHERE slug = ?", (issue,)).fetchone()
                db.execute("DELETE FROM archived WHERE slug = ?", (issue,))
        self._opened.pop(issue).close()
        (self.archive_folder / file).unlink(missing_ok=True)


def _file_name(issue: str) -> str:
    """A file name for an issue slug (`digest:2026-11` → `digest_2026-11`)."""
    return "".join(char if char.isalnum() or char in "-._" else "_" for char in issue)


def database_url(location: str | Path) -> str | None:
    """The PostgreSQL URL in `[send] ledger`, also once `Settings.path` has put the project root
    in front of it (which folds its `//` into `/`); None for a file."""
    text = str(location)
    for scheme in ("postgresql:", "postgres:"):
        at = text.find(scheme)
        if at != -1:
            return "postgresql://" + text[at + len(scheme):].lstrip("/")
    return None


def ledger_exists(location: str | Path) -> bool:
    """A database ledger always exists (its tables are made on first open); a file when it is there."""
    return database_url(location) is not None or Path(location).exists()


def _create_schema(db: sqlite3.Connection) -> None:
    """One statement at a time: `executescript` would commit a migration's open transaction."""
    for statement in _SCHEMA.split(";\n"):
        if statement.strip():
            db.execute(statement)
    if db.in_transaction:
        _create_tally(db)
    elif not _has_tally(db):
        with _transaction(db):
            _create_tally(db)


def _has_tally(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'tallies'").fetchone() is not None


def _create_tally(db: sqlite3.Connection) -> None:
    """The tally, its triggers and its first counts, at once: no write can fall between them."""
    if not _has_tally(db):
        for statement in _TALLY_SCHEMA:
            db.execute(statement)


def _has_first_schema(db: sqlite3.Connection) -> bool:
    found = db.execute("SELECT type FROM sqlite_master WHERE name = 'sends'").fetchone()
    return found is not None and found[0] == "table"


def migrate_second_schema(db: sqlite3.Connection) -> None:
    """Schema 2 → 3 in place, in one transaction: times from milliseconds to whole seconds (the
    last change rounded down from the claim's exact time, never before the claim) and codes as
    their difference from 250. SQLite reads every right-hand side from the row as it was."""
    with _transaction(db):
        db.execute(f"UPDATE deliveries SET code = code - {codec.ACCEPTED_CODE}, "
                   f"claimed = claimed / {codec.TIME_UNIT_MS}, "
                   f"updated = (claimed + updated) / {codec.TIME_UNIT_MS} - claimed / {codec.TIME_UNIT_MS}")
        db.execute("DROP VIEW IF EXISTS sends")
        _create_schema(db)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def migrate_first_schema(db: sqlite3.Connection) -> None:
    """Rewrite a schema-1 ledger (one wide `sends` row per issue × recipient) into the compact
    tables, in one transaction: a crash leaves the file as it was, and the next open migrates."""
    with _transaction(db):
        db.execute("ALTER TABLE sends RENAME TO sends_first_schema")
        _create_schema(db)
        old = db.execute(
            "SELECT issue, key, email, state, attempts, code, status, text, provider_id, message_id, verp, "
            "transport, run_id, claimed_at, updated_at FROM sends_first_schema ORDER BY claimed_at, key"
        ).fetchall()
        forms: dict[str, tuple[str, str]] = {}
        for issue, message_id in db.execute("SELECT issue, message_id FROM sends_first_schema WHERE message_id != ''"):
            if issue not in forms and (form := codec.message_id_form(message_id)):
                forms[issue] = form
        issues: dict[str, _Issue] = {}
        transports: dict[str, int] = {}
        recipients: dict[str, tuple[int, str | None]] = {}
        rows = []
        for (issue, key, email, state, attempts, code, status, text, provider_id, message_id, verp, transport,
             run_id, claimed_at, updated_at) in old:
            try:
                claimed, updated = codec.to_ms(claimed_at), codec.to_ms(updated_at)
            except ValueError:
                raise ValueError(_("issue {issue}, recipient {key}: a time that is not ISO 8601").format(
                    issue=issue, key=key)) from None
            if issue not in issues:
                issues[issue] = _Issue(len(issues) + 1, issue, claimed, forms.get(issue))
            known = issues[issue]
            transport_id = transports.setdefault(transport, len(transports) + 1)
            rid, __ = recipients.setdefault(key, (len(recipients) + 1, None if email == key else email))
            keep_reply = state != "accepted"
            since = codec.to_units(claimed - known.epoch)
            rows.append(((known.id << _SHIFT) | rid, codec.STATE_CODES[state], attempts, transport_id, run_id,
                         since, codec.to_units(updated - known.epoch) - since,
                         codec.message_id_value(message_id, known.form), codec.verp_value(verp), codec.code_value(code),
                         status if keep_reply else None, (text or None) if keep_reply else None, provider_id))
        db.executemany("INSERT INTO issues (id, slug, epoch, mid_prefix, mid_domain) VALUES (?, ?, ?, ?, ?)",
                       [(i.id, i.slug, i.epoch, *(i.form or (None, None))) for i in issues.values()])
        db.executemany("INSERT INTO transports (id, name) VALUES (?, ?)", [(i, n) for n, i in transports.items()])
        domains: dict[str, int] = {"": 0}
        for key in recipients:
            domains.setdefault(_split(key)[0], len(domains))
        db.executemany("INSERT INTO domains (id, name) VALUES (?, ?)", [(i, n) for n, i in domains.items() if i])
        db.executemany("INSERT INTO recipients (domain, local, id, email) VALUES (?, ?, ?, ?)",
                       [(domains[domain], local, rid, email)
                        for key, (rid, email) in recipients.items() for domain, local in [_split(key)]])
        db.execute("INSERT INTO counters (name, value) VALUES ('recipients', ?)", (len(recipients) + 1,))
        db.executemany("INSERT INTO deliveries (id, state, attempts, transport, run_id, claimed, updated, mid, verp, "
                       "code, status, text, provider_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       sorted(rows))
        db.execute("DROP TABLE sends_first_schema")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    db.execute("VACUUM")
