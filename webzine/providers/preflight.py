"""The provider pre-flight's result: what an email API's own settings would do to our messages.

Each provider's transport reads its account through the API (`ProviderTransport.preflight`) and
returns findings: Postmark's stream type, unsubscribe handling and webhooks; SES's identity and
Easy DKIM for the From domain and its configuration set's tracking; SendGrid's and Mailgun's
tracking settings. `webzine check` shows them beside its DNS checks; the registry's `preflight`
runs the configured provider's. A finding carries its text in English and Korean, like the
check's own findings, and its status uses the same three values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"  # worth fixing; a send still goes
    FAIL = "fail"  # the send would harm readers or fail; fix it before sending


@dataclass(frozen=True)
class Finding:
    check: str  # "<provider>_<what>", e.g. "postmark_stream"
    status: Status
    english: str
    korean: str

    def text(self, language: str) -> str:
        return self.korean if language == "ko" else self.english


def passed(check: str, english: str, korean: str) -> Finding:
    return Finding(check, Status.PASS, english, korean)


def warned(check: str, english: str, korean: str) -> Finding:
    return Finding(check, Status.WARN, english, korean)


def failed(check: str, english: str, korean: str) -> Finding:
    return Finding(check, Status.FAIL, english, korean)
