"""The outcome table: every kind of transport answer → ledger state, stop, retry, error count."""

from __future__ import annotations

import pytest

from webzine.models import Delivery, Outcome
from webzine.send.ledger import State
from webzine.send.outcomes import Fate, verdict_for


@pytest.mark.parametrize(
    ("delivery", "fate", "state", "error"),
    [
        (Delivery(Outcome.ACCEPTED, 250, "2.0.0"), Fate.ACCEPTED, State.ACCEPTED, False),
        (Delivery(Outcome.PERMANENT, 550, "5.1.1", "no such user"), Fate.FAILED, State.FAILED, False),
        (Delivery(Outcome.PERMANENT, 552, "5.2.2", "mailbox full"), Fate.FAILED, State.FAILED, True),
        (Delivery(Outcome.PERMANENT, 550, "5.7.1", "policy", sender_problem=True),
         Fate.SENDER_PROBLEM, State.DEFERRED, False),
        (Delivery(Outcome.TEMPORARY, 401, text="unauthorised", sender_problem=True),
         Fate.SENDER_PROBLEM, State.DEFERRED, False),
        (Delivery(Outcome.TEMPORARY, 451, "4.3.0", "try later"), Fate.RETRY, State.DEFERRED, True),
        (Delivery(Outcome.TEMPORARY, 429, retry_after=30.0), Fate.RETRY, State.DEFERRED, True),
        (Delivery(Outcome.TEMPORARY, text="connection lost after DATA", ambiguous=True),
         Fate.UNKNOWN, State.CLAIMED, True),
    ],
    ids=["accepted", "hard-bounce", "permanent", "policy", "401", "temporary", "429", "ambiguous"],
)
def test_each_answer_has_one_verdict(delivery: Delivery, fate: Fate, state: State, error: bool) -> None:
    verdict = verdict_for(delivery)
    assert (verdict.fate, verdict.state, verdict.error) == (fate, state, error)
