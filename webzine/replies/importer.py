"""`webzine replies import`: sources → replies kept for their account managers → the store.

Each message's kind decides who owns it: human replies, auto-replies and other mail are this
import's (read, stored or counted, and acknowledged: an IMAP source moves them to the processed
folder); bounces, delays, complaints and unsubscribe requests are left for `webzine bounces
import`. A human reply is kept when it answers one of our Message-IDs (the send ledger) or its
sender is on the subscriber list; a message from an account manager that answers a kept reply
marks it answered. Auto-replies are stored only to be counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from webzine.bounces.kinds import MessageKind
from webzine.bounces.policy import SentRow
from webzine.bounces.sources import EventFile, Item, Source, SourceError
from webzine.i18n import _
from webzine.models import Manager
from webzine.replies.reader import Incoming, read_message
from webzine.replies.records import Reply
from webzine.replies.store import save_replies

OWN_KINDS = frozenset({MessageKind.HUMAN_REPLY, MessageKind.AUTO_REPLY, MessageKind.OTHER})


class SendHistory(Protocol):
    """What the import asks the send ledger (webzine.send.ledger.Ledger implements it)."""

    def find_by_message_id(self, message_id: str) -> tuple[str, str] | None: ...

    def history(self, email: str) -> Sequence[SentRow]: ...


@dataclass(frozen=True, slots=True)
class Customer:
    """A subscriber as the reply report shows them."""

    email: str
    name: str = ""
    company: str = ""
    manager: str = ""  # manager id


@dataclass
class ImportResult:
    read: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # every message read, by MessageKind
    fresh: list[Reply] = field(default_factory=list)  # human replies and auto-replies not stored before
    known: int = 0  # already in the store
    strangers: int = 0  # human replies and other mail from outside the list that answer nothing of ours
    answered: list[Reply] = field(default_factory=list)  # replies a manager's answer marked answered
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, error)

    @property
    def fresh_replies(self) -> list[Reply]:
        return [reply for reply in self.fresh if reply.kind == MessageKind.HUMAN_REPLY]

    @property
    def fresh_auto_replies(self) -> int:
        return sum(1 for reply in self.fresh if reply.kind == MessageKind.AUTO_REPLY)


def run_import(sources: Sequence[Source], *, store_path: str | Path, customers: Mapping[str, Customer],
               managers: Mapping[str, Manager], lookup: SendHistory | None = None) -> ImportResult:
    """The whole import: each source's replies are stored before its messages are acknowledged;
    a source that cannot be read is recorded in `failed` and the others still count."""
    result = ImportResult()
    manager_addresses = {manager.email.lower(): manager.name or manager.email for manager in managers.values()}
    for source in sources:
        try:
            replies, answers, handled = _read_source(source, result, customers, manager_addresses, lookup)
            added, answered = save_replies(store_path, replies, answers)
            source.done(handled)
        except SourceError as exc:
            result.failed.append((source.label, exc.message))
            continue
        result.fresh.extend(added)
        result.known += len(replies) - len(added)
        result.answered.extend(answered)
    return result


def _read_source(source: Source, result: ImportResult, customers: Mapping[str, Customer],
                 manager_addresses: Mapping[str, str], lookup: SendHistory | None,
                 ) -> tuple[list[Reply], dict[str, tuple[str, str]], list[Item]]:
    replies: list[Reply] = []
    answers: dict[str, tuple[str, str]] = {}
    handled: list[Item] = []
    for item in source.items():
        if isinstance(item, EventFile):
            result.skipped.append((item.source, _("a provider event file: `webzine bounces import` reads it")))
            continue
        result.read += 1
        if item.skip:
            result.skipped.append((item.source, item.skip))
            continue
        try:
            incoming = read_message(item.data)
        except Exception as exc:  # noqa: BLE001 - the email package on hostile input; one message, not the run
            result.skipped.append((item.source, _("could not be parsed ({error}: {reason})").format(
                error=type(exc).__name__, reason=exc)))
            continue
        result.kinds[incoming.kind.value] += 1
        if incoming.kind not in OWN_KINDS:
            continue  # a bounce, delay, complaint or unsubscribe request: `webzine bounces import`'s
        handled.append(item)
        if incoming.sender in manager_addresses and incoming.kind is not MessageKind.AUTO_REPLY:
            for message_id in incoming.references:
                answers[message_id] = (incoming.received_at[:10], manager_addresses[incoming.sender])
            continue
        reply = _reply(incoming, item.source, customers, lookup)
        if reply is None:
            result.strangers += 1
        else:
            replies.append(reply)
    return replies, answers, handled


def _reply(incoming: Incoming, source: str, customers: Mapping[str, Customer],
           lookup: SendHistory | None) -> Reply | None:
    """The stored form of a message, or None for a stranger's mail that answers nothing of ours."""
    answered = next((hit for hit in map(lookup.find_by_message_id, incoming.references) if hit), None) if (
        lookup is not None) else None
    customer = customers.get(incoming.sender) or (customers.get(answered[1].lower()) if answered else None)
    auto = incoming.kind is MessageKind.AUTO_REPLY
    if answered is None and customer is None and not auto:
        return None
    issue = answered[0] if answered else _last_issue(incoming, lookup)
    return Reply(
        message_id=incoming.message_id, kind=MessageKind.AUTO_REPLY.value if auto else MessageKind.HUMAN_REPLY.value,
        sender=incoming.sender, received_at=incoming.received_at, sender_name=incoming.sender_name,
        subject=incoming.subject, excerpt="" if auto else incoming.excerpt, issue=issue,
        customer=customer.name if customer else "", company=customer.company if customer else "",
        manager=customer.manager if customer else "", matched_by="message_id" if answered else (
            "subscriber" if customer else ""), source=source)


def _last_issue(incoming: Incoming, lookup: SendHistory | None) -> str | None:
    """The last issue the ledger sent to the writer before the message (it answers that one)."""
    if lookup is None or not incoming.sender:
        return None
    sent = [row for row in lookup.history(incoming.sender)
            if not incoming.received_at or _before(row.claimed_at, incoming.received_at)]
    return sent[-1].issue if sent else None


def _before(claimed_at: str, received_at: str) -> bool:
    try:
        return datetime.fromisoformat(claimed_at) <= datetime.fromisoformat(received_at)
    except (TypeError, ValueError):
        return True
