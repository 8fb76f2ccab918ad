"""Orchestration: recipients in, messages out through a transport, every outcome in the ledger.

The main thread owns the ledger and does the CPU work (choosing who is due, building messages);
transports run in a bounded thread pool (or inline, for local transports that gain nothing from
threads). The order that makes a send resumable:

1. look up the chunk's recipients in the ledger: accepted and failed ones are done, `claimed`
   ones are *unknown* (a crash left them in flight) and are only sent with `resend_unknown`;
2. commit the chunk's claims (Message-ID and VERP token are deterministic, so no message needs to
   exist yet) together with the outcomes received so far;
3. build each message just before it is handed over, so memory holds only what is in flight (a
   recipient whose data is unsafe is recorded as failed instead, never sent); with DKIM and more
   than one core, a `SigningPool` signs them in worker processes while the next are built;
4. hand them over (paced by a token bucket), record each outcome; temporary ones come back after
   an exponential backoff with jitter until the retry deadline, then stay `deferred` for a re-run.
   An *ambiguous* answer (the connection died after the message went out) stays `claimed`: it is
   reported as unknown like a crash, never retried into a duplicate. What each answer means is
   `outcomes.py`'s table; this module applies it.

A sender problem (authentication, policy, a burst of consecutive errors) or a stop request
(SIGINT/SIGTERM) ends the run after what is in flight has answered and been recorded; messages
claimed but not yet handed over are recorded as deferred, so a stopped run leaves no unknowns.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from webzine.config import Settings
from webzine.errors import MessageUnsupported, SenderProblem, SigningFailed, TransportError
from webzine.i18n import _
from webzine.send.ledger import Claim, Ledger, Result, State
from webzine.message.factory import MessageFactory, RecipientRejected
from webzine.message.signing import PendingHeaders, SigningPool
from webzine.models import Recipient, Suppression, SuppressionReason
from webzine.send.outcomes import Fate, verdict_for
from webzine.send.pacing import Clock, Sleep, SuppressionWatch, TokenBucket, backoff, pacing_rate
from webzine.send.plan import Action, PlanOptions, counts_for, decide
from webzine.tokens import verp_token_from
from webzine.transports.base import Transport
from webzine.models import Delivery, Outcome, Message

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_AGAIN = 0, 1, 2, 3
_FLUSH_SECONDS = 0.25  # how stale the ledger's outcomes may get (they become `unknown` on a crash)
_REPORT_LIMIT = 50  # failures and rejects listed one by one in the summary


@dataclass(frozen=True, slots=True)
class SendOptions:
    limit: int | None = None  # send at most this many messages in this run
    only: frozenset[str] = frozenset()  # recipient keys; empty = everyone
    resend_unknown: bool = False
    retry_failed: bool = False  # send again to those who failed permanently in an earlier run
    allow_gaps: str | None = None  # the recorded reason for sending despite audit gaps

    def rule(self, transport: str) -> PlanOptions:
        return PlanOptions(transport=transport, only=self.only, limit=self.limit,
                           resend_unknown=self.resend_unknown, retry_failed=self.retry_failed)


@dataclass(slots=True)
class Problem:
    email: str
    code: int | None
    status: str | None
    text: str

    def as_dict(self) -> dict[str, object]:
        return {"email": self.email, "code": self.code, "status": self.status, "text": self.text}


@dataclass(slots=True)
class SendSummary:
    issue: str
    transport: str
    run_id: int = 0
    recipients: int = 0  # recipients looked at in this run
    attempted: int = 0  # recipients this run claimed (to hand over, or to reject as unsafe)
    accepted: int = 0
    failed: int = 0  # permanent refusals in this run
    hard_bounces: int = 0  # of which 5.1.x, added to the suppression list
    rejected: int = 0  # unsafe data: never sent
    deferred: int = 0  # temporary outcomes left for a re-run
    unknown: int = 0  # claimed with no known outcome (an earlier crash, or an ambiguous answer)
    resent_unknown: int = 0
    already_accepted: int = 0
    already_failed: int = 0
    retried_failed: int = 0  # failed earlier, sent again with --retry-failed
    suppressed: int = 0  # suppressed after the list was loaded (mid-send unsubscribe, bounce)
    later: int = 0  # left for a later run by --limit
    taken_by_other: int = 0  # claimed meanwhile by another process: theirs to send
    retries: int = 0
    elapsed: float = 0.0
    stopped: str | None = None  # why the run ended early
    failures: list[Problem] = field(default_factory=list)
    rejects: list[Problem] = field(default_factory=list)
    unknowns: list[Problem] = field(default_factory=list)  # who may or may not have it

    def count(self, action: Action) -> None:
        """A recipient looked at, by the plan's decision."""
        self.recipients += action is not Action.LATER
        if action is Action.DONE:
            self.already_accepted += 1
        elif action is Action.FAILED:
            self.already_failed += 1
        elif action is Action.UNKNOWN:
            self.unknown += 1
        elif action is Action.SUPPRESSED:
            self.suppressed += 1
        elif action is Action.LATER:
            self.later += 1

    @property
    def rate(self) -> float:
        """Messages the transport answered for, per second of the run."""
        done = self.accepted + self.failed
        return done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.stopped or self.deferred or self.unknown or self.later:
            return EXIT_AGAIN
        return EXIT_FAILED if self.failed or self.rejected else EXIT_OK

    def as_dict(self) -> dict[str, object]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["failures"] = [p.as_dict() for p in self.failures]
        data["rejects"] = [p.as_dict() for p in self.rejects]
        data["unknowns"] = [p.as_dict() for p in self.unknowns]
        data["rate"] = round(self.rate, 1)
        data["elapsed"] = round(self.elapsed, 3)
        data["exit_code"] = self.exit_code
        return data


