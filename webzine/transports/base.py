"""The contract between the send orchestration and every transport.

One hand-off type in (`OutgoingMessage`: finished RFC 5322 bytes plus the envelope), one out
(`Delivery`: what the server or provider said). Transports translate their library's exceptions
into a `Delivery` (a recipient's fate) or a `WebzineError` (the run's fate: `SenderProblem` stops
the run, `TransportError` means retry later) at their own edge. `BaseTransport.send` passes both
through the transport's `Redactor`, so no secret a server echoes reaches the ledger or a terminal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Self, runtime_checkable

from webzine.config import Settings
from webzine.transports.redact import NO_SECRETS, Redactor


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    TEMPORARY = "temporary"  # 4xx, 429, timeouts: retry with backoff
    PERMANENT = "permanent"  # 5xx for this recipient: record, feed the suppression list


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    key: str  # ledger key of the recipient (normalised address, lowercased)
    mail_from: str  # envelope sender: the VERP address
    rcpt_to: str  # envelope recipient (normalised address)
    data: bytes  # the whole message, CRLF line endings, ready for DATA
    message_id: str  # without angle brackets
    needs_8bitmime: bool = False
    needs_smtputf8: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    code: int | None = None  # SMTP reply code or HTTP status
    status: str | None = None  # enhanced status code, e.g. "5.1.1"
    text: str = ""  # the server's or provider's words, for the ledger and the report
    provider_id: str | None = None  # provider message id (or the queue id an MTA answered)
    sender_problem: bool = False  # 5.7.x policy/auth, 401/403: not the recipient's fault
    retry_after: float | None = None  # seconds the other side asked us to wait (Retry-After)
    # The message may have been accepted but we never heard (connection lost after the final "."
    # of DATA, an HTTP timeout after the request went out). The orchestration keeps such a
    # recipient `claimed` and reports it as unknown instead of retrying into a duplicate.
    ambiguous: bool = False

    @property
    def hard_bounce(self) -> bool:
        """A permanent refusal that names the recipient's mailbox or domain (5.1.x)."""
        return (
            self.outcome is Outcome.PERMANENT
            and not self.sender_problem
            and bool(self.status and self.status.startswith("5.1."))
        )


@runtime_checkable
class Transport(Protocol):
    """`send` must be safe to call from `concurrency` threads at once."""

    name: str
    batch_size: int  # > 1 when send_batch uses a provider batch endpoint

    def send(self, message: OutgoingMessage) -> Delivery: ...

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Delivery]: ...

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

    def transmit(self, message: OutgoingMessage) -> Delivery:
        """Hand one message over; return what the other side said."""
        raise NotImplementedError

    def transmit_batch(self, messages: Sequence[OutgoingMessage]) -> list[Delivery]:
        return [self.transmit(message) for message in messages]

    def send(self, message: OutgoingMessage) -> Delivery:
        try:
            return self.redactor.delivery(self.transmit(message))
        except Exception as error:
            self.redactor.scrub(error)
            raise

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Delivery]:
        try:
            return [self.redactor.delivery(delivery) for delivery in self.transmit_batch(messages)]
        except Exception as error:
            self.redactor.scrub(error)
            raise

    def close(self) -> None:
        """Release connections; the default holds none."""
