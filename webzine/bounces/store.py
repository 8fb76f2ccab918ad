"""The append-only bounce event store (`[bounces] events`, JSON Lines).

Every event ever imported is kept, with its evidence, so the suppression policy can be
re-applied to the whole history and a person can see why an address was suppressed. The dedupe
key makes imports idempotent: importing the same mailbox twice adds nothing and rewrites nothing.
Writes take an exclusive lock and replace the file atomically (temp file in the same folder,
fsync, rename), so a crash never leaves half a line and two imports never interleave.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from webzine.bounces.events import BounceEvent
from webzine.errors import ListError, where
from webzine.i18n import _
from webzine.files import atomic_writer

T = TypeVar("T")

def load_events(path: str | Path) -> list[BounceEvent]:
    """All stored events, oldest first; a missing store is empty."""
    return read_records(path, BounceEvent.from_json, _("a bounce event"))


def read_records(path: str | Path, parse: Callable[[str], T], what: str) -> list[T]:
    """Every line of a JSON Lines store through `parse`; a missing store is empty, a broken line
    is an error naming the file and line."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(parse(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise ListError(_("{place}: not {what} ({reason}); restore the line from a backup or delete it.").format(
                    place=where(path, number), what=what, reason=exc)) from exc
    return records

def append_events(path: str | Path, events: Iterable[BounceEvent]) -> list[BounceEvent]:
    """Add the events whose dedupe key is new; return those. Nothing new → the file is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        known = {event.dedupe_key for event in load_events(path)}
        fresh: list[BounceEvent] = []
        for event in events:
            if event.dedupe_key not in known:
                known.add(event.dedupe_key)
                fresh.append(event)
        if fresh:
            _rewrite(path, [line.rstrip("\n") for line in _lines(path)] + [e.to_json() for e in fresh])
    return fresh

def _lines(path: Path) -> Iterator[str]:
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            yield from (line for line in handle if line.strip())

def _rewrite(path: Path, lines: list[str]) -> None:
    with atomic_writer(path) as handle:
        handle.write("\n".join(lines) + "\n")

@contextmanager
def locked(path: Path) -> Iterator[None]:
    """A sibling lock file, so the lock survives the data file being replaced."""
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

def write_json(path: str | Path, data: object) -> None:
    """The last import's report, replaced atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _rewrite(path, [json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)])
