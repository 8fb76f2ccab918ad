"""A check's result as data: which check, pass/warn/fail, and the message to show (a key into
`texts.MESSAGES` with its values), so that the same finding prints in Korean or English."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from webzine.domain.texts import message


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"  # worth fixing; a send still goes
    FAIL = "fail"  # receivers will refuse or junk the mail; a real send is refused

    @property
    def mark(self) -> str:
        return {"pass": "✓", "warn": "!", "fail": "✗"}[self.value]


@dataclass(frozen=True)
class Finding:
    check: str  # the check's name, also a key into texts.CHECKS
    status: Status
    key: str  # the message, a key into texts.MESSAGES
    values: Mapping[str, str] = field(default_factory=dict)

    def text(self, language: str) -> str:
        return message(self.key, language, **self.values)


def passed(check: str, key: str, **values: str) -> Finding:
    return Finding(check, Status.PASS, key, values)


def warned(check: str, key: str, **values: str) -> Finding:
    return Finding(check, Status.WARN, key, values)


def failed(check: str, key: str, **values: str) -> Finding:
    return Finding(check, Status.FAIL, key, values)


def failures(findings: Iterable[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.status is Status.FAIL]


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when nothing failed, 1 when a check failed (warnings do not fail)."""
    return 1 if failures(findings) else 0
