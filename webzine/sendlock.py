"""One send per issue and ledger at a time.

A send holds an exclusive `flock` on `<ledger>.<issue>.lock` for its whole run. The kernel drops
the lock when the process ends, however it ends (a crash, SIGKILL, a reboot), so a lock can never
outlive its owner on this machine: the file's content — PID, host, start time, command — only
tells the second send *who* is running. A lock file left by a process on another host (a ledger
on a shared disk) whose `flock` is no longer held is simply taken over.

The ledger's claims are atomic on their own (see `Ledger.commit`); the lock makes a second run
stop at once with one clear line instead of competing for recipients.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from webzine.errors import SendLocked, StorageError


def lock_path(ledger: Path, issue: str) -> Path:
    return ledger.with_name(f"{ledger.name}.{issue}.lock")


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another process"
    return (f"pid {info.get('pid', '?')} on {info.get('host', '?')} since {info.get('started', '?')}"
            f" ({info.get('command', 'webzine send')})")


@contextmanager
def send_lock(ledger: Path, issue: str, *, now: datetime, command: str | None = None) -> Iterator[Path]:
    """Hold the issue's send lock, or raise `SendLocked` naming the running send."""
    path = lock_path(ledger, issue)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"{path}: cannot create the send lock ({exc.strerror}); check the ledger folder.") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SendLocked(
                f"{issue} is already being sent with this ledger by {_holder(path)}; nothing was sent.",
                hint="wait for it to finish (webzine status shows its progress), then re-run to send whatever is left.",
            ) from None
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
