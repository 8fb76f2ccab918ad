from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import TODAY

import sendkit
from ledgerkit import location, pg_url, postgres  # noqa: F401  (fixtures: SQLite and PostgreSQL)
from webzine.errors import MessageUnsupported, SenderProblem, TransportError
from webzine.send.ledger import Claim, Ledger, State
from webzine.message.factory import MessageFactory
from webzine.models import SuppressionReason
from webzine.send.pacing import SuppressionWatch, TokenBucket, backoff
from webzine.send.dispatch import Sender, SendOptions
from webzine.recipients.suppressions import load_suppressions, merge_suppressions
from webzine.transports.memory import MemoryTransport
from webzine.models import Delivery, Outcome, Message


class FakeClock:
    """Simulated time for inline runs: sleeping advances the clock instantly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make(tmp_path: Path, transport: MemoryTransport, *, options: SendOptions = SendOptions(), clock: FakeClock | None = None,
         stop: threading.Event | None = None, watch_interval: float = 5.0, progress=None,  # type: ignore[no-untyped-def]
         **send: object) -> tuple[Sender, Ledger]:
    send.setdefault("rate", 1_000_000)
    settings = sendkit.settings(tmp_path, **send)
    factory = MessageFactory(sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET, managers=sendkit.MANAGERS)
    ledger = Ledger.open(tmp_path / "ledger.sqlite3")
    suppressions = tmp_path / "suppressions.csv"
    clock_args = {"clock": clock, "sleep": clock.sleep} if clock else {}
    watch = SuppressionWatch(suppressions, load_suppressions, interval=watch_interval, **({"clock": clock} if clock else {}))
    sender = Sender(settings, today=TODAY, factory=factory, transport=transport, ledger=ledger, suppressions=watch,
                    options=options, stop=stop, merge_suppressions=lambda new: merge_suppressions(suppressions, new),
                    progress=progress, **clock_args)
    return sender, ledger


def people(count: int, start: int = 0):
    return [sendkit.recipient(n) for n in range(start, start + count)]


def test_everyone_once_then_a_rerun_sends_nothing(tmp_path: Path) -> None:
    transport = MemoryTransport(inline=False)
    sender, ledger = make(tmp_path, transport, concurrency=4)
    summary = sender.run(people(60))
    assert summary.accepted == 60 and summary.exit_code == 0
    assert sorted(m.rcpt_to for m in transport.accepted) == sorted(r.email for r in people(60))
    assert ledger.counts(sender.issue)[0].accepted == 60
    rows = ledger.rows(sender.issue, State.ACCEPTED)
    assert {row.provider_id for row in rows} == {f"memory-{n}" for n in range(1, 61)}
    assert all(row.verp and row.message_id for row in rows)

    again = MemoryTransport()
    second, _ = make(tmp_path, again)
    summary = second.run(people(60))
    assert again.accepted == [] and summary.already_accepted == 60 and summary.exit_code == 0


def test_concurrency_is_bounded_and_the_rate_is_paced(tmp_path: Path) -> None:
    transport = MemoryTransport(inline=False, latency=0.01)
    sender, _ = make(tmp_path, transport, concurrency=3, rate=100)
    began = time.monotonic()
    summary = sender.run(people(60))
    took = time.monotonic() - began
    assert summary.accepted == 60
    assert transport.peak_in_flight <= 3
    assert took >= (60 - 30) / 100  # the bucket holds at most rate/10 (or concurrency) tokens of burst


def test_temporary_failures_are_retried_with_backoff_then_succeed(tmp_path: Path) -> None:
    clock = FakeClock()
    target = "user3@example.com"
    transport = MemoryTransport(answers={target: [Delivery(Outcome.TEMPORARY, 451, "4.3.0", "try later")] * 2})
    sender, ledger = make(tmp_path, transport, clock=clock)
    summary = sender.run(people(5))
    assert summary.accepted == 5 and summary.retries == 2 and summary.exit_code == 0
    row = next(r for r in ledger.rows(sender.issue) if r.key == target)
    assert row.state is State.ACCEPTED and row.attempts == 3
    assert clock.now - 1000.0 >= 1.0 + 2.0  # two backoffs: at least half of 2 s and of 4 s


def test_retries_stop_at_the_deadline_and_a_rerun_picks_them_up(tmp_path: Path) -> None:
    clock = FakeClock()
    target = "user1@example.com"
    transport = MemoryTransport(answers={target: [Delivery(Outcome.TEMPORARY, 421, "4.4.2", "busy")] * 50})
    sender, ledger = make(tmp_path, transport, clock=clock, retry_deadline_seconds=30, max_attempts=99)
    summary = sender.run(people(3))
    assert summary.deferred == 1 and summary.exit_code == 3
    assert ledger.counts(sender.issue)[0].deferred == 1
    assert clock.now - 1000.0 <= 30 + 1

    transport.answers.clear()
    rerun, _ = make(tmp_path, transport, clock=clock)
    summary = rerun.run(people(3))
    assert summary.accepted == 1 and summary.already_accepted == 2 and summary.exit_code == 0


def test_hard_bounces_fail_and_feed_the_suppression_list(tmp_path: Path) -> None:
    bounce = Delivery(Outcome.PERMANENT, 550, "5.1.1", "no such user")
    policy = Delivery(Outcome.PERMANENT, 554, "5.6.0", "content rejected")
    transport = MemoryTransport(answers={"user2@example.com": [bounce], "user4@example.com": [policy]})
    sender, ledger = make(tmp_path, transport)
    summary = sender.run(people(6))
    assert (summary.accepted, summary.failed, summary.hard_bounces, summary.exit_code) == (4, 2, 1, 1)
    suppressed = load_suppressions(tmp_path / "suppressions.csv")
    assert list(suppressed) == ["user2@example.com"]
    assert suppressed["user2@example.com"].reason is SuppressionReason.HARD_BOUNCE
    assert "5.1.1" in suppressed["user2@example.com"].detail
    failed = {r.key: r for r in ledger.rows(sender.issue, State.FAILED)}
    assert failed["user2@example.com"].status == "5.1.1" and failed["user4@example.com"].code == 554


@pytest.mark.parametrize(
    "step",
    [
        Delivery(Outcome.PERMANENT, 535, "5.7.8", "authentication failed", sender_problem=True),
        SenderProblem("smtp.example.co.kr:587 refused the login (535 5.7.8); check WEBZINE_SMTP_PASSWORD."),
    ],
)
def test_a_sender_problem_stops_the_run_and_a_rerun_resumes(tmp_path: Path, step) -> None:
    transport = MemoryTransport(answers={"user5@example.com": [step]})
    sender, ledger = make(tmp_path, transport, concurrency=1)
    summary = sender.run(people(20))
    assert summary.exit_code == 3 and summary.stopped.startswith("sender problem")
    assert summary.accepted == 5
    counts = ledger.counts(sender.issue)[0]
    assert counts.unknown == 0 and counts.deferred >= 1
    rerun, _ = make(tmp_path, transport)
    assert rerun.run(people(20)).exit_code == 0
    assert Counter(m.rcpt_to for m in transport.accepted) == Counter(r.email for r in people(20))


def test_a_burst_of_errors_stops_the_run(tmp_path: Path) -> None:
    refusal = Delivery(Outcome.PERMANENT, 554, "5.0.0", "rejected")
    script = {r.email: [refusal] for r in people(10)}
    sender, _ = make(Path(tmp_path), MemoryTransport(answers=script), stop_after_consecutive_errors=4)
    summary = sender.run(people(30))
    assert summary.failed == 4 and summary.stopped.startswith("4 errors in a row") and summary.exit_code == 3


def test_transport_errors_are_temporary(tmp_path: Path) -> None:
    clock = FakeClock()
    transport = MemoryTransport(answers={"user0@example.com": [TransportError("127.0.0.1:2525: connection refused.")]})
    sender, _ = make(tmp_path, transport, clock=clock)
    summary = sender.run(people(2))
    assert summary.accepted == 2 and summary.retries == 1


def test_a_problem_of_the_issue_marks_nobody_failed_and_a_rerun_sends_everyone(tmp_path: Path) -> None:
    """A message the transport can never carry is the issue's problem: the run stops, the claimed
    recipients are left for a re-run (deferred), and once fixed everyone is sent."""
    cannot = MessageUnsupported("message <x> has attachments or inline parts, which this JSON API transport cannot carry")
    transport = MemoryTransport(answers={r.email: [cannot] for r in people(6)})
    sender, ledger = make(tmp_path, transport, concurrency=1)
    summary = sender.run(people(6))
    assert summary.stopped.startswith("the issue cannot be sent this way") and summary.failed == 0
    counts = ledger.counts(sender.issue)[0]
    assert (counts.failed, counts.unknown, counts.accepted) == (0, 0, 0)
    fixed, _ = make(tmp_path, MemoryTransport())
    assert fixed.run(people(6)).accepted == 6


def test_retry_failed_sends_again_to_those_who_failed_and_only_to_them(tmp_path: Path) -> None:
    refusal = Delivery(Outcome.PERMANENT, 554, "5.6.0", "content rejected")
    sender, _ = make(tmp_path, MemoryTransport(answers={"user1@example.com": [refusal], "user3@example.com": [refusal]}))
    assert sender.run(people(5)).failed == 2
    plain, _ = make(tmp_path, MemoryTransport())
    assert (plain.run(people(5)).accepted, plain.summary.already_failed) == (0, 2)
    transport = MemoryTransport()
    again, ledger = make(tmp_path, transport, options=SendOptions(retry_failed=True))
    summary = again.run(people(5))
    assert (summary.accepted, summary.retried_failed, summary.already_accepted) == (2, 2, 3)
    assert sorted(m.rcpt_to for m in transport.accepted) == ["user1@example.com", "user3@example.com"]
    assert ledger.counts(again.issue)[0].failed == 0


def test_a_stop_request_finishes_in_flight_work_and_leaves_no_unknowns(tmp_path: Path) -> None:
    stop = threading.Event()
    transport = MemoryTransport(inline=False, latency=0.02)
    sender, ledger = make(tmp_path, transport, concurrency=2, rate=200, stop=stop)
    threading.Timer(0.3, stop.set).start()
    summary = sender.run(people(200))
    assert summary.exit_code == 3 and summary.stopped == "interrupted"
    counts = ledger.counts(sender.issue)[0]
    assert counts.unknown == 0 and 0 < counts.accepted < 200
    rerun, _ = make(tmp_path, transport)
    assert rerun.run(people(200)).exit_code == 0
    assert Counter(m.rcpt_to for m in transport.accepted) == Counter(r.email for r in people(200))


def test_unsafe_recipients_are_rejected_and_never_handed_over(tmp_path: Path) -> None:
    transport = MemoryTransport()
    hostile = sendkit.recipient(7, name="김\r\nBcc: all@example.com")
    sender, ledger = make(tmp_path, transport)
    summary = sender.run([*people(3), hostile])
    assert summary.rejected == 1 and summary.accepted == 3 and summary.exit_code == 1
    assert hostile.email not in {m.rcpt_to for m in transport.accepted}
    (row,) = ledger.rows(sender.issue, State.FAILED)
    assert row.key == hostile.key and "U+000D" in row.text


def test_unknown_rows_are_reported_and_only_resent_when_asked(tmp_path: Path) -> None:
    transport = MemoryTransport()
    sender, ledger = make(tmp_path, transport)
    ledger.commit(sender.issue, transport=transport.name, run_id=None,
                  claims=[Claim("user1@example.com", "user1@example.com", "m", None)])
    summary = sender.run(people(3))
    assert summary.unknown == 1 and summary.accepted == 2 and summary.exit_code == 3
    rerun, ledger = make(tmp_path, transport, options=SendOptions(resend_unknown=True))
    summary = rerun.run(people(3))
    assert summary.resent_unknown == 1 and summary.accepted == 1 and summary.exit_code == 0
    assert ledger.counts(rerun.issue)[0].accepted == 3


@pytest.mark.slow
def test_an_unsubscribe_during_the_send_is_honoured(tmp_path: Path) -> None:
    late = "user150@example.com"

    class Unsubscribing(MemoryTransport):
        def transmit(self, message):
            if message.rcpt_to == "user10@example.com":
                (tmp_path / "suppressions.csv").write_text(f"email,reason\n{late},unsubscribed\n", encoding="utf-8")
            return super().transmit(message)

    transport = Unsubscribing()
    sender, _ = make(tmp_path, transport, watch_interval=0.0, rate=40, clock=FakeClock())  # paced, in simulated time
    summary = sender.run(people(200))
    assert summary.suppressed == 1 and summary.accepted == 199
    assert late not in {m.rcpt_to for m in transport.accepted}


def test_limit_only_and_batches(tmp_path: Path) -> None:
    transport = MemoryTransport(batch_size=3, inline=False)
    sender, _ = make(tmp_path, transport, concurrency=2)
    assert sender.run(people(20)[:10]).accepted == 10
    assert transport.batches and max(transport.batches) == 3
    limited, _ = make(tmp_path, MemoryTransport(), options=SendOptions(limit=4))
    assert limited.run(people(20)).accepted == 4
    only, _ = make(tmp_path, MemoryTransport(), options=SendOptions(only=frozenset({"user17@example.com"})))
    summary = only.run(people(20))
    assert summary.accepted == 1 and summary.recipients == 1


def test_token_bucket_and_backoff() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 2, clock=clock, sleep=clock.sleep)
    for _ in range(12):
        assert bucket.acquire()
    assert 0.95 <= clock.now - 1000.0 <= 1.05  # 2 from the burst, then 10 at 10/s
    stop = threading.Event()
    stop.set()
    assert not bucket.acquire(5, stop)
    delays = [backoff(n) for n in range(1, 12)]
    assert all(0.5 * min(300, 2 * 2 ** (n - 1)) <= d <= min(300, 2 * 2 ** (n - 1)) for n, d in enumerate(delays, 1))
    assert backoff(1, hint=60) == 60


RESUME_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    sys.path.insert(0, sys.argv[2])
    from datetime import date
    from pathlib import Path
    import sendkit
    from webzine.send.ledger import Ledger
    from webzine.message.factory import MessageFactory
    from webzine.send.pacing import SuppressionWatch
    from webzine.send.dispatch import Sender, SendOptions
    from webzine.recipients.suppressions import load_suppressions
    from webzine.transports.outbox import OutboxTransport

    root = Path(sys.argv[1])
    settings = sendkit.settings(root, rate=float(sys.argv[3]), rehearsal_rate=float(sys.argv[3]), concurrency=2, outbox_format="mbox")
    factory = MessageFactory(sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET,
                             managers=sendkit.MANAGERS)
    transport = OutboxTransport.from_settings(settings)
    with Ledger.open(sys.argv[6]) as ledger:
        sender = Sender(settings, today=date(2026, 12, 1), factory=factory, transport=transport, ledger=ledger,
                        suppressions=SuppressionWatch(root / "s.csv", load_suppressions),
                        options=SendOptions(resend_unknown=sys.argv[4] == "resend"))
        summary = sender.run([sendkit.recipient(n) for n in range(int(sys.argv[5]))])
    transport.close()
    print(summary.unknown, summary.accepted, summary.exit_code)
    """
)


