"""What a transport's answer means for the ledger and for the run: one pure table.

`verdict_for(delivery)` decides, from the answer alone, the recipient's ledger state, whether the
run must stop (a sender problem is not the recipient's fault, and the next message would meet it
too), whether the recipient may be retried in this run, and whether the answer counts towards
`stop_after_consecutive_errors`. The dispatcher (`dispatch.py`) applies the verdict; it decides
nothing about outcomes itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from webzine.models import Delivery, Outcome
from webzine.send.ledger import State


class Fate(Enum):
    ACCEPTED = "accepted"  # the server took it
    SENDER_PROBLEM = "sender problem"  # authentication, 5.7.x policy, 401/403: stop, recipient not at fault
    FAILED = "failed"  # permanent refusal for this recipient (5.1.x: a hard bounce, suppressed)
    UNKNOWN = "unknown"  # may have been delivered (the answer was lost): never retried into a duplicate
    RETRY = "retry"  # temporary: retried with backoff until the deadline, then left deferred


@dataclass(frozen=True, slots=True)
class Verdict:
    fate: Fate
    state: State  # what the ledger records for the recipient
    error: bool  # counts towards stop_after_consecutive_errors (an acceptance resets the count)


_ACCEPTED = Verdict(Fate.ACCEPTED, State.ACCEPTED, error=False)
_SENDER_PROBLEM = Verdict(Fate.SENDER_PROBLEM, State.DEFERRED, error=False)


def verdict_for(delivery: Delivery) -> Verdict:
    """The one rule from a transport's answer to the recipient's fate. A hard bounce is the
    recipient's address, not a sign that sending is broken: it does not count as an error."""
    if delivery.outcome is Outcome.ACCEPTED:
        return _ACCEPTED
    if delivery.sender_problem:
        return _SENDER_PROBLEM
    error = not delivery.hard_bounce
    if delivery.outcome is Outcome.PERMANENT:
        return Verdict(Fate.FAILED, State.FAILED, error)
    if delivery.ambiguous:
        return Verdict(Fate.UNKNOWN, State.CLAIMED, error)
    return Verdict(Fate.RETRY, State.DEFERRED, error)
