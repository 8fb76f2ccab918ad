"""The nouns every stage shares: a recipient, an account manager, a suppression.

Hot-path records (one per list row, up to a million) are slotted frozen dataclasses rather than
pydantic models: they are built by our own validated readers, and a dataclass costs a tenth as much.
pydantic stays at the boundaries (config, JSON reports, provider payloads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE_LIMIT = "soft_bounce_limit"
    COMPLAINT = "complaint"
    MANUAL = "manual"


# Merge fields from `webzine customers score` (carried in `Recipient.fields`); empty for a
# subscriber without orders, so `{% if recipient.segment == "이탈 위험" %}` works for everyone.
CUSTOMER_FIELDS = ("segment", "r_score", "f_score", "m_score")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One cleaned subscriber row. `email` is normalised (domain lowercased and IDNA-encoded,
    local part as written); `key` is what comparisons and the ledger use."""

    email: str
    name: str = ""
    adjective: str = ""
    company: str = ""
    manager: str = ""  # account manager id from managers.csv
    consent_at: date | None = None
    tags: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)  # every other column, for merge
    row: int = 0  # 1-based data row in the source file (header is row 1, first data row is 2)

    @property
    def key(self) -> str:
        return self.email.lower()

    def merge_fields(self) -> dict[str, object]:
        """What `recipient.<field>` resolves to in templates."""
        merged: dict[str, object] = dict.fromkeys(CUSTOMER_FIELDS, "")
        merged.update(self.fields)
        merged.update(
            email=self.email,
            name=self.name,
            adjective=self.adjective,
            company=self.company,
            manager=self.manager,
            consent_at=self.consent_at.isoformat() if self.consent_at else "",
            tags=self.tags,
        )
        return merged


@dataclass(frozen=True, slots=True)
class Manager:
    """An account manager (영업 담당자): replies go to them, the signature names them."""

    id: str
    name: str
    email: str
    phone: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class Suppression:
    email: str
    reason: SuppressionReason
    since: date | None = None
    source: str = ""
    detail: str = ""

    @property
    def key(self) -> str:
        return self.email.lower()


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
