"""Who a send will mail, who is done, who is unknown, who is suppressed — decided in one place.

`decide` is the rule for one recipient; `make_plan` applies it to a whole list with the run's
`--limit`. The dry run prints the plan, the send executes the same rule chunk by chunk (so a
million recipients never need a plan in memory), and `status`/`due` count with it: the three
cannot disagree, because there is only one rule.

A rehearsal is not a delivery: a ledger row written by a rehearsal transport (the local outbox)
does not count for a send through a real transport (SMTP, an API), which mails that person as if
the rehearsal had never happened. A row written by a real transport counts for every send.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from webzine.send.ledger import LedgerEntry, State
from webzine.models import Recipient
from webzine.transports import REHEARSALS


class Action(StrEnum):
    SEND = "send"  # this run hands the message over
    DONE = "done"  # accepted earlier (by a real transport, or by this rehearsal transport)
    FAILED = "failed"  # failed permanently earlier; --retry-failed sends them again
    UNKNOWN = "unknown"  # claimed by a run that stopped: may have it; --resend-unknown sends
    SUPPRESSED = "suppressed"  # suppressed after the list was cleaned (the live watch)
    LATER = "later"  # would be sent, but --limit stops this run before them


@dataclass(frozen=True, slots=True)
class PlanOptions:
    transport: str
    only: frozenset[str] = frozenset()  # recipient keys; empty = everyone
    limit: int | None = None
    resend_unknown: bool = False
    retry_failed: bool = False

    @property
    def rehearsal(self) -> bool:
        return self.transport in REHEARSALS


def counts_for(entry: LedgerEntry | None, options: PlanOptions) -> LedgerEntry | None:
    """The ledger row as this run must read it: a rehearsal's row is no row for a real send."""
    if entry is None:
        return None
    if entry.rehearsal and not options.rehearsal:
        return None
    return entry


def decide(entry: LedgerEntry | None, suppressed: bool, options: PlanOptions) -> Action:
    """One recipient's fate in this run, before `--limit`."""
    entry = counts_for(entry, options)
    state = entry.state if entry is not None else None
    if state is State.ACCEPTED:
        return Action.DONE
    if state is State.FAILED and not options.retry_failed:
        return Action.FAILED
    if state is State.CLAIMED and not options.resend_unknown:
        return Action.UNKNOWN
    if suppressed:
        return Action.SUPPRESSED
    return Action.SEND


@dataclass
class Plan:
    """The decision for every recipient of a run, in list order (`--only` ones alone)."""

    options: PlanOptions
    actions: list[tuple[Recipient, Action]] = field(default_factory=list)

    @property
    def counts(self) -> Counter[Action]:
        return Counter(action for __, action in self.actions)

    def keys(self, action: Action) -> list[str]:
        return [recipient.key for recipient, chosen in self.actions if chosen is action]

    @property
    def complete(self) -> bool:
        """Nothing left for a re-run: every recipient has a final outcome."""
        counts = self.counts
        return not (counts[Action.SEND] or counts[Action.LATER] or counts[Action.UNKNOWN])


def plan_actions(recipients: Iterable[Recipient], entries_of: Callable[[list[str]], Mapping[str, LedgerEntry]],
                 suppressed: Mapping[str, object], options: PlanOptions, *,
                 chunk_size: int = 10_000) -> Iterator[tuple[Recipient, Action]]:
    """Each recipient's action in list order, reading the ledger rows of `chunk_size` recipients
    at a time through `entries_of(keys)`: a list of any length in bounded memory."""
    sending = 0
    wanted = (r for r in recipients if not options.only or r.key in options.only)
    while chunk := list(itertools.islice(wanted, chunk_size)):
        entries = entries_of([recipient.key for recipient in chunk])
        for recipient in chunk:
            action = decide(entries.get(recipient.key), recipient.key in suppressed, options)
            if action is Action.SEND:
                if options.limit is not None and sending >= options.limit:
                    action = Action.LATER
                else:
                    sending += 1
            yield recipient, action


def make_plan(recipients: Iterable[Recipient], entries: Mapping[str, LedgerEntry],
              suppressed: Mapping[str, object], options: PlanOptions) -> Plan:
    """The plan for `recipients` given the ledger rows of this issue and who is suppressed now."""
    return Plan(options, list(plan_actions(recipients, lambda _keys: entries, suppressed, options)))
