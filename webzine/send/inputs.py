"""Everything one send needs, read once and checked before the first message is built.

`load_audience` reads the inputs that decide *who* (the suppressions from the CSV and the
unsubscribe store, the subscriber list cleaned against them as of the command's `today` with the
customers' segments joined in, the managers); `load_campaign` adds what decides *what* and
*whether* (the issue rendered and linted, the key customers and their audit). `build_issue` is
`webzine build`'s loader: the issue rendered against the list as it is, without cleaning it. Every later step — the dry run, the send, `status`, `due`,
the preview — works on these values and opens no input file of its own.

The gates fail closed, each with a message that says what to do: the issue renders and passes
lint; a configured key-customer file exists and names at least one customer (having none is an
explicit `key_customers = ""` in webzine.toml, printed in every send summary); a list that names
account managers has a managers file; the audit has no gaps, or the editor gave a reason to send
anyway (`--allow-gaps`, recorded in the ledger); the token secret and, when configured, the DKIM
key are in the environment.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from webzine.audit.audit import AuditReport, issue_name, key_customer_keys, read_key_customers, reconcile
from webzine.audit.fields import read_list_sample, read_managers
from webzine.config import Settings
from webzine.customers import rows_with_segments, segments_for, with_segments
from webzine.errors import AuditGaps, ListError, LintFailed
from webzine.i18n import _
from webzine.render.issue import Issue, load_issue
from webzine.send.ledger import Ledger
from webzine.recipients.records import CleanList
from webzine.render.fields import recipient_rows
from webzine.message.factory import FactoryOptions, MessageFactory, token_secret
from webzine.models import Manager, Recipient, Suppression
from webzine.send.pacing import SuppressionWatch
from webzine.send.plan import Action, Plan, PlanOptions, make_plan, plan_actions
from webzine.recipients.clean import load_clean_list, load_managers
from webzine.recipients.stream import STREAM_BLOCK_SIZE, StreamedList, load_streamed_list
from webzine.recipients.suppressions import combine, load_suppressions
from webzine.transports.base import Transport

if TYPE_CHECKING:  # rendering (Jinja, Markdown, lxml) and the providers (httpx) are imported where used:
    from webzine.render.compose import RenderedIssue  # `due` and `status` read the audience and the ledger only


@dataclass(frozen=True)
class SuppressionSource:
    """The one answer to "who must not be mailed": the suppression file plus what the unsubscribe
    service (`webzine serve`, SQLite or PostgreSQL) recorded and has not been pulled into it yet.
    Cleaning, the audit, the dry run and the live watch during a send all read it."""

    csv: Path
    read_store: Callable[[], list[Suppression]]
    store_files: tuple[Path, ...] = ()
    polled: bool = False  # a database with no file to watch is re-read every interval

    def load(self) -> dict[str, Suppression]:
        merged: dict[str, Suppression] = {entry.key: entry for entry in self.read_store()}
        for key, entry in load_suppressions(self.csv).items():
            merged[key] = combine(merged[key], entry) if key in merged else entry
        return merged

    def watch(self, loaded: Mapping[str, Suppression]) -> SuppressionWatch:
        """Kept current during a send, starting from what was `loaded` (not read again)."""
        return SuppressionWatch(self.csv, lambda _path: self.load(), always_reload=self.polled,
                                also_watch=self.store_files, initial=loaded)


def suppression_source(settings: Settings) -> SuppressionSource:
    from webzine.unsubscribes.store import is_postgres, sqlite_path, store_suppressions

    csv = settings.path(settings.lists.suppressions)
    if is_postgres(settings):
        return SuppressionSource(csv, lambda: store_suppressions(settings), polled=True)
    store = sqlite_path(settings)
    return SuppressionSource(csv, lambda: store_suppressions(settings),
                             store_files=(store, store.with_name(store.name + "-wal")))


@dataclass(frozen=True)
class KeyCustomers:
    """The key-customer file's rows, or none on purpose (`key_customers = ""`)."""

    source: str
    rows: tuple[tuple[int, dict[str, str]], ...] = ()

    @property
    def none_by_choice(self) -> bool:
        return not self.source

    @property
    def note(self) -> str:
        if self.none_by_choice:
            return _('no key-customer audit: webzine.toml [lists] says key_customers = "" (no key customers)')
        return _("{count} key customers from {source}").format(count=f"{len(self.rows):,}", source=self.source)


def load_key_customers(settings: Settings) -> KeyCustomers:
    """The configured key customers; a missing or empty file stops the send (fails closed)."""
    configured = settings.lists.key_customers.strip()
    if not configured:
        return KeyCustomers("")
    path = settings.path(configured)
    if not path.is_file():
        raise ListError(_("{path}: the key-customer file named in webzine.toml does not exist; fix [lists] key_customers, "
                          "or write key_customers = \"\" in webzine.toml [lists] if this publication has no key "
                          "customers.").format(path=path))
    rows = tuple(read_key_customers(path))
    if not rows:
        raise ListError(_("{path}: the key-customer file lists nobody (a header and no rows); add the key customers, "
                          "or write key_customers = \"\" in webzine.toml [lists] if this publication has no key "
                          "customers.").format(path=path))
    return KeyCustomers(str(path), rows)