@pytest.mark.slow
def test_sigkill_part_way_then_rerun_delivers_everyone_exactly_once_except_unknowns(tmp_path: Path,
                                                                                      location: str) -> None:
    script = tmp_path / "run_send.py"
    script.write_text(RESUME_SCRIPT)
    tests = str(Path(__file__).parent)
    total = 120
    mbox = tmp_path / "outbox" / "outbox.mbox"
    first = subprocess.Popen([sys.executable, str(script), str(tmp_path), tests, "40", "no", str(total), location],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not mbox.exists() or mbox.stat().st_size < 200_000):
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    with Ledger.open(location) as ledger:
        interrupted = ledger.counts("2026-12-year-end")[0]
    assert 0 < interrupted.accepted < total

    second = subprocess.run([sys.executable, str(script), str(tmp_path), tests, "100000", "no", str(total), location],
                            capture_output=True, text=True, timeout=60)
    unknown, accepted, code = map(int, second.stdout.split())
    with Ledger.open(location) as ledger:
        unknown_keys = {row.key for row in ledger.rows("2026-12-year-end", State.CLAIMED)}
        counts = ledger.counts("2026-12-year-end")[0]
    assert unknown == len(unknown_keys) == interrupted.unknown
    assert unknown <= 12  # a claim batch plus what was in flight, not the rest of the list
    assert code == (3 if unknown else 0)
    assert counts.accepted + counts.unknown == total

    copies = Counter(str(message["To"]).rsplit("<", 1)[-1].rstrip(">") for message in mailbox.mbox(mbox))
    everyone = {f"user{n}@example.com" for n in range(total)}
    for address in everyone - unknown_keys:
        assert copies[address] == 1, address
    for address in unknown_keys:
        assert copies[address] <= 1, address  # in flight at the kill: maybe delivered, never twice


