"""One error family for the whole pipeline.

Stages raise these; only the CLI prints them (as `Error: …` and `Hint: …` on stderr) and turns
them into exit codes. Each message is one sentence a person can act on: where (file:line, row,
host:port), what is wrong, what to do.
"""

from __future__ import annotations

from pathlib import Path


class WebzineError(Exception):
    """Base class: a problem the user can fix. `exit_code` follows the CLI contract."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def where(path: str | Path, line: int | None = None, *, row: int | None = None) -> str:
    """Format a location prefix: `issues/x.md:12`, `lists/a.csv row 7`."""
    text = str(path)
    if line is not None:
        text += f":{line}"
    if row is not None:
        text += f" row {row}"
    return text


class UsageError(WebzineError):
    """A command-line value cannot be used (a date, an option combination)."""


class ConfigError(WebzineError):
    """webzine.toml is missing, malformed or names an unknown key; or a secret is not set."""


class IssueError(WebzineError):
    """An issue file's front matter or Markdown cannot be used."""


class TemplateError(WebzineError):
    """A Jinja template (or a merge field in the issue) is broken or names an unknown field."""


class ListError(WebzineError):
    """A recipient, key-customer, manager or suppression file cannot be read."""


class LintFailed(WebzineError):
    """The build produced output but lint found errors (size, links, compliance)."""

    exit_code = 1


class AuditGaps(WebzineError):
    """Key customers would not receive the issue; the send is refused."""

    exit_code = 1


class TransportError(WebzineError):
    """A transport cannot deliver right now (connection, timeout); re-running resumes."""

    exit_code = 3


class MessageUnsupported(WebzineError):
    """The issue's message is one this transport can never carry (attachments for a JSON API):
    the issue's problem, not the recipients' — nobody is marked failed, and a re-run with another
    transport or a fixed issue sends them."""


class SenderProblem(TransportError):
    """The sender must fix something (authentication, policy, reputation): the run stops."""


class StorageError(WebzineError):
    """The ledger or a store cannot be written (disk full, read-only, locked); nothing is lost,
    and re-running once the cause is fixed resumes."""

    exit_code = 3


class SigningFailed(WebzineError):
    """A DKIM signing process died (killed, out of memory): the messages waiting for it were never
    handed over, are recorded as not sent, and a re-run sends them."""

    exit_code = 3


class SendLocked(WebzineError):
    """Another send of the same issue is running against the same ledger."""

    exit_code = 3


class SendInterrupted(WebzineError):
    """The send was stopped (signal); what was in flight is recorded and a re-run resumes."""

    exit_code = 3
