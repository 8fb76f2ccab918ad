"""`webzine bounces import`: sources → events → store → policy → suppressions.

The ladder for naming the recipient runs here: a VERP token or the bounced Message-ID found in
the ledger names the address and issue exactly; the parsed report is the fallback. One broken
message never stops an import: it is listed in the result with the reason and skipped. Events
are stored before an IMAP message is moved, so a crash in between only means a harmless re-read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Protocol

from webzine.bounces import policy, store
from webzine.bounces.dsn import Report, parse_report
from webzine.bounces.events import BounceEvent, EventReader, Kind, PayloadError, utc
from webzine.bounces.kinds import RECIPIENT_KINDS, MessageKind
from webzine.bounces.sources import EventFile, Item, Source, SourceError, event_lines
from webzine.i18n import _
from webzine.models import Suppression
from webzine.recipients.suppressions import RANK, load_suppressions, merge_suppressions


class RecipientLookup(Protocol):
    """What the import asks the send ledger (webzine.send.ledger.Ledger implements it)."""

    def find_by_verp(self, token: str) -> tuple[str, str] | None: ...

    def find_by_message_id(self, message_id: str) -> tuple[str, str] | None: ...

    def find_by_provider_id(self, provider_id: str) -> tuple[str, str] | None: ...

    def history(self, email: str) -> Sequence[policy.SentRow]: ...


@dataclass
class ImportResult:
    read: int = 0  # messages and provider files looked at
    fresh: list[BounceEvent] = field(default_factory=list)  # events not seen before
    known: int = 0  # events already in the store (a re-import)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, why)
    suppressed: list[Suppression] = field(default_factory=list)  # new or upgraded entries written
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, error): sources not read
    kinds: Counter[str] = field(default_factory=Counter)  # mailed messages by MessageKind
    at: str = ""

    def to_json(self) -> dict:
        """The last-import report that `webzine bounces report` shows."""
        fresh = self.fresh
        return {
            "at": self.at,
            "read": self.read,
            "new_events": len(fresh),
            "known_events": self.known,
            "by_kind": dict(Counter(e.kind.value for e in fresh)),
            "by_message_kind": {kind.value: self.kinds[kind.value] for kind in MessageKind if self.kinds[kind.value]},
            "by_domain": dict(Counter(e.domain for e in fresh if e.kind not in {Kind.DELIVERED, Kind.AUTO_REPLY})),
            "attention": [_brief(e) for e in fresh if e.kind in {Kind.SENDER_PROBLEM, Kind.UNKNOWN}],
            "skipped": [{"source": s, "why": w} for s, w in self.skipped],
            "failed": [{"source": s, "error": e} for s, e in self.failed],
            "suppressed": [{"email": s.email, "reason": s.reason.value, "detail": s.detail} for s in self.suppressed],
        }


def _brief(event: BounceEvent) -> dict:
    return {"kind": event.kind.value, "email": event.email, "status": event.status, "reason": event.reason,
            "diagnostic": event.diagnostic, "source": event.source, "issue": event.issue,
            "evidence": event.evidence}


def events_from_report(report: Report, source: str, lookup: RecipientLookup | None = None) -> list[BounceEvent]:
    """One parsed report → events, with VERP / Message-ID resolved through the ledger."""
    hit = None
    if lookup is not None:
        if report.verp_token:
            hit = lookup.find_by_verp(report.verp_token)
        if hit is None and report.original_message_id:
            hit = lookup.find_by_message_id(report.original_message_id)
    # The original's To stands in for the recipient only when the report is about our own mail.
    findings = [f for f in report.findings if not f.guessed or hit is not None]
    if not findings and hit is not None and report.kind in RECIPIENT_KINDS:
        # Sent to one recipient's VERP address, yet unreadable: kept for a person, never acted on.
        return [BounceEvent(Kind.UNKNOWN, hit[1], f"{report.message_id}:{hit[1].lower()}", source, issue=hit[0],
                            occurred_at=utc(report.occurred_at), reason="unparsed",
                            evidence={"subject": report.subject, "form": report.form})]
    events = []
    for finding in findings:
        email, issue = finding.email, None
        evidence = {**finding.evidence, "form": report.form}
        if report.subject:
            evidence["subject"] = report.subject
        if hit is not None and (len(findings) == 1 or finding.email.lower() == hit[1].lower()):
            issue = hit[0]
            if email.lower() != hit[1].lower():
                evidence["reported_recipient"] = email  # a forward or alias: the ledger knows whom we mailed
                email = hit[1]
        events.append(BounceEvent(finding.kind, email, f"{report.message_id}:{email.lower()}", source,
                                  issue=issue, status=finding.status, diagnostic=finding.diagnostic,
                                  occurred_at=utc(report.occurred_at), reason=finding.reason,
                                  evidence={k: str(v) for k, v in evidence.items() if v}))
    return events


def read_source(source: Source, lookup: RecipientLookup | None, result: ImportResult, *,
                unsubscribe_addresses: frozenset[str] = frozenset(),
                readers: Sequence[EventReader] = ()) -> tuple[list[BounceEvent], list[Item]]:
    """Read one source; never stops on one bad message. Returns its events and the items to
    acknowledge once those events are stored (not the replies: they are `webzine replies
    import`'s); counts and skips go into `result`. `readers` are the providers' event formats,
    for event files and for notifications a provider mails."""
    events: list[BounceEvent] = []
    done: list[Item] = []
    mailed = tuple(reader for reader in readers if reader.by_mail)
    for item in source.items():
        result.read += 1
        if isinstance(item, EventFile):
            events.extend(_provider_events(item, result, lookup, readers))
            continue
        if item.skip:
            done.append(item)
            result.skipped.append((item.source, item.skip))
            continue
        try:
            report = parse_report(item.data, unsubscribe_addresses=unsubscribe_addresses, readers=mailed)
        except Exception as exc:  # noqa: BLE001 - the email package on hostile input; one message, not the run
            done.append(item)
            result.skipped.append((item.source, _("could not be parsed ({error}: {reason})").format(
                error=type(exc).__name__, reason=exc)))
            continue
        result.kinds[report.kind.value] += 1
        if report.kind in REPLY_KINDS:
            if report.kind is MessageKind.OTHER:
                result.skipped.append((item.source, _("not a bounce, delay, complaint, reply or unsubscribe request")))
            continue
        done.append(item)
        found = events_from_report(report, item.source, lookup)
        if not found:
            result.skipped.append((item.source, _("a {kind} that names no recipient").format(kind=report.kind.value)))
        events.extend(found)
    return events, done


REPLY_KINDS = frozenset({MessageKind.HUMAN_REPLY, MessageKind.AUTO_REPLY, MessageKind.OTHER})


def _provider_events(item: EventFile, result: ImportResult, lookup: RecipientLookup | None,
                     readers: Sequence[EventReader]) -> list[BounceEvent]:
    events: list[BounceEvent] = []
    try:
        documents = event_lines(item.data)
    except ValueError as exc:
        result.skipped.append((item.source, _("not JSON ({reason})").format(reason=exc)))
        return []
    for document in documents:
        first = document[0] if isinstance(document, list) and document else document
        reader = next((reader for reader in readers if reader.recognises(first)), None)
        if reader is None:
            result.skipped.append((item.source, _("JSON, but not {providers} events").format(providers=_titles(readers))))
            continue
        try:
            parsed = reader.parse_events(document)
        except PayloadError as exc:
            result.skipped.append((item.source, f"{reader.name}: {exc}"))
            continue
        events.extend(_with_issue(replace(e, source=f"{item.source} ({reader.name})"), lookup) for e in parsed)
    return events


def _titles(readers: Sequence[EventReader]) -> str:
    titles = [reader.title for reader in readers] or ["provider"]
    return _(" or ").join([", ".join(titles[:-1]), titles[-1]] if len(titles) > 1 else titles)


def _with_issue(event: BounceEvent, lookup: RecipientLookup | None) -> BounceEvent:
    """The issue from the ledger: by the id the event names (ours or the provider's), then by
    the provider id an event gives separately (SendGrid's X-Message-Id)."""
    message_id = event.evidence.get("message_id", "")
    provider_id = event.evidence.get("provider_id", "")
    if event.issue or lookup is None or not (message_id or provider_id):
        return event
    hit = (message_id and (lookup.find_by_provider_id(message_id) or lookup.find_by_message_id(message_id))) or (
        provider_id and lookup.find_by_provider_id(provider_id))
    return replace(event, issue=hit[0]) if hit else event


def run_import(sources: Sequence[Source], *, events_path, suppressions_path, soft_limit: int, today: date,
               lookup: RecipientLookup | None = None, unsubscribe_addresses: frozenset[str] = frozenset(),
               readers: Sequence[EventReader] = ()) -> ImportResult:
    """The whole import. Files change only when there is something new to record. `readers`
    are the email providers' event formats (`webzine.providers.PROVIDERS`, which the CLI passes).

    Each source's events are stored before it is acknowledged (IMAP: moved), one source after
    the other; a source that cannot be read is recorded in `failed` and the others still count."""
    result = ImportResult(at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    for source in sources:
        try:
            events, handled = read_source(source, lookup, result, unsubscribe_addresses=unsubscribe_addresses,
                                          readers=readers)
            fresh = store.append_events(events_path, events)
            source.done(handled)
        except SourceError as exc:
            result.failed.append((source.label, exc.message))
            continue
        result.fresh.extend(fresh)
        result.known += len(events) - len(fresh)
    everything = store.load_events(events_path)
    wanted = policy.suppressions(everything, soft_limit=soft_limit,
                                 history=lookup.history if lookup is not None else None, today=today)
    current = load_suppressions(suppressions_path)
    changes = [s for s in wanted if s.key not in current or RANK[s.reason] > RANK[current[s.key].reason]]
    if changes:
        merge_suppressions(suppressions_path, changes)
    result.suppressed = changes
    return result
