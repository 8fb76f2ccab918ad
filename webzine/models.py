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
