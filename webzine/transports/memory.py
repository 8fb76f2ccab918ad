"""A transport that keeps every message in memory: for tests and for people who script webzine.

It answers as a server would — accepted unless told otherwise per address (`answers` maps an
address to the deliveries or exceptions it gets, one per attempt) — and keeps what it accepted in
`accepted`, so a script can check who got what without a mail server:

    transport = MemoryTransport()
    Sender(settings, today=today, factory=factory, transport=transport, ...).run(recipients)
    [message.rcpt_to for message in transport.accepted]

`name` is what the ledger records; name it "outbox" to rehearse as the local outbox does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from webzine.config import Settings
from webzine.transports.base import BaseTransport
from webzine.models import Delivery, Outcome, OutgoingMessage


class MemoryTransport(BaseTransport):
    inline = True  # nothing to wait for: no worker threads

    def __init__(self, *, name: str = "memory",
                 answers: Mapping[str, Sequence[Delivery | Exception]] | None = None) -> None:
        self.name = name
        self._answers = {address: list(steps) for address, steps in (answers or {}).items()}
        self._lock = threading.Lock()
        self.accepted: list[OutgoingMessage] = []
        self.handed: list[OutgoingMessage] = []  # everything handed over, accepted or not

    @classmethod
    def from_settings(cls, settings: Settings) -> "MemoryTransport":
        return cls().redacting(settings)

    def transmit(self, message: OutgoingMessage) -> Delivery:
        with self._lock:
            self.handed.append(message)
            steps = self._answers.get(message.rcpt_to)
            answer = steps.pop(0) if steps else Delivery(Outcome.ACCEPTED, 250, "2.0.0", "kept in memory",
                                                           f"memory-{len(self.handed)}")
            if isinstance(answer, Exception):
                raise answer
            if answer.outcome is Outcome.ACCEPTED:
                self.accepted.append(message)
            return answer