_COUNT_CHUNK = 2_048  # recipients whose ledger rows are read at once when counting a plan


@dataclass(frozen=True)
class Audience:
    """Who this issue goes to, as of `today`: the cleaned list and what it was cleaned against."""

    settings: Settings
    today: date
    issue: Issue
    clean: CleanList | StreamedList  # a real send streams the list; the dry run, status and due hold it
    managers: dict[str, Manager]
    suppressions: dict[str, Suppression]
    source: SuppressionSource

    @property
    def slug(self) -> str:
        return self.issue.slug

    def plan(self, ledger: Ledger | None, options: PlanOptions) -> Plan:
        """The plan of a run with `options`, from this issue's ledger rows (none without a ledger)."""
        entries = ledger.all_states(self.slug) if ledger is not None else {}
        return make_plan(self.clean.recipients, entries, {}, options)

    def plan_counts(self, ledger: Ledger, options: PlanOptions) -> Counter[Action]:
        """How many recipients the plan puts under each action, reading the ledger a chunk at a
        time: after a send of a million, the whole plan need not be in memory to count it."""
        actions = plan_actions(self.clean.recipients, lambda keys: ledger.states(self.slug, keys), {}, options,
                               chunk_size=_COUNT_CHUNK)
        return Counter(action for __, action in actions)


def load_audience(settings: Settings, issue: Issue, *, today: date, stream: bool = False,
                  block_size: int = STREAM_BLOCK_SIZE) -> Audience:
    """With `stream`, the list is a `StreamedList` (a real send: memory that does not grow with
    the list, the file read once per pass); otherwise the cleaned list is held."""
    source = suppression_source(settings)
    suppressions = source.load()
    scores = segments_for(settings)
    if stream:
        clean: CleanList | StreamedList = load_streamed_list(
            settings, advertising=issue.advertising, today=today, suppressions=suppressions, block_size=block_size)
        if scores:
            clean.transforms.append(lambda chunk: with_segments(chunk, scores))
    else:
        clean = load_clean_list(settings, advertising=issue.advertising, today=today, suppressions=suppressions)
        clean.recipients = with_segments(clean.recipients, scores)
    managers = _managers_for(settings, clean)
    return Audience(settings, today, issue, clean, managers, suppressions, source)


def _managers_for(settings: Settings, clean: CleanList | StreamedList) -> dict[str, Manager]:
    """managers.csv, and the managers the list names itself (`[lists.columns] manager_email`);
    a missing file is fine only when every account manager a recipient names is one of those."""
    path = settings.path(settings.lists.managers)
    if path.exists():
        return {**load_managers(path), **clean.managers}
    named = next((r for r in clean.recipients if r.manager and r.manager not in clean.managers), None)
    if named is not None:
        raise ListError(
            _("{path}: no such file, but {source} row {row} names account manager {manager}; restore the managers "
              "file (or fix [lists] managers in webzine.toml) so replies reach the manager.").format(
                path=path, source=clean.source, row=named.row, manager=repr(named.manager))
        )
    return dict(clean.managers)


@dataclass(frozen=True)
class Campaign:
    audience: Audience
    rendered: RenderedIssue
    key_customers: KeyCustomers | None  # None for test sends (no audit)
    audit: AuditReport | None
    token_key: str

    @property
    def settings(self) -> Settings:
        return self.audience.settings

    @property
    def today(self) -> date:
        return self.audience.today

    @property
    def clean(self) -> CleanList:
        return self.audience.clean

    @property
    def managers(self) -> dict[str, Manager]:
        return self.audience.managers

    @property
    def issue(self) -> str:
        return self.rendered.slug


def build_issue(settings: Settings, issue_path: str | Path, *,
                recipients: Iterable[Recipient] | None = None) -> RenderedIssue:
    """Read an issue file and render it (`webzine build`). `recipients` (iterated once) replaces
    the subscriber list for the field checks and the preview, e.g. the cleaned list of a send;
    without them the list is read as it is, with the customers' segments joined in."""
    if recipients is not None:
        listing = recipient_rows(recipients)
    else:
        listing = read_list_sample(settings.path(settings.lists.subscribers), settings.lists.columns)
        if scores := segments_for(settings):
            listing.rows = rows_with_segments(iter(listing.rows), scores)  # type: ignore[arg-type]
    managers = read_managers(settings.path(settings.lists.managers))
    from webzine.render.compose import render_issue

    return render_issue(settings, load_issue(issue_path), listing=listing, managers=managers)


