"""A transport that keeps every message in memory: for tests and for people who script webzine.

It answers as a server would — accepted unless told otherwise per address (`answers` maps an
address to the deliveries or exceptions it gets, one per attempt) — and keeps what it accepted in
`accepted`, so a script can check who got what without a mail server:

    transport = MemoryTransport()
    Sender(settings, today=today, factory=factory, transport=transport, ...).run(recipients)
    [message.rcpt_to for message in transport.accepted]

`name` is what the ledger records; name it "outbox" to rehearse as the local outbox does. To
rehearse a network transport, `inline=False` makes the send hand messages over from its worker
threads, `latency` is the seconds each hand-over takes, and `batch_size` > 1 hands them over in
batches as a provider's batch endpoint does; `peak_in_flight` and `batches` show what happened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

from webzine.config import Settings
from webzine.transports.base import BaseTransport
from webzine.models import Delivery, Outcome, Message


class MemoryTransport(BaseTransport):
    def __init__(self, *, name: str = "memory",
                 answers: Mapping[str, Sequence[Delivery | Exception]] | None = None,
                 inline: bool = True, latency: float = 0.0, batch_size: int = 1) -> None:
        self.name = name
        self.inline = inline  # True: nothing to wait for, so the send needs no worker threads
        self.latency = latency
        self.batch_size = batch_size
        self.answers = {address: list(steps) for address, steps in (answers or {}).items()}
        self._lock = threading.Lock()
        self.accepted: list[Message] = []
        self.handed: list[Message] = []  # everything handed over, accepted or not
        self.batches: list[int] = []  # the size of each batch handed over
        self.in_flight = 0
        self.peak_in_flight = 0  # the most messages being handed over at once

    @classmethod
    def from_settings(cls, settings: Settings) -> "MemoryTransport":
        return cls().redacting(settings)

    def transmit(self, message: Message) -> Delivery:
        with self._lock:
            self.handed.append(message)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            steps = self.answers.get(message.rcpt_to)
            answer = steps.pop(0) if steps else Delivery(Outcome.ACCEPTED, 250, "2.0.0", "kept in memory",
                                                           f"memory-{len(self.handed)}")
        try:
            if self.latency:
                time.sleep(self.latency)
            if isinstance(answer, Exception):
                raise answer
            if answer.outcome is Outcome.ACCEPTED:
                with self._lock:
                    self.accepted.append(message)
            return answer
        finally:
            with self._lock:
                self.in_flight -= 1

    def transmit_batch(self, messages: Sequence[Message]) -> list[Delivery]:
        with self._lock:
            self.batches.append(len(messages))
        return super().transmit_batch(messages)
