"""The plan the dry run prints is what the send does: one rule (`plan.decide`) for both, on a SQLite
and on a PostgreSQL ledger.

A property test over random lists, ledgers (every state, written by a real transport or by the
outbox rehearsal), suppressions and options: the plan made from the ledger before a run names
exactly the recipients a send to an in-memory transport then hands over, and its counts are the
run's summary.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import sendkit
from conftest import TODAY
from ledgerkit import emptied, location, pg_url, postgres  # noqa: F401  (fixtures: SQLite and PostgreSQL)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webzine.send.ledger import Claim, Ledger, Result, State
from webzine.message.factory import MessageFactory
from webzine.models import Suppression, SuppressionReason
from webzine.send.pacing import SuppressionWatch
from webzine.send.plan import Action, make_plan
from webzine.send.dispatch import Sender, SendOptions
from webzine.recipients.suppressions import load_suppressions, write_suppressions
from webzine.transports.memory import MemoryTransport
import pytest

ROW = st.one_of(st.none(), st.tuples(st.sampled_from(list(State)), st.sampled_from(["smtp", "outbox"])))


@st.composite
def situations(draw):  # type: ignore[no-untyped-def]
    size = draw(st.integers(min_value=0, max_value=24))
    rows = draw(st.lists(ROW, min_size=size, max_size=size))
    suppressed = draw(st.sets(st.integers(min_value=0, max_value=max(0, size - 1)), max_size=size))
    only = draw(st.sets(st.integers(min_value=0, max_value=max(0, size - 1)), max_size=3))
    options = SendOptions(
        limit=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=size + 2))),
        only=frozenset(sendkit.recipient(n).key for n in only) if draw(st.booleans()) else frozenset(),
        resend_unknown=draw(st.booleans()), retry_failed=draw(st.booleans()),
    )
    return size, rows, suppressed, options, draw(st.sampled_from(["smtp", "outbox"]))


def seed_ledger(ledger: Ledger, issue: str, rows: list) -> None:  # type: ignore[type-arg]
    for number, row in enumerate(rows):
        if row is None:
            continue
        state, transport = row
        recipient = sendkit.recipient(number)
        ledger.commit(issue, transport=transport, run_id=None,
                      claims=[Claim(recipient.key, recipient.email, f"{issue}.{number}@x", None)])
        if state is not State.CLAIMED:
            ledger.commit(issue, transport=transport, run_id=None, outcomes=[Result(recipient.key, state, 250)])


@pytest.mark.slow
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # emptied per example
@given(situations())
def test_the_plan_is_what_the_send_does(location: str, situation) -> None:  # type: ignore[no-untyped-def]
    size, rows, suppressed, options, transport_name = situation
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings_ = sendkit.settings(root, rate=1_000_000)
        factory = MessageFactory(sendkit.rendered(paragraphs=1), settings_, token_key=sendkit.SECRET,
                                 managers=sendkit.MANAGERS)
        recipients = [sendkit.recipient(n) for n in range(size)]
        write_suppressions(root / "s.csv", [Suppression(recipients[n].email, SuppressionReason.UNSUBSCRIBED, TODAY)
                                            for n in sorted(suppressed)])
        watch = SuppressionWatch(root / "s.csv", load_suppressions)
        with emptied(location) as ledger:
            seed_ledger(ledger, factory.issue, rows)
            plan = make_plan(recipients, ledger.all_states(factory.issue), load_suppressions(root / "s.csv"),
                             options.rule(transport_name))
            transport = MemoryTransport(name=transport_name)
            summary = Sender(settings_, today=TODAY, factory=factory, transport=transport, ledger=ledger,
                             suppressions=watch, options=options).run(recipients)
    counts = plan.counts
    assert [m.key for m in transport.handed] == plan.keys(Action.SEND)
    assert (summary.accepted, summary.already_accepted, summary.already_failed, summary.unknown,
            summary.suppressed, summary.later) == (counts[Action.SEND], counts[Action.DONE], counts[Action.FAILED],
                                                   counts[Action.UNKNOWN], counts[Action.SUPPRESSED], counts[Action.LATER])


def test_a_rehearsal_does_not_count_for_a_real_send_but_a_delivery_counts_for_both(location: str) -> None:
    recipients = [sendkit.recipient(n) for n in range(2)]
    with emptied(location) as ledger:
        seed_ledger(ledger, "i", [(State.ACCEPTED, "outbox"), (State.ACCEPTED, "smtp")])
        entries = ledger.all_states("i")
    real = make_plan(recipients, entries, {}, SendOptions().rule("smtp"))
    rehearsal = make_plan(recipients, entries, {}, SendOptions().rule("outbox"))
    assert [action for _, action in real.actions] == [Action.SEND, Action.DONE]
    assert [action for _, action in rehearsal.actions] == [Action.DONE, Action.DONE]
