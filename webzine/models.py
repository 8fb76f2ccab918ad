"""The nouns every stage shares: a recipient, an account manager, a suppression, a message and
what became of it.

Hot-path records (one per list row, up to a million) are slotted frozen dataclasses rather than
pydantic models: they are built by our own validated readers, and a dataclass costs a tenth as much.
pydantic stays at the boundaries (config, JSON reports, provider payloads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.headerregistry import Address
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
class Mailbox:
    email: str
    name: str = ""

    def formatted(self) -> str:
        """`이름 <addr>` as the JSON mail APIs accept it (they encode the name themselves)."""
        return str(Address(display_name=self.name, addr_spec=self.email)) if self.name else self.email


@dataclass(frozen=True, slots=True)
class Content:
    """A message as the fields a JSON mail API fills in; the API writes the MIME itself."""

    sender: Mailbox
    to: Mailbox
    reply_to: Mailbox | None
    # Every other header we write, in order, unfolded but encoded as written (RFC 2047 words stay
    # words: SendGrid wants header values already encoded). Not the ones the API writes itself
    # (Date, the MIME structure) nor our DKIM signature, which would not verify on its MIME.
    headers: tuple[tuple[str, str], ...]
    text: str | None
    html: str | None
    attachments: int = 0  # parts beyond the two bodies, which the JSON fields we fill cannot carry


class Message:
    """One recipient's message as the message stage hands it to a transport.

    The envelope (`mail_from`, `rcpt_to`), the ledger's identity (`key`, `message_id`) and the
    subject are set when it is made. `content` (the fields a JSON API sends) and `data` (the RFC
    5322 bytes, CRLF line endings, DKIM-signed when signing is on, which a raw-MIME transport sends)
    are made on first use and kept, so a raw transport never joins the bodies as text and a JSON
    API never encodes them. Either may be given ready-made instead of as a function."""

    __slots__ = ("key", "mail_from", "rcpt_to", "message_id", "subject", "needs_8bitmime", "needs_smtputf8",
                 "_content", "_data")

    def __init__(self, *, key: str, mail_from: str, rcpt_to: str, message_id: str, subject: str,
                 content: Content | Callable[[], Content], data: bytes | Callable[[], bytes],
                 needs_8bitmime: bool = False, needs_smtputf8: bool = False) -> None:
        self.key = key  # ledger key of the recipient (normalised address, lowercased)
        self.mail_from = mail_from  # envelope sender: the VERP address
        self.rcpt_to = rcpt_to  # envelope recipient (normalised address)
        self.message_id = message_id  # without angle brackets
        self.subject = subject
        self.needs_8bitmime = needs_8bitmime
        self.needs_smtputf8 = needs_smtputf8
        self._content = content
        self._data = data

    @property
    def content(self) -> Content:
        content = self._content
        if not isinstance(content, Content):
            content = self._content = content()
        return content

    @property
    def data(self) -> bytes:
        data = self._data
        if not isinstance(data, bytes):
            data = self._data = data()
        return data

    def signed(self, signature: bytes) -> Message:
        """This message with `signature` (DKIM-Signature header lines) before its bytes. The fields
        stay as they are: a JSON API writes its own MIME, on which our signature would not verify."""
        return Message(key=self.key, mail_from=self.mail_from, rcpt_to=self.rcpt_to, message_id=self.message_id,
                       subject=self.subject, content=self._content, data=signature + self.data,
                       needs_8bitmime=self.needs_8bitmime, needs_smtputf8=self.needs_smtputf8)

    def __repr__(self) -> str:
        return f"Message(key={self.key!r}, rcpt_to={self.rcpt_to!r}, message_id={self.message_id!r})"


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
