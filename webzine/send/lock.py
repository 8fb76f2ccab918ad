"""One send per issue and ledger at a time.

A send holds an exclusive `flock` on `<ledger>.<issue>.lock` for its whole run. The kernel drops
the lock when the process ends, however it ends (a crash, SIGKILL, a reboot), so a lock can never
outlive its owner on this machine: the file's content — PID, host, start time, command — only
tells the second send *who* is running. A lock file left by a process on another host (a ledger
on a shared disk) whose `flock` is no longer held is simply taken over.

The ledger's claims are atomic on their own (see `Ledger.commit`); the lock makes a second run
stop at once with one clear line instead of competing for recipients.

Workers that share an issue (`webzine send --shard I/N`, e.g. a CI matrix) each take the lock of
their own shard, so they run side by side while a second run of the same shard is still refused;
`webzine send --workers N` forks N such workers on one machine.
On a PostgreSQL ledger the lock is a session advisory lock on the database, keyed by issue and
shard: it spans machines, and the server drops it when the holder's connection ends, however the
process ended; `pg_stat_activity` names the holder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from webzine.errors import SendLocked, StorageError
from webzine.i18n import _
from webzine.send.ledger import database_url
from webzine.models import Recipient


def parse_shard(value: str | None) -> str | None:
    """`I/N` (0 ≤ I < N) as given to `--shard`, checked; None without it."""
    if value is None:
        return None
    index, __, count = value.partition("/")
    if not (index.isdigit() and count.isdigit() and 0 <= int(index) < int(count)):
        raise click.BadParameter(
            _("{value}: give I/N with 0 ≤ I < N, e.g. 0/4 for the first of four workers.").format(value=repr(value)),
            param_hint="--shard")
    return f"{int(index)}/{int(count)}"


def in_shard(recipients: Iterable[Recipient], shard: str | None) -> Iterable[Recipient]:
    """The recipients of shard I of N, lazily: those whose key hashes to I (stable across
    processes and machines)."""
    if shard is None:
        return recipients
    index, count = (int(part) for part in shard.split("/"))
    return (r for r in recipients
            if int.from_bytes(hashlib.blake2b(r.key.encode(), digest_size=8).digest(), "big") % count == index)


def split_shard(shard: str | None, workers: int) -> list[str]:
    """Shard I of N (the whole issue without one) split among `workers`: shards I + N·k of N·workers
    for k < workers, which hash exactly onto shard I, so `--workers` composes with `--shard`."""
    index, count = (int(part) for part in shard.split("/")) if shard else (0, 1)
    return [f"{index + count * k}/{count * workers}" for k in range(workers)]


def lock_path(ledger: Path, issue: str, shard: str | None = None) -> Path:
    suffix = f".shard-{shard.replace('/', '-of-')}" if shard else ""
    return ledger.with_name(f"{ledger.name}.{issue}{suffix}.lock")


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return _("another process")
    return _("pid {pid} on {host} since {started} ({command})").format(
        pid=info.get("pid", "?"), host=info.get("host", "?"), started=info.get("started", "?"),
        command=info.get("command", "webzine send"))


def _locked(issue: str, shard: str | None, holder: str) -> SendLocked:
    what = _("{issue} (shard {shard})").format(issue=issue, shard=shard) if shard else issue
    return SendLocked(
        _("{what} is already being sent with this ledger by {holder}; nothing was sent.").format(what=what, holder=holder),
        hint=_("wait for it to finish (webzine status shows its progress), then re-run to send whatever is left."),
    )


@contextmanager
def _database_lock(url: str, issue: str, shard: str | None, command: str) -> Iterator[str]:
    """A session advisory lock keyed by (issue, shard) on the ledger's database."""
    from webzine.send.ledger_pg import SCHEMA_LOCK, connect

    key = int.from_bytes(hashlib.sha256(f"{issue}\n{shard or ''}".encode()).digest()[:4], "big", signed=True)
    db = connect(url)
    try:
        name = f"webzine pid {os.getpid()} on {socket.gethostname()}"[:63]
        db.execute("SELECT set_config('application_name', %s, false)", (name,))
        if not db.execute("SELECT pg_try_advisory_lock(%s, %s)", (SCHEMA_LOCK, key)).fetchone()[0]:
            found = db.execute(
                "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.classid = %s::oid AND l.objid = %s::oid AND l.granted LIMIT 1",
                (SCHEMA_LOCK, key & 0xFFFFFFFF)).fetchone()
            holder = (_("{name} since {started}").format(name=found[0], started=f"{found[1]:%Y-%m-%d %H:%M}") if found
                      else _("another process"))
            raise _locked(issue, shard, holder)
        yield url
    finally:
        db.close()  # the server drops the session's advisory lock with the connection


@contextmanager
def send_lock(ledger: Path, issue: str, *, now: datetime, command: str | None = None,
              shard: str | None = None) -> Iterator[Path]:
    """Hold the issue's (or the issue shard's) send lock, or raise `SendLocked` naming the running send."""
    url = database_url(ledger)
    if url is not None:
        with _database_lock(url, issue, shard, command or "webzine send"):
            yield ledger
        return
    path = lock_path(ledger, issue, shard)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise StorageError(
            _("{path}: cannot create the send lock ({reason}); check the ledger folder.").format(path=path, reason=exc.strerror)
        ) from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked(issue, shard, _holder(path)) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "started": now.isoformat(timespec="seconds"),
                                     "command": command or " ".join(["webzine", *sys.argv[1:]])},
                                    ensure_ascii=False))
            handle.flush()
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
