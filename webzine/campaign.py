"""Everything one send needs, loaded and checked before the first message is built.

The gates, in order, each with a message that says what to do: the issue renders and passes lint;
the subscriber list cleans (for this issue's advertising flag); the key-customer audit has no gaps,
or the editor gave a reason to send anyway (`--allow-gaps`, recorded in the ledger); the token
secret and, when configured, the DKIM key are in the environment. The CLI, the bench and the
scheduled send all go through `load_campaign`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from webzine.config import Settings
from webzine.errors import AuditGaps, ListError, LintFailed
from webzine.issue import load_issue
from webzine.message import FactoryOptions, MessageFactory, token_secret
from webzine.models import Manager, Recipient
from webzine.pacing import SuppressionWatch
from webzine.recipients import load_clean_list, load_managers
from webzine.render import RenderedIssue, build_issue
from webzine.transports import transport_class
from webzine.transports.base import Transport

if TYPE_CHECKING:
    from webzine.audit import AuditReport
    from webzine.ledger import Ledger
    from webzine.listrecords import CleanList


@dataclass(frozen=True)
class Campaign:
    settings: Settings
    rendered: RenderedIssue
    clean: "CleanList"
    managers: dict[str, Manager]
    audit: "AuditReport | None"  # None for test sends
    token_key: str

    @property
    def issue(self) -> str:
        return self.rendered.slug


def with_overrides(settings: Settings, *, transport: str | None = None, outbox_format: str | None = None) -> Settings:
    """Settings with the command line's `--transport` / `--outbox-format` applied."""
    changes: dict[str, object] = {}
    if transport:
        changes["transport"] = transport
    if outbox_format:
        changes["outbox_format"] = outbox_format
    if not changes:
        return settings
    return settings.model_copy(update={"send": settings.send.model_copy(update=changes)})


def load_campaign(settings: Settings, issue_path: Path, *, gate: bool = True, allow_gaps: str | None = None) -> Campaign:
    """Render, clean, audit. `gate=False` (test sends) skips the audit, never the lint."""
    issue = load_issue(issue_path)
    clean = load_clean_list(settings, advertising=issue.advertising)
    rendered = build_issue(settings, issue_path, recipients=clean.recipients)
    if not rendered.report.ok:
        errors = rendered.report.errors
        raise LintFailed(
            f"{issue_path}: lint found {len(errors)} error(s) (first: {errors[0].code}: {errors[0].message}); "
            "nothing was sent.",
            hint=f"run: webzine build {issue_path}",
        )
    audit = _audit_gate(settings, rendered, clean, issue_path, allow_gaps) if gate else None
    managers = load_managers(settings.path(settings.lists.managers))
    return Campaign(settings, rendered, clean, managers, audit, token_secret(settings))


def _audit_gate(settings: Settings, rendered: RenderedIssue, clean: "CleanList", issue_path: Path,
                allow_gaps: str | None) -> "AuditReport":
    from webzine.audit import audit_for_send

    report = audit_for_send(settings, rendered.issue, clean=clean)
    if report.ok or allow_gaps:
        return report
    gaps = [gap for gap in report.gaps if not gap.excused]
    example = f" (first: {gaps[0].email}, {gaps[0].reason})" if gaps else ""
    raise AuditGaps(
        f"{len(gaps)} key customer(s) would not receive this issue{example}; nothing was sent.",
        hint=f'run: webzine audit {issue_path} — fix the list, or send anyway with --allow-gaps "reason".',
    )


def not_started(settings: Settings, ledger: "Ledger", issue_path: Path) -> tuple[str, int, int]:
    """(slug, recipients on the cleaned list, of which have no ledger row yet) for an issue file:
    what `webzine status` counts as pending and what a scheduled send needs to know whether an
    issue is completely sent."""
    issue = load_issue(issue_path)
    keys = [r.key for r in load_clean_list(settings, advertising=issue.advertising).recipients]
    seen = 0
    for start in range(0, len(keys), 5000):
        seen += len(ledger.states(issue.slug, keys[start : start + 5000]))
    return issue.slug, len(keys), len(keys) - seen


def suppression_watch(settings: Settings) -> SuppressionWatch:
    """Who must not be mailed, kept current during a send: the suppression file plus what the
    unsubscribe service (`webzine serve`) recorded and has not yet been pulled into it."""
    from webzine.serve.store import is_postgres, sqlite_path, store_suppressions
    from webzine.suppressions import load_suppressions

    # A SQLite store is re-read when its files change; a PostgreSQL store has no file to watch,
    # so it is re-read every few seconds during the send.
    store = None if is_postgres(settings) else sqlite_path(settings)

    def load(path: Path) -> dict[str, object]:
        merged: dict[str, object] = {entry.key: entry for entry in store_suppressions(settings)}
        merged.update(load_suppressions(path))
        return merged

    return SuppressionWatch(settings.path(settings.lists.suppressions), load, always_reload=store is None,
                            also_watch=[] if store is None else [store, store.with_name(store.name + "-wal")])


def make_factory(campaign: Campaign, *, options: FactoryOptions = FactoryOptions()) -> MessageFactory:
    from webzine.dkim import signer_from_settings

    return MessageFactory(
        campaign.rendered,
        campaign.settings,
        token_key=campaign.token_key,
        managers=campaign.managers,
        signer=signer_from_settings(campaign.settings),
        options=options,
    )


def make_transport(settings: Settings) -> Transport:
    return transport_class(settings.send.transport).from_settings(settings)


def find_recipient(campaign: Campaign, email: str) -> Recipient:
    """The cleaned-list row for `email` (any case), for `--as` and `--only`."""
    key = email.strip().lower()
    for recipient in campaign.clean.recipients:
        if recipient.key == key:
            return recipient
    raise ListError(
        f"{email} is not on the cleaned list ({campaign.clean.source}); check the spelling, "
        "or run webzine lists clean to see whether it was rejected or suppressed."
    )


def sample_recipient(campaign: Campaign) -> Recipient:
    """Who a test send is personalised as when `--as` is not given."""
    chosen = campaign.settings.build.sample_recipient
    if chosen:
        return find_recipient(campaign, chosen)
    if not campaign.clean.recipients:
        raise ListError(f"{campaign.clean.source}: no recipient is left after cleaning; nothing to personalise a test with.")
    return campaign.clean.recipients[0]
