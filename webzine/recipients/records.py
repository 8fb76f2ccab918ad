"""What cleaning a list produces: the kept recipients and, for every other row, why.

The records are named tuples: immutable, and cheap to create by the hundred thousand (a frozen
dataclass costs three times as much, and a list can have a million rows). `CleanList` holds them
with the counts the CLI prints. The invariant that matters:
`rows_read == kept + len(rejects) + len(duplicates)` — nobody is lost silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import compress
from operator import attrgetter
from typing import NamedTuple

from webzine.models import Manager, Recipient, SuppressionReason


_email_of = attrgetter("email")


# Why a row is not mailed: a problem of the row itself, every reason an address is suppressed
# (`SuppressionReason`'s members, defined once, in models), or its consent.
RejectReason = StrEnum("RejectReason", [
    ("MISSING_EMAIL", "missing_email"),
    ("INVALID_SYNTAX", "invalid_syntax"),
    ("MULTIPLE_ADDRESSES", "multiple_addresses"),
    ("TYPO_DOMAIN", "typo_domain"),
    ("UNDELIVERABLE_DOMAIN", "undeliverable_domain"),
    ("WRONG_FIELD_COUNT", "wrong_field_count"),
    *((reason.name, reason.value) for reason in SuppressionReason),
    ("CONSENT_EXPIRED", "consent_expired"),
    ("CONSENT_MISSING", "consent_missing"),
], module=__name__)


class Reject(NamedTuple):
    """A row that will not be mailed. `value` is the email cell as written; `email` the address
    as far as it could be read (empty when it could not)."""

    row: int
    value: str
    reason: RejectReason
    suggestion: str = ""
    detail: str = ""
    email: str = ""
    name: str = ""
    company: str = ""
    manager: str = ""


class Duplicate(NamedTuple):
    row: int
    value: str
    email: str
    first_row: int


class Note(NamedTuple):
    """A warning (kept, but look at it) or a change `--fix-typos` made."""

    row: int
    email: str
    kind: str  # role_address, suspect_domain, short_row, bad_consent_date, unclosed_quote, fixed_typo
    detail: str
    suggestion: str = ""


class Reconfirm(NamedTuple):
    """A subscriber whose marketing consent must be asked for again (missing or too old)."""

    recipient: Recipient
    status: str  # "expired" | "missing"


@dataclass
class CleanList:
    source: str
    recipients: list[Recipient] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    consent_reconfirm: list[Reconfirm] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    fixes: list[Note] = field(default_factory=list)
    rows_read: int = 0
    blank_rows: int = 0
    encoding: str = ""
    delimiter: str = ""
    header: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    advertising: bool = True
    keys: dict[str, int] = field(default_factory=dict)  # every readable address → its first row
    domains: Counter[str] = field(default_factory=Counter)  # rows per domain, before dedupe
    managers: dict[str, Manager] = field(default_factory=dict)  # named by the list's own columns, by id
    _rejects_by_key: dict[str, Reject] | None = field(default=None, repr=False, compare=False)

    def rejects_by_key(self) -> dict[str, Reject]:
        """Rejected rows that had an address, by lowercased address (first row wins); built once,
        in C, because the audit asks for it on lists with a hundred thousand rejects."""
        if self._rejects_by_key is None:
            with_address = list(compress(self.rejects, map(_email_of, self.rejects)))
            keys = list(map(str.lower, map(_email_of, with_address)))
            self._rejects_by_key = dict(zip(reversed(keys), reversed(with_address)))
        return self._rejects_by_key

    @property
    def kept(self) -> int:
        return len(self.recipients)

    def rejected_by_reason(self) -> Counter[str]:
        return Counter(str(reject.reason) for reject in self.rejects)

    def counts(self) -> dict[str, int]:
        """The summary the CLI prints and tests check: read = kept + rejected + duplicates."""
        return {"rows_read": self.rows_read, "kept": self.kept, "rejected": len(self.rejects),
                "duplicates": len(self.duplicates), "blank_rows": self.blank_rows,
                "warnings": len(self.warnings), "fixes": len(self.fixes),
                "consent_reconfirm": len(self.consent_reconfirm)}

    def domain_counts(self) -> Counter[str]:
        return Counter(r.email.rpartition("@")[2] for r in self.recipients)