def test_retries_go_out_during_a_long_send_not_only_at_its_end(tmp_path: Path) -> None:
    class TickingClock(FakeClock):
        def __call__(self) -> float:
            self.now += 0.01  # time passes while the send works through the list
            return self.now

    clock = TickingClock()
    transport = MemoryTransport(answers={"user0@example.com": [Delivery(Outcome.TEMPORARY, 451, "4.7.1", "greylisted")]})
    sender, ledger = make(tmp_path, transport, clock=clock, rate=40)
    summary = sender.run(people(400))
    order = [m.rcpt_to for m in transport.accepted]
    assert summary.accepted == 400 and summary.retries == 1
    assert order.index("user0@example.com") < order.index("user399@example.com")
    assert next(r for r in ledger.rows(sender.issue) if r.key == "user0@example.com").attempts == 2


class CountingClock(FakeClock):
    """Simulated time that also counts the waits the send asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def sleep(self, seconds: float) -> None:
        self.waits += 1
        super().sleep(seconds)


def test_the_outbox_is_not_paced_at_the_smtp_rate(tmp_path: Path) -> None:
    clock = CountingClock()
    sender, _ = make(tmp_path, MemoryTransport(name="outbox"), clock=clock, rate=20)
    summary = sender.run(people(100))
    assert summary.accepted == 100
    assert clock.waits == 0  # at 20/s the bucket would have waited for ~95 tokens


def test_the_outbox_is_paced_when_asked(tmp_path: Path) -> None:
    clock = CountingClock()
    sender, _ = make(tmp_path, MemoryTransport(name="outbox"), clock=clock, rate=1000, rehearsal_rate=20)
    summary = sender.run(people(100))
    assert summary.accepted == 100
    assert clock.now - 1000.0 >= (100 - 5) / 20  # the burst is at most `concurrency` (4) messages


def test_a_real_transport_is_still_paced(tmp_path: Path) -> None:
    clock = CountingClock()
    sender, _ = make(tmp_path, MemoryTransport(name="smtp"), clock=clock, rate=20)
    sender.run(people(100))
    assert clock.waits > 0 and clock.now - 1000.0 >= (100 - 5) / 20


def test_a_send_reports_progress_lines_as_simulated_time_passes(tmp_path: Path) -> None:
    from webzine.send.progress import ProgressLines

    clock, lines = FakeClock(), []
    progress = ProgressLines(sendkit.rendered().slug, 100, lines.append, every_seconds=1, every_percent=50, clock=clock)
    sender, _ = make(tmp_path, MemoryTransport(name="smtp"), clock=clock, rate=20, progress=progress)
    sender.run(people(100))
    assert 5 <= len(lines) <= 8  # ~5 s at 20/s: a line a second, and at 50 % and 100 %
    assert lines[-1].startswith(f"sending {sender.issue}: 100/100 (100%), 100 sent, 0 failed, 0 deferred, ")
