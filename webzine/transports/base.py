"""The contract between the send orchestration and every transport.

One hand-off type in (`webzine.models.Message`: the envelope, plus the RFC 5322 bytes that raw-MIME
transports send and the fields that JSON APIs send, each made when first asked for),
one out (`webzine.models.Delivery`: what the server or provider said). Transports translate their library's exceptions
into a `Delivery` (a recipient's fate) or a `WebzineError` (the run's fate: `SenderProblem` stops
the run, `TransportError` means retry later) at their own edge. `BaseTransport.send` passes both
through the transport's `Redactor`, so no secret a server echoes reaches the ledger or a terminal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol, Self, runtime_checkable

from webzine.config import Settings
from webzine.models import Delivery, Message
from webzine.transports.redact import NO_SECRETS, Redactor


@runtime_checkable
class Transport(Protocol):
    """`send` must be safe to call from `concurrency` threads at once."""

    name: str
    batch_size: int  # > 1 when send_batch uses a provider batch endpoint

    def send(self, message: Message) -> Delivery: ...

    def send_batch(self, messages: Sequence[Message]) -> list[Delivery]: ...

    def close(self) -> None: ...


class BaseTransport(ABC):
    """Defaults for transports without a batch endpoint, and the redaction every transport gets.

    A transport implements `transmit` (and `transmit_batch` when it has a batch endpoint);
    callers use `send` and `send_batch`, which redact what comes back or is raised."""

    name = "base"
    batch_size = 1
    redactor: Redactor = NO_SECRETS  # from_settings sets one that knows the configured secrets

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> "BaseTransport":
        """Build the transport from webzine.toml and the environment (secrets)."""

    def redacting(self, settings: Settings) -> Self:
        """This transport, redacting every secret the settings name (for `from_settings`)."""
        self.redactor = Redactor.from_settings(settings)
        return self

    def transmit(self, message: Message) -> Delivery:
        """Hand one message over; return what the other side said."""
        raise NotImplementedError

    def transmit_batch(self, messages: Sequence[Message]) -> list[Delivery]:
        return [self.transmit(message) for message in messages]

    def send(self, message: Message) -> Delivery:
        try:
            return self.redactor.delivery(self.transmit(message))
        except Exception as error:
            self.redactor.scrub(error)
            raise

    def send_batch(self, messages: Sequence[Message]) -> list[Delivery]:
        try:
            return [self.redactor.delivery(delivery) for delivery in self.transmit_batch(messages)]
        except Exception as error:
            self.redactor.scrub(error)
            raise

    def close(self) -> None:
        """Release connections; the default holds none."""
