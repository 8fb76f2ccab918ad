"""Stored events → suppressions.

hard → suppress at once; complaint → suppress; an unsubscribe request → suppress as
`unsubscribed`; soft → suppress after `soft_limit` distinct issues in a row with a soft bounce
and no success in between. `delayed`, `sender_problem`, `unknown`, `auto_reply` and `delivered`
never suppress anyone: a delay warning only says the server is still trying, the next two are for
a person to read, and `delivered` resets the soft streak.

The policy runs over the whole event history (plus the ledger's send history when there is one),
so it is a pure function: the same events always give the same suppressions, and a changed
limit can simply be re-applied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Protocol

from webzine.bounces.events import BounceEvent, Kind
from webzine.models import Suppression, SuppressionReason

# The event kinds that suppress an address at once, with the reason each gives (soft bounces are
# counted across issues instead, below).
SUPPRESSION_REASONS = {Kind.HARD: SuppressionReason.HARD_BOUNCE, Kind.COMPLAINT: SuppressionReason.COMPLAINT,
                       Kind.UNSUBSCRIBE: SuppressionReason.UNSUBSCRIBED}


class SentRow(Protocol):
    """What the policy needs from a ledger row (webzine.send.ledger.Row has these)."""

    issue: str
    state: str
    claimed_at: str


History = Callable[[str], Sequence[SentRow]]


@dataclass(frozen=True, slots=True)
class Streak:
    email: str
    issues: tuple[str, ...]  # the issues in the current run of soft bounces, oldest first
    last: BounceEvent


def suppressions(events: Iterable[BounceEvent], *, soft_limit: int, today: date,
                 history: History | None = None) -> list[Suppression]:
    """Who must be suppressed according to these events, with the evidence for each. `today`
    dates an entry whose event has no time of its own."""
    by_address: dict[str, list[BounceEvent]] = defaultdict(list)
    for event in events:
        by_address[event.key].append(event)
    found: list[Suppression] = []
    for key, mine in by_address.items():
        decisive = [e for e in mine if e.kind in SUPPRESSION_REASONS]
        if decisive:
            event = max(decisive, key=lambda e: (_rank(e.kind), _moment(e)))
            found.append(_suppression(event, SUPPRESSION_REASONS[event.kind], today))
            continue
        streak = soft_streak(mine, history(key) if history else ())
        if len(streak.issues) >= soft_limit:
            detail = f"soft bounces in {len(streak.issues)} issues in a row: {', '.join(streak.issues)}"
            found.append(_suppression(streak.last, SuppressionReason.SOFT_BOUNCE_LIMIT, today, detail))
    return found


def soft_streak(events: Sequence[BounceEvent], sent: Sequence[SentRow] = ()) -> Streak:
    """The current run of issues with a soft bounce, newest last, broken by any success.

    A success is a delivery report, or (with the ledger) an issue the server accepted that drew
    no bounce; a delay warning (`delayed`, or a provider's soft event with `Action: delayed`) is
    neither. Without an issue name (no VERP, no ledger match) the bounce's month stands in for it:
    one issue a month is the publication's rhythm, so two soft bounces in one month count once."""
    softs: dict[str, BounceEvent] = {}
    order: dict[str, str] = {}
    successes: set[str] = set()
    for event in sorted(events, key=_moment):
        issue = event.issue or _month(event)
        if event.kind is Kind.SOFT and event.evidence.get("action") != "delayed":
            # A "still trying" warning is not a failure: the message may yet be delivered.
            softs.setdefault(issue, event)
            order.setdefault(issue, _moment(event).isoformat())
        elif event.kind is Kind.DELIVERED:
            successes.add(issue)
            order.setdefault(issue, _moment(event).isoformat())
    for row in sent:
        order[row.issue] = row.claimed_at
        if str(row.state) == "accepted" and row.issue not in softs:
            successes.add(row.issue)
    run: list[str] = []
    for issue in sorted(order, key=lambda i: order[i]):
        if issue in softs and issue not in successes:
            run.append(issue)
        elif issue in successes:
            run = []
    last = softs[run[-1]] if run else (max(events, key=_moment) if events else None)
    return Streak(events[0].email if events else "", tuple(run), last)  # type: ignore[arg-type]


def _suppression(event: BounceEvent, reason: SuppressionReason, today: date, detail: str = "") -> Suppression:
    when = event.occurred_at.date() if event.occurred_at else today
    words = [w for w in (event.status, event.reason, event.diagnostic[:200]) if w]
    text = detail or " ".join(words)
    if event.issue:
        text += f" (issue {event.issue})"
    return Suppression(email=event.email, reason=reason, since=when, source=f"bounces:{event.dedupe_key}",
                       detail=text.replace("\n", " "))


def _rank(kind: Kind) -> int:
    return {Kind.COMPLAINT: 3, Kind.UNSUBSCRIBE: 2, Kind.HARD: 1}.get(kind, 0)


def _moment(event: BounceEvent) -> datetime:
    moment = event.occurred_at or datetime.min.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _month(event: BounceEvent) -> str:
    return _moment(event).strftime("month:%Y-%m")
