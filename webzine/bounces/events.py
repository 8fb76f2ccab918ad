"""The one event vocabulary every bounce source is mapped onto.

A bounce mailbox, an IMAP folder, an SES notification and a Postmark webhook all end up as
`BounceEvent` records, so the policy and the event store never care where an event came from.
Events are facts (what a server said about one address); decisions (suppress or not) are made
later by `policy.py`, so a changed policy can be re-applied to the stored history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Protocol


class Kind(StrEnum):
    HARD = "hard"  # the mailbox or domain does not exist: suppress at once
    SOFT = "soft"  # mailbox full, greylisted, timed out: count across issues
    DELAYED = "delayed"  # a delay warning: the server is still trying; never counted, never a success
    COMPLAINT = "complaint"  # the recipient marked the issue as spam (ARF, provider FBL)
    AUTO_REPLY = "auto_reply"  # vacation or out-of-office: not a bounce at all
    UNSUBSCRIBE = "unsubscribe"  # a mailed unsubscribe request, or a provider's unsubscribe event
    SENDER_PROBLEM = "sender_problem"  # policy, authentication, reputation: the sender must fix it
    UNKNOWN = "unknown"  # failed, but we cannot tell why: kept for a person, never hard
    DELIVERED = "delivered"  # a positive delivery report: resets the soft-bounce counter


@dataclass(frozen=True, slots=True)
class BounceEvent:
    """What one report said about one address.

    `dedupe_key` makes re-imports harmless: it is the bounce's Message-ID (plus the address when
    one report names several) or the provider's event id. `reason` is the finer-grained cause
    (`user_unknown`, `mailbox_full`, `blocklisted`…) behind `kind`; `evidence` holds the short
    facts a person needs to trust the decision (reporting MTA, subject, SMTP reply, feedback type).
    """

    kind: Kind
    email: str
    dedupe_key: str
    source: str  # where the report was read: "mbox:/path#12", "imap://host/INBOX;UID=7", "sendgrid"
    provider: str = "mail"  # "mail" for a mailed report, else ses | sendgrid | mailgun | postmark
    issue: str | None = None  # the issue slug, when VERP or the ledger names it
    status: str | None = None  # enhanced status code ("5.1.1"), when there is one
    diagnostic: str = ""  # the remote server's words, one line
    occurred_at: datetime | None = None
    reason: str = ""
    evidence: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.email.lower()

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()

    def to_json(self) -> str:
        """One line of the append-only event store."""
        data = {  # by hand: dataclasses.asdict deep-copies and costs more than the JSON encoding
            "kind": self.kind.value, "email": self.email, "dedupe_key": self.dedupe_key, "source": self.source,
            "provider": self.provider, "issue": self.issue, "status": self.status, "diagnostic": self.diagnostic,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None, "reason": self.reason,
            "evidence": dict(self.evidence),
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> "BounceEvent":
        data = json.loads(line)
        when = data.get("occurred_at")
        return cls(
            kind=Kind(data["kind"]),
            email=data["email"],
            dedupe_key=data["dedupe_key"],
            source=data.get("source", ""),
            provider=data.get("provider", "mail"),
            issue=data.get("issue"),
            status=data.get("status"),
            diagnostic=data.get("diagnostic", ""),
            occurred_at=datetime.fromisoformat(when) if when else None,
            reason=data.get("reason", ""),
            evidence=dict(data.get("evidence") or {}),
        )


def utc(moment: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC so every stored time compares with every other."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class PayloadError(ValueError):
    """A provider payload is not that provider's JSON shape; the caller decides how loudly to fail."""


class EventReader(Protocol):
    """One email provider's event format, as `webzine.providers` offers it: bounces knows no
    provider by name, the caller passes the readers in (`webzine bounces import` passes them all)."""

    name: str  # "ses", "sendgrid", …
    title: str  # "SES", "SendGrid", … for messages
    by_mail: bool  # its notifications may arrive in the bounce mailbox (SES through an SNS email subscription)

    def recognises(self, document: object) -> bool: ...

    def parse_events(self, payload: bytes | str | dict | list) -> list[BounceEvent]: ...
