"""The reply store (`state/replies.jsonl`, next to the bounce events): one JSON line per message.

Importing the same mailbox twice adds nothing and rewrites nothing (the Message-ID is the key).
A write takes the lock and replaces the file atomically, so a crash never leaves half a line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from webzine.bounces.store import locked, read_records
from webzine.files import atomic_writer
from webzine.i18n import _
from webzine.replies.records import Reply


def load_replies(path: str | Path) -> list[Reply]:
    """Every stored reply, in the order they were imported; a missing store is empty."""
    return read_records(path, Reply.from_json, _("a stored reply"))


def save_replies(path: str | Path, new: Iterable[Reply],
                 answers: dict[str, tuple[str, str]]) -> tuple[list[Reply], list[Reply]]:
    """Add the replies whose Message-ID is new and mark the answered ones (Message-ID → (when,
    who)); return (added, newly answered). Nothing changes → the file is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        stored = {reply.message_id: reply for reply in load_replies(path)}
        added = []
        for reply in new:
            if reply.message_id not in stored:
                stored[reply.message_id] = reply
                added.append(reply)
        answered = []
        for message_id, (when, who) in answers.items():
            reply = stored.get(message_id)
            if reply is not None and reply.kind == "human_reply" and not reply.answered_at:
                stored[message_id] = replace(reply, answered_at=when, answered_by=who)
                answered.append(stored[message_id])
        if added or answered:
            with atomic_writer(path) as handle:
                handle.write("".join(reply.to_json() + "\n" for reply in stored.values()))
    return added, answered
