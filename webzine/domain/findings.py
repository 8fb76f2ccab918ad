"""A check's result as data: which check, pass/warn/fail, and the message to show (a key into
`texts.MESSAGES` with its values), so that the same finding prints in Korean or English.

The status is the providers' pre-flight's (`webzine.providers.preflight`), so their findings and
these are counted and shown alike (`Reported`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from webzine.domain.texts import message
from webzine.providers.preflight import Status

MARKS = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗"}


class Reported(Protocol):
    """What the report shows of a finding, ours or a provider's."""

    @property
    def check(self) -> str: ...
    @property
    def status(self) -> Status: ...
    def text(self, language: str) -> str: ...


AnyFinding = TypeVar("AnyFinding", bound=Reported)


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


def failures(findings: Iterable[AnyFinding]) -> list[AnyFinding]:
    return [finding for finding in findings if finding.status is Status.FAIL]


def exit_code(findings: Iterable[Reported]) -> int:
    """0 when nothing failed, 1 when a check failed (warnings do not fail)."""
    return 1 if failures(findings) else 0