def with_overrides(settings: Settings, *, transport: str | None = None, outbox_format: str | None = None,
                   rate: float | None = None) -> Settings:
    """Settings with the command line's `--transport` / `--outbox-format` / `--rate` applied; `--rate`
    paces this run whatever the transport, the outbox included."""
    changes: dict[str, object] = {}
    if rate is not None:
        changes["rate"] = changes["rehearsal_rate"] = rate
    if transport:
        changes["transport"] = transport
    if outbox_format:
        changes["outbox_format"] = outbox_format
    if not changes:
        return settings
    return settings.model_copy(update={"send": settings.send.model_copy(update=changes)})


def load_campaign(settings: Settings, issue_path: Path, *, today: date, gate: bool = True,
                  allow_gaps: str | None = None, stream: bool = False, block_size: int = STREAM_BLOCK_SIZE) -> Campaign:
    """Read every input once (the list once per pass with `stream`), render, lint, audit.
    `gate=False` (test sends) skips the audit, never the lint."""
    issue = load_issue(issue_path)
    audience = load_audience(settings, issue, today=today, stream=stream, block_size=block_size)
    key_customers = load_key_customers(settings) if gate else None
    manager_fields = {key: dataclasses.asdict(manager) for key, manager in audience.managers.items()}
    from webzine.render.compose import render_issue

    rendered = render_issue(settings, issue, listing=recipient_rows(audience.clean.recipients),
                            managers=manager_fields)
    if not rendered.report.ok:
        errors = rendered.report.errors
        raise LintFailed(
            _("{path}: lint found {count} error(s) (first: {code}: {message}); nothing was sent.").format(
                path=issue_path, count=len(errors), code=errors[0].code, message=errors[0].message),
            hint=_("run: {command}").format(command=f"webzine build {issue_path}"),
        )
    report = _audit_gate(audience, key_customers, issue_path, allow_gaps) if key_customers is not None else None
    if report is not None:  # who should be a key customer, who is slipping: for the editor, never a gap
        from webzine.customers.people import audit_notes

        report = report.model_copy(update={"notes": [*report.notes, *audit_notes(settings)]})
    return Campaign(audience, rendered, key_customers, report, token_secret(settings))


def _audit_gate(audience: Audience, key_customers: KeyCustomers, issue_path: Path,
                allow_gaps: str | None) -> AuditReport:
    name = issue_name(audience.issue)
    if key_customers.none_by_choice:
        return AuditReport(ok=True, issue=name, key_customers=0, present=0, excused=0, gaps=[],
                           advertising=audience.issue.advertising, notes=[key_customers.note])
    clean = audience.clean
    if isinstance(clean, StreamedList):  # the send needs the gaps, not suggestions for them
        clean = clean.only(key_customer_keys(key_customers.rows))
    report = reconcile(key_customers.rows, key_customers.source, clean, audience.suppressions, issue=name,
                       suggest=not isinstance(audience.clean, StreamedList))
    if report.ok or allow_gaps:
        return report
    gaps = report.unexcused
    text = (_("{count} key customer(s) would not receive this issue (first: {email}, {reason}); nothing was sent.")
            if gaps else _("{count} key customer(s) would not receive this issue; nothing was sent."))
    raise AuditGaps(
        text.format(count=len(gaps), email=gaps[0].email if gaps else "", reason=_(gaps[0].reason.value) if gaps else ""),
        hint=_('run: webzine audit {path} — fix the list, or send anyway with --allow-gaps "reason".').format(path=issue_path),
    )


def make_factory(campaign: Campaign, *, options: FactoryOptions = FactoryOptions(), sign: bool = True) -> MessageFactory:
    """The issue's message factory; `sign=False` when a `SigningPool` signs after it."""
    from webzine.message.dkim import signer_from_settings

    return MessageFactory(
        campaign.rendered,
        campaign.settings,
        token_key=campaign.token_key,
        managers=campaign.managers,
        signer=signer_from_settings(campaign.settings) if sign else None,
        options=options,
    )


def make_transport(settings: Settings) -> Transport:
    from webzine.providers import transport_class

    return transport_class(settings.send.transport).from_settings(settings)


def find_recipient(campaign: Campaign, email: str) -> Recipient:
    """The cleaned-list row for `email` (any case), for `--as` and `--only`."""
    key = email.strip().lower()
    for recipient in campaign.clean.recipients:
        if recipient.key == key:
            return recipient
    raise ListError(
        _("{email} is not on the cleaned list ({source}); check the spelling, "
          "or run webzine lists clean to see whether it was rejected or suppressed.").format(
            email=email, source=campaign.clean.source)
    )


def sample_recipient(campaign: Campaign) -> Recipient:
    """Who a test send is personalised as when `--as` is not given."""
    chosen = campaign.settings.build.sample_recipient
    if chosen:
        return find_recipient(campaign, chosen)
    first = next(iter(campaign.clean.recipients), None)
    if first is None:
        raise ListError(_("{source}: no recipient is left after cleaning; nothing to personalise a test with.").format(
            source=campaign.clean.source))
    return first