@dataclass(slots=True)
class _Job:
    messages: list[Message]


Progress = Callable[[int, "SendSummary"], None]


@dataclass(frozen=True, slots=True)
class Identity:
    """What names one recipient's message, computed once per run: the claim records it, the
    message carries it, a retry reuses it."""

    message_id: str
    envelope: str  # the VERP envelope sender
    verp_token: str | None  # None for test sends, which have no VERP address


def _claims(chosen: Sequence[tuple[Recipient, int]], identities: Sequence[Identity]) -> list[Claim]:
    return [Claim(r.key, r.email, identity.message_id, identity.verp_token, attempts)
            for (r, attempts), identity in zip(chosen, identities, strict=True)]


def _signed(messages: list[Message], signatures: PendingHeaders) -> list[Message]:
    return [m.signed(header) for m, header in zip(messages, signatures.result(), strict=True)]


def chunks(items: Iterable[Recipient], size: int) -> Iterator[list[Recipient]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class Sender:
    """One run of one issue. Not reusable: build a new one per run."""

    def __init__(
        self,
        settings: Settings,
        *,
        factory: MessageFactory,
        transport: Transport,
        ledger: Ledger,
        suppressions: SuppressionWatch,
        options: SendOptions = SendOptions(),
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        merge_suppressions: Callable[[Iterable[Suppression]], object] | None = None,
        today: date,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        signing: SigningPool | None = None,
    ) -> None:
        config = settings.send
        self.settings = settings
        self.factory = factory
        self.transport = transport
        self.ledger = ledger
        self.watch = suppressions
        self.options = options
        self.stop = stop or threading.Event()
        self.issue = factory.issue
        self.summary = SendSummary(issue=self.issue, transport=transport.name)
        self._rule = options.rule(transport.name)
        self._progress = progress
        self._merge = merge_suppressions
        self._today = today
        self._clock = clock
        self._sleep = sleep
        self._batch = max(1, int(getattr(transport, "batch_size", 1)))
        self._signing = signing  # the factory then builds unsigned messages
        self._signing_depth = 2 * signing.workers if signing is not None else 0  # batches in the pool
        self._inline = bool(getattr(transport, "inline", False)) or config.concurrency == 1
        self._window = config.concurrency * self._batch * 2  # messages handed over, not yet answered
        rate = pacing_rate(config, transport.name)
        self._claim_size = max(config.concurrency * self._batch, min(512, int((rate or 1e9) * _FLUSH_SECONDS)))
        self._bucket = None if rate is None else \
            TokenBucket(rate, max(config.concurrency * self._batch, rate / 10), clock=clock, sleep=sleep)
        self._results: queue.Queue[tuple[_Job, list[Delivery] | BaseException | None]] = queue.Queue()
        self._pool: ThreadPoolExecutor | None = None
        self._inflight = 0
        self._pending: list[Result] = []
        self._flushed = clock()
        self._attempts: dict[str, int] = {}
        # Recipients whose message is in flight or waiting for a retry, with their identity: a
        # retry rebuilds the message rather than keeping 120 KB per deferred recipient in memory.
        self._open: dict[str, tuple[Recipient, Identity]] = {}
        self._retry: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._consecutive = 0
        self._bounces: list[Suppression] = []
        self._seen = 0
        self._sent_keys = 0
        self._crash: BaseException | None = None
        self._reported = clock()
        self._deadline = self._reported + config.retry_deadline_seconds

    # -- the run ----------------------------------------------------------------------------

    def run(self, recipients: Iterable[Recipient]) -> SendSummary:
        started = self._clock()
        self._deadline = started + self.settings.send.retry_deadline_seconds
        self.summary.run_id = self.ledger.start_run(
            self.issue, transport=self.transport.name, allow_gaps=self.options.allow_gaps,
            options={"limit": self.options.limit, "only": sorted(self.options.only),
                     "resend_unknown": self.options.resend_unknown, "retry_failed": self.options.retry_failed},
        )
        if not self._inline:
            self._pool = ThreadPoolExecutor(self.settings.send.concurrency, thread_name_prefix="webzine-send")
        # Everything alive now (templates, the list, libraries) lives for the whole run: keep it out
        # of the cyclic collector's full passes, which otherwise re-scan it over and over while the
        # loop allocates short-lived messages (10-20 % of the time per message, measured).
        gc.freeze()
        try:
            self._send_all(recipients)
            self._retry_until_done()
        except BaseException as exc:
            self._halt(_("stopped by an error: {error}").format(error=exc))
            self._finish(started)
            raise
        finally:
            gc.unfreeze()
        self._finish(started)
        if self._crash is not None:
            raise self._crash
        return self.summary

    def _send_all(self, recipients: Iterable[Recipient]) -> None:
        for chunk in chunks(recipients, self._claim_size):
            if self._halted():
                break
            self.watch.refresh()
            selected = self._select(chunk)
            identities = [self._identity(r) for r, __ in selected]
            held = self._flush(_claims(selected, identities))
            if len(held) < len(selected):
                selected, identities = self._drop_taken(selected, identities, held)
            self._hand_over(selected, identities)
            self._retry_due()
            self._report()

    def _select(self, chunk: list[Recipient]) -> list[tuple[Recipient, int]]:
        """(recipient, attempts so far) of those in `chunk` that this run should send to: the
        plan's rule (`plan.decide`), applied chunk by chunk."""
        only = self.options.only
        if only:
            chunk = [r for r in chunk if r.key in only]
        entries = self.ledger.states(self.issue, [r.key for r in chunk])
        summary = self.summary
        rule = self._rule
        chosen: list[tuple[Recipient, int]] = []
        for recipient in chunk:
            entry = entries.get(recipient.key)
            action = decide(entry, self.watch.get(recipient.key) is not None, rule)
            if action is Action.SEND and self._limit_reached(len(chosen)):
                action = Action.LATER
            summary.count(action)
            if action is Action.UNKNOWN and len(summary.unknowns) < _REPORT_LIMIT:
                summary.unknowns.append(Problem(recipient.email, None, None,
                                                _("an earlier run stopped with this message in flight")))
            elif action is Action.SEND:
                counted = counts_for(entry, rule)
                summary.resent_unknown += counted is not None and counted.state is State.CLAIMED
                summary.retried_failed += counted is not None and counted.state is State.FAILED
                chosen.append((recipient, entry.attempts if entry is not None else 0))
        self._seen += len(chunk)
        self._sent_keys += len(chosen)
        summary.attempted += len(chosen)
        return chosen

    def _identity(self, recipient: Recipient) -> Identity:
        envelope = self.factory.envelope_sender(recipient)
        return Identity(self.factory.message_id(recipient), envelope, verp_token_from(envelope))

    def _drop_taken(self, selected: list[tuple[Recipient, int]], identities: list[Identity],
                    held: set[str]) -> tuple[list[tuple[Recipient, int]], list[Identity]]:
        """Recipients another process claimed between our read and our claim: theirs to send."""
        kept = [(pair, identity) for pair, identity in zip(selected, identities) if pair[0].key in held]
        taken = len(selected) - len(kept)
        self.summary.taken_by_other += taken
        self.summary.attempted -= taken
        self._sent_keys -= taken
        return [pair for pair, __ in kept], [identity for __, identity in kept]

    def _limit_reached(self, extra: int = 0) -> bool:
        limit = self.options.limit
        return limit is not None and self._sent_keys + extra >= limit

    def _build(self, recipient: Recipient, attempts: int, identity: Identity) -> Message | None:
        try:
            message = self.factory.build(recipient, mail_from=identity.envelope, message_id=identity.message_id)
        except RecipientRejected as rejected:
            self.ledger.record_rejected(self.issue, recipient.email, recipient.key, rejected.reason,
                                        transport=self.transport.name, run_id=self.summary.run_id)
            self.summary.rejected += 1
            if len(self.summary.rejects) < _REPORT_LIMIT:
                self.summary.rejects.append(Problem(recipient.email, None, None, rejected.reason))
            return None
        self._attempts[message.key] = attempts
        self._open[message.key] = (recipient, identity)
        return message

    def _close(self, key: str) -> None:
        """The recipient's fate in this run is settled (accepted, failed, or left deferred)."""
        self._attempts.pop(key, None)
        self._open.pop(key, None)

    def _flush(self, claims: Sequence[Claim] = ()) -> set[str]:
        pending, self._pending = self._pending, []
        held = self.ledger.commit(self.issue, transport=self.transport.name, run_id=self.summary.run_id,
                                  outcomes=pending, claims=claims)
        self._flushed = self._clock()
        return held

    def _hand_over(self, chosen: Sequence[tuple[Recipient, int]], identities: Sequence[Identity]) -> None:
        """Build, sign and dispatch in transport-sized jobs, keeping at most `_window` messages
        unanswered; after a stop, the claimed rest is recorded as not sent. With a signing pool,
        built messages are signed a batch at a time, and a few batches wait for their signatures
        while the next messages are built."""
        group: list[Message] = []
        unsigned: list[Message] = []
        signing: deque[tuple[list[Message], PendingHeaders]] = deque()
        built = 0  # recipients of `chosen` built (or rejected) so far

        def stopped_before(rest: int, reason: str | None = None) -> None:
            reason = reason or _("not sent: the run stopped before this message was handed over")
            waiting = [m for batch, __ in signing for m in batch] + unsigned + group
            self._not_sent([r.key for r, __ in chosen[rest:]] + [m.key for m in waiting], reason)

        def add_oldest_signed(group: list[Message]) -> list[Message]:
            for signed in _signed(*signing[0]):  # still waiting until every signature has come
                group = self._add(group, signed)
            signing.popleft()
            return group

        try:
            for index, (recipient, attempts) in enumerate(chosen):
                if self._halted():
                    return stopped_before(index)
                message = self._build(recipient, attempts, identities[index])
                built = index + 1
                if message is None:
                    continue
                if self._signing is None:
                    group = self._add(group, message)
                    continue
                unsigned.append(message)
                if len(unsigned) == self._signing.batch:
                    signing.append((unsigned, self._signing.submit([m.data for m in unsigned])))
                    unsigned = []
                if len(signing) > self._signing_depth:
                    group = add_oldest_signed(group)
            if unsigned:
                signing.append((unsigned, self._signing.submit([m.data for m in unsigned])))  # type: ignore[union-attr]
                unsigned = []
            while signing:
                if self._halted():
                    return stopped_before(len(chosen))
                group = add_oldest_signed(group)
        except SigningFailed as failed:
            stopped_before(built, _("not sent: {reason}").format(reason=failed))
            raise
        if group:
            self._dispatch(_Job(group))
        return None

    def _add(self, group: list[Message], message: Message) -> list[Message]:
        """`message` joins the job being filled; a full job is dispatched."""
        group.append(message)
        if len(group) < self._batch:
            return group
        self._dispatch(_Job(group))
        return []

    def _dispatch(self, job: _Job) -> None:
        if self._pool is None:
            self._handle(job, self._deliver(job))
            if self._pending and self._clock() - self._flushed >= _FLUSH_SECONDS:
                self._flush()
            return
        while self._inflight + len(job.messages) > self._window:
            self._drain(block=True)
        self._inflight += len(job.messages)
        future = self._pool.submit(self._deliver, job)
        future.add_done_callback(lambda done, job=job: self._results.put((job, done.result())))
        self._drain(block=False)

    def _deliver(self, job: _Job) -> list[Delivery] | BaseException | None:
        """Runs on a worker thread: pace, hand over, translate. Never raises."""
        try:
            if self._bucket is None:
                if self.stop.is_set():
                    return None
            elif not self._bucket.acquire(len(job.messages), self.stop):
                return None
            if len(job.messages) == 1:
                return [self.transport.send(job.messages[0])]
            return list(self.transport.send_batch(job.messages))
        except BaseException as exc:  # the main thread decides what an exception means
            return exc

    def _drain(self, *, block: bool) -> None:
        timeout = _FLUSH_SECONDS if block else None
        while True:
            try:
                job, result = self._results.get(block=block, timeout=timeout)
            except queue.Empty:
                break
            self._inflight -= len(job.messages)
            self._handle(job, result)
            block = False
        if self._clock() - self._flushed >= _FLUSH_SECONDS and self._pending:
            self._flush()
        self._report()

    # -- outcomes ---------------------------------------------------------------------------

    def _handle(self, job: _Job, result: list[Delivery] | BaseException | None) -> None:
        keys = [m.key for m in job.messages]
        if result is None:
            self._not_sent(keys, _("not sent: the run was stopped while waiting for its turn"))
        elif isinstance(result, SenderProblem):
            self._halt(_("sender problem: {problem}").format(problem=result.message))
            self._not_sent(keys, _("not sent: {reason}").format(reason=result.message))
        elif isinstance(result, MessageUnsupported):
            self._halt(_("the issue cannot be sent this way: {reason}").format(reason=result.message))
            self._not_sent(keys, _("not sent: {reason}").format(reason=result.message))
        elif isinstance(result, TransportError):
            for message in job.messages:
                self._outcome(message, Delivery(Outcome.TEMPORARY, text=result.message))
        elif isinstance(result, BaseException):
            # A bug or an unexpected library error: the message may have left. Keep it claimed
            # (reported as unknown) and stop; the exception surfaces after the run is recorded.
            self._crash = result
            self._halt(_("unexpected error in the {transport} transport: {error}").format(
                transport=self.transport.name, error=repr(result)))
        else:
            for message, delivery in zip(job.messages, result, strict=True):
                self._outcome(message, delivery)

    def _outcome(self, message: Message, delivery: Delivery) -> None:
        """Apply the outcome table's verdict: ledger, summary, retries, stops."""
        verdict = verdict_for(delivery)
        fate = verdict.fate
        if fate is Fate.RETRY:
            self._temporary(message, delivery)
        else:
            self._record(message, verdict.state, delivery)
            self._close(message.key)
            self._tally(fate, message, delivery)
        if fate is Fate.SENDER_PROBLEM:
            said = f"{delivery.code or ''} {delivery.status or ''} {delivery.text}".strip()
            self._halt(_("sender problem: {problem}").format(problem=said))
        elif fate is Fate.ACCEPTED:
            self._consecutive = 0
        elif verdict.error:
            self._consecutive += 1
            if self._consecutive >= self.settings.send.stop_after_consecutive_errors:
                self._halt(_("{count} errors in a row (last: {last})").format(
                    count=self._consecutive, last=delivery.text or delivery.code))

    def _tally(self, fate: Fate, message: Message, delivery: Delivery) -> None:
        """A settled recipient in the summary; a hard bounce joins the suppressions."""
        summary = self.summary
        problem = Problem(message.rcpt_to, delivery.code, delivery.status, delivery.text)
        if fate is Fate.ACCEPTED:
            summary.accepted += 1
        elif fate is Fate.SENDER_PROBLEM:
            summary.deferred += 1
        elif fate is Fate.UNKNOWN:
            summary.unknown += 1
            if len(summary.unknowns) < _REPORT_LIMIT:
                summary.unknowns.append(problem)
        elif fate is Fate.FAILED:
            summary.failed += 1
            if len(summary.failures) < _REPORT_LIMIT:
                summary.failures.append(problem)
            if delivery.hard_bounce:
                summary.hard_bounces += 1
                detail = " ".join(str(p) for p in (delivery.code, delivery.status, delivery.text) if p)
                self._bounces.append(Suppression(message.rcpt_to, SuppressionReason.HARD_BOUNCE, self._today,
                                                 f"send {self.issue}", detail[:300]))

    def _temporary(self, message: Message, delivery: Delivery) -> None:
        """Deferred; back in this run after a backoff unless the attempts or the deadline are used up."""
        attempts = self._attempts.get(message.key, 0) + 1
        self._attempts[message.key] = attempts
        self._record(message, State.DEFERRED, delivery)
        delay = backoff(attempts, hint=delivery.retry_after)
        due = self._clock() + delay
        if attempts < self.settings.send.max_attempts and due <= self._deadline and not self._halted():
            heapq.heappush(self._retry, (due, next(self._order), message.key))
        else:
            self.summary.deferred += 1
            self._close(message.key)

    def _record(self, message: Message, state: State, delivery: Delivery) -> None:
        self._pending.append(Result(message.key, state, delivery.code, delivery.status,
                                    delivery.text[:1000], delivery.provider_id))

    def _not_sent(self, keys: Sequence[str], text: str) -> None:
        for key in keys:
            self._pending.append(Result(key, State.DEFERRED, text=text))
            self._close(key)
            self.summary.deferred += 1

    # -- retries and the end of the run -------------------------------------------------------

    def _retry_due(self) -> None:
        """Claim (in one commit) and hand over again every deferred message whose backoff is over."""
        now = self._clock()
        due: list[tuple[Recipient, Identity]] = []
        while self._retry and self._retry[0][0] <= now and len(due) < self._claim_size and not self._halted():
            due.append(self._open[heapq.heappop(self._retry)[2]])
        if not due:
            return
        self.summary.retries += len(due)
        chosen = [(r, self._attempts.get(r.key, 0)) for r, __ in due]
        identities = [identity for __, identity in due]
        held = self._flush(_claims(chosen, identities))
        if len(held) < len(chosen):
            for recipient, __ in chosen:
                if recipient.key not in held:
                    self._close(recipient.key)
            chosen, identities = self._drop_taken(chosen, identities, held)
        self._hand_over(chosen, identities)

    def _retry_until_done(self) -> None:
        while (self._retry or self._inflight) and not self._halted():
            if self._retry and self._retry[0][0] <= self._clock():
                self._retry_due()
            elif self._inflight:
                self._drain(block=True)
            else:
                wait = self._retry[0][0] - self._clock()
                self._sleep(max(0.0, min(wait, 0.2)))
                if self._pending:
                    self._flush()

    def _halted(self) -> bool:
        if self.stop.is_set() and self.summary.stopped is None:
            self.summary.stopped = _("interrupted")
        return self.summary.stopped is not None

    def _halt(self, reason: str) -> None:
        if self.summary.stopped is None:
            self.summary.stopped = reason
        self.stop.set()

    def _finish(self, started: float) -> None:
        """Wait for what is in flight, record everything, and close the run in the ledger."""
        while self._inflight:
            self._drain(block=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.summary.deferred += len(self._retry)  # recorded as deferred when they came back
        self._retry.clear()
        self._open.clear()
        self._flush()
        if self._bounces and self._merge is not None:
            self._merge(self._bounces)
        self.summary.elapsed = self._clock() - started
        self.ledger.finish_run(self.summary.run_id, summary=self.summary.as_dict(), exit_code=self.summary.exit_code)
        self._report(final=True)

    def _report(self, *, final: bool = False) -> None:
        if self._progress is None:
            return
        now = self._clock()
        if final or now - self._reported >= 0.1:
            self._reported = now
            self._progress(self._seen, self.summary)
