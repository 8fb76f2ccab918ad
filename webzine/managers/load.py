"""The I/O edge: every source an issue's outcomes come from, read once, as `facts` values.

Sources: the subscriber list and the key-customer file (who the customers are and who manages
them, `people.py`); the send ledger (what was handed to which transport); the
bounce events file and the events `webzine serve` received by webhook; the unsubscribe store and
the suppression file; the ratings in the feedback store; the reply store. A source that does not
exist yet (nothing served, nothing imported) is simply empty.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import NamedTuple, overload

import polars as pl

from webzine.bounces.events import BounceEvent, Kind
from webzine.bounces.store import read_records
from webzine.config import Settings
from webzine.errors import IssueError, WebzineError
from webzine.i18n import _
from webzine.render.issue import Issue, load_issue
from webzine.send.ledger import Ledger
from webzine.managers.people import NOT_MAILED as _NOT_MAILED  # noqa: F401 - the name tests use
from webzine.managers.people import PERSON_COLUMNS, read_people, read_people_and_managers
from webzine.managers.facts import Bounce, IssueFacts, Person, Rated, Replied, Sent, Sends, Unsubscribed
from webzine.managers.outcomes import korean_date, most_telling
from webzine.managers.report import IssueSummary, Tally
from webzine.models import Manager, Suppression, SuppressionReason
from webzine.recipients.clean import load_managers
from webzine.replies.records import Reply
from webzine.replies.store import load_replies
from webzine.unsubscribes.store import open_existing
from webzine.recipients.suppressions import load_suppressions

REPLIES_FILE = "replies.jsonl"  # next to [bounces] events, as `webzine replies import` keeps it
_SUPPRESSED = {
    SuppressionReason.UNSUBSCRIBED: "수신거부", SuppressionReason.HARD_BOUNCE: "반송된 주소",
    SuppressionReason.SOFT_BOUNCE_LIMIT: "계속 반송되어 발송 중지", SuppressionReason.COMPLAINT: "스팸 신고",
    SuppressionReason.MANUAL: "발송 제외 요청",
}  # fmt: skip


def load_people(settings: Settings, today: date) -> tuple[dict[str, Person], dict[str, str]]:
    """`people.read_people` as `Person`s by lowercased normalised address, and why those who
    cannot have been mailed were not (for callers that look people up one by one)."""
    frame = read_people(settings, today)
    people = {key: Person(*person) for key, *person in frame.select("key", *PERSON_COLUMNS).iter_rows()}
    return people, _not_mailed(frame)


def _not_mailed(people: pl.DataFrame) -> dict[str, str]:
    return dict(people.filter(pl.col("not_mailed").is_not_null()).select("key", "not_mailed").iter_rows())


class Event(NamedTuple):
    """What the digest and the report need of a bounce event (the store holds much more; a
    year's file holds a quarter of a million: a tuple each)."""

    issue: str | None
    key: str
    kind: str
    provider: str
    status: str
    reason: str
    diagnostic: str
    at: str  # ISO 8601, "" when unknown


def _event_from_line(line: str) -> Event:
    data = json.loads(line)
    return Event(data.get("issue"), data["email"].lower(), data["kind"], data.get("provider", "mail"),
                 data.get("status") or "", data.get("reason", ""), data.get("diagnostic", ""),
                 data.get("occurred_at") or "")


def _event_from(event: BounceEvent) -> Event:
    return Event(event.issue, event.key, event.kind.value, event.provider, event.status or "", event.reason,
                 event.diagnostic, event.occurred_at.isoformat() if event.occurred_at else "")


class Events(Sequence[Event]):
    """Bounce events held as one frame (`Event`'s fields as string columns): of a year's quarter
    of a million, an issue's digest needs only those about it, the history only counts."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    @classmethod
    def of(cls, events: Iterable[Event]) -> Events:
        return cls(pl.DataFrame(list(events), schema=_EVENT_SCHEMA, orient="row", strict=False))

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        return list(self)[index] if isinstance(index, slice) else Event._make(self.frame.row(index))

    def __iter__(self) -> Iterator[Event]:
        return map(Event._make, self.frame.iter_rows())

    def __eq__(self, other: object) -> bool:  # as the list of its events
        return isinstance(other, Sequence) and list(self) == list(other)

    def where(self, condition: pl.Expr) -> Events:
        return Events(self.frame.filter(condition))

    def about(self, slug: str) -> Events:
        """The events that name this issue or none."""
        return self.where(pl.col("issue").is_null() | (pl.col("issue") == slug))

    def kinds(self) -> Counter[tuple[str | None, str]]:
        """Events per (issue, kind)."""
        counted = self.frame.group_by("issue", "kind").len().iter_rows()
        return Counter({(issue, kind): number for issue, kind, number in counted})


_EVENT_SCHEMA = dict.fromkeys(Event._fields, pl.String)


def load_events(settings: Settings) -> Events:
    """The bounce events file and the events `webzine serve` received, read once: the file is
    parsed as plain JSON (a year of a million recipients a month holds a quarter of a million)."""
    store = open_existing(settings)
    try:
        webhook = store.events() if store is not None else []
    finally:
        if store is not None:
            store.close()
    stored = _stored_events(settings.path(settings.bounces.events))
    return Events(pl.concat([stored.frame, Events.of(map(_event_from, webhook)).frame])) if webhook else stored


_EVENT_FIELDS = {"issue": None, "email": None, "kind": None, "provider": "mail", "status": "", "reason": "",
                 "diagnostic": "", "occurred_at": ""}  # fmt: skip


def _stored_events(path: Path) -> Events:
    """The bounce events file, parsed by polars (a year of a million recipients a month is a
    quarter of a million lines); a file it cannot read so, or with a line that lacks an address or
    a kind, goes through the line-by-line reader, which reads what it can and names a broken line."""
    if not path.exists():
        return Events.of(())
    try:
        frame = pl.read_ndjson(path, schema=dict.fromkeys(_EVENT_FIELDS, pl.String))
    except pl.exceptions.PolarsError:
        frame = None
    if frame is None or frame["email"].null_count() or frame["kind"].null_count():
        return Events.of(read_records(path, _event_from_line, _("a bounce event")))
    keys = pl.Series([address.lower() for address in frame["email"].to_list()], dtype=pl.String)
    return Events(frame.select(pl.col(name).fill_null(default) if default is not None else pl.col(name)
                               for name, default in _EVENT_FIELDS.items()).with_columns(email=keys)
                  .rename(dict(zip(_EVENT_FIELDS, Event._fields))))


def load_facts(settings: Settings, issue: Issue, ledger: Ledger, *, not_mailed: dict[str, str] | None = None,
               events: Events | None = None) -> IssueFacts:
    """Everything the issue left behind, from every source (`events` when already read)."""
    sends = Sends(ledger.brief_table(issue.slug))
    events = (load_events(settings) if events is None else events).about(issue.slug)
    store = open_existing(settings)
    try:
        store_suppressions = store.suppressions() if store is not None else []
        ratings = store.ratings(issue.slug) if store is not None else []
    finally:
        if store is not None:
            store.close()
    suppressions = [*store_suppressions, *load_suppressions(settings.path(settings.lists.suppressions)).values()]
    unsubscribes, suppressed = _unsubscribes(suppressions, events, issue)
    replies = [r for r in load_replies(settings.path(settings.bounces.events).with_name(REPLIES_FILE))
               if r.issue == issue.slug]
    return IssueFacts(
        slug=issue.slug, title=issue.title, date=issue.date, sends=sends,
        bounces=_bounces(events, issue, sends.subset(events.where(pl.col("issue").is_null()).frame["key"].unique())),
        unsubscribes=unsubscribes,
        suppressed={**(not_mailed or {}), **suppressed},
        ratings={r.address.lower(): Rated(r.score, r.comment, r.at) for r in ratings},
        replies=_replies(r for r in replies if r.kind == "human_reply"),
        auto_replies=sum(r.kind == "auto_reply" for r in replies),
    )  # fmt: skip


def _replies(replies: Iterable[Reply]) -> dict[str, Replied]:
    """Per customer, the reply that matters: the oldest one still unanswered, else the latest."""
    by_sender: dict[str, list[Reply]] = defaultdict(list)
    for reply in replies:
        by_sender[reply.sender].append(reply)
    chosen: dict[str, Replied] = {}
    for sender, items in by_sender.items():
        items.sort(key=lambda r: r.received_at)
        waiting = [r for r in items if not r.answered_at]
        pick = waiting[0] if waiting else items[-1]
        chosen[sender] = Replied(pick.received_at, pick.subject, pick.excerpt, pick.answered_at, pick.answered_by,
                                 len(items))
    return chosen


def _bounces(events: Iterable[Event], issue: Issue, sends: Mapping[str, Sent]) -> dict[str, Bounce]:
    """Reports about this issue: those that name it (VERP, Message-ID), and those that name no
    issue but came after this issue was sent to that address (`sends`: at least those addresses)."""
    found: dict[str, list[Bounce]] = defaultdict(list)
    for event in events:
        key = event.key
        if event.issue is not None and event.issue != issue.slug:
            continue
        when = event.at
        if event.issue is None and not (key in sends and when and when >= sends[key].claimed_at):
            continue
        found[key].append(Bounce(event.kind, event.reason, event.status, event.diagnostic, when))
    telling = {key: most_telling(items) for key, items in found.items()}
    return {key: bounce for key, bounce in telling.items() if bounce is not None}


def _unsubscribes(suppressions: Iterable[Suppression], events: Events,
                  issue: Issue) -> tuple[dict[str, Unsubscribed], dict[str, str]]:
    """(who unsubscribed on or after the issue's date, and how; why others were not mailed)."""
    unsubscribes: dict[str, Unsubscribed] = {}
    suppressed: dict[str, str] = {}
    for entry in sorted(suppressions, key=lambda s: s.since or date.min):
        since = entry.since.isoformat() if entry.since else ""
        if entry.reason is SuppressionReason.UNSUBSCRIBED and entry.since and entry.since >= issue.date:
            unsubscribes.setdefault(entry.key, Unsubscribed(since, _how(entry.source)))
        else:
            when = f"{korean_date(since)} " if since else ""
            suppressed.setdefault(entry.key, f"{when}{_SUPPRESSED.get(entry.reason, '발송 제외')}")
    since = issue.date.isoformat()
    for event in events.about(issue.slug).where(pl.col("kind") == Kind.UNSUBSCRIBE.value):
        if event.at[:10] >= since:
            unsubscribes.setdefault(event.key, Unsubscribed(event.at[:10], event.provider))
    return unsubscribes, suppressed


def _how(source: str) -> str:
    """`serve:one-click` → `one-click`, `webhook:sendgrid` → `sendgrid`, a file's own words → `file`."""
    kind, _colon, detail = source.partition(":")
    return detail if kind in ("serve", "webhook") and detail else "file"


def issue_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.path(settings.build.issues).glob("*.md") if not p.name.startswith("_"))


def find_issue(settings: Settings, value: str) -> Issue:
    """ISSUE as the commands take it: an issue file, or the slug of one in the issues folder."""
    path = Path(value)
    if path.suffix == ".md" or path.exists():
        if not path.exists():
            raise IssueError(_("{value}: no such issue file.").format(value=value),
                             hint=_("pass an issues/*.md file or an issue's slug."))
        return load_issue(path)
    for candidate in issue_files(settings):
        issue = load_issue(candidate)
        if issue.slug == value:
            return issue
    folder = settings.path(settings.build.issues)
    raise IssueError(_("no issue with the slug '{value}' in {folder}.").format(value=value, folder=folder),
                     hint=_("pass an issues/*.md file or an issue's slug."))


def load_history(settings: Settings, ledger: Ledger, issues: Iterable[Issue], key_customers: Iterable[str], *,
                 events: Events | None = None) -> list[IssueSummary]:
    """Headline numbers of every issue that was sent, oldest first, from aggregates only (ledger
    counts per state, events and replies per issue, unsubscribes per month): a year of a million
    recipients a month is never read row by row."""
    counts = {c.issue: c for c in ledger.counts()}
    sent = sorted((i for i in issues if i.slug in counts), key=lambda i: (i.date, i.slug))
    events = load_events(settings) if events is None else events
    store = open_existing(settings)
    try:
        unsubscribes = [s for s in store.suppressions() if s.reason is SuppressionReason.UNSUBSCRIBED] if store else []
        ratings = {i.slug: store.ratings(i.slug) for i in sent} if store is not None else {}
    finally:
        if store is not None:
            store.close()
    file_entries = load_suppressions(settings.path(settings.lists.suppressions)).values()
    unsubscribes += [s for s in file_entries if s.reason is SuppressionReason.UNSUBSCRIBED]
    kinds = events.kinds()  # Kind is a StrEnum: (slug, Kind.HARD) finds (slug, "hard")
    replies = Counter(r.issue for r in load_replies(settings.path(settings.bounces.events).with_name(REPLIES_FILE))
                      if r.kind == "human_reply")
    keys = sorted(set(key_customers))
    key_counts = {c.issue: c for c in ledger.counts_among(keys)}
    summaries = []
    for index, issue in enumerate(sent):
        c = counts[issue.slug]
        until = sent[index + 1].date if index + 1 < len(sent) else date.max
        scores = [r.score for r in ratings.get(issue.slug, [])]
        hard, soft = kinds[(issue.slug, Kind.HARD)], kinds[(issue.slug, Kind.SOFT)] + kinds[(issue.slug, Kind.UNKNOWN)]
        reached_keys = key_counts[issue.slug].accepted if issue.slug in key_counts else 0
        rehearsal_only = all(run["transport"] == "outbox" for run in ledger.runs(issue.slug))
        totals = Tally(
            "전체", sent=c.total, reached=max(c.accepted - hard - soft, 0), rehearsed=c.accepted if rehearsal_only else 0,
            hard=hard, soft=soft, delayed=kinds[(issue.slug, Kind.DELAYED)],
            complaints=kinds[(issue.slug, Kind.COMPLAINT)], unknown=c.unknown + c.deferred, not_sent=c.failed,
            unsubscribed=sum(1 for s in unsubscribes if s.since and issue.date <= s.since < until),
            rated=len(scores), rating_sum=sum(scores), replied=replies[issue.slug], key=len(keys),
            key_reached=reached_keys,
        )  # fmt: skip
        summaries.append(IssueSummary(issue.slug, issue.title, issue.date, totals))
    return summaries


@dataclass(frozen=True)
class Loaded:
    """Everything the digest and the report of one issue are computed from."""

    issue: Issue
    people: pl.DataFrame  # `people.PEOPLE_SCHEMA`
    facts: IssueFacts
    managers: dict[str, Manager]
    events: Events

    @property
    def key_customers(self) -> list[str]:
        return self.people.filter("key_customer")["key"].to_list()


def load_issue_sources(settings: Settings, issue_arg: str, today: date) -> Loaded:
    """Read every source of one issue once (the commands' edge)."""
    issue = find_issue(settings, issue_arg)
    with ThreadPoolExecutor(max_workers=1) as pool:  # polars and SQLite let go of the GIL: list and ledger at once
        listed = pool.submit(read_people_and_managers, settings, today)
        try:
            events = load_events(settings)
            with Ledger.open(settings.path(settings.send.ledger)) as ledger:
                facts = load_facts(settings, issue, ledger, events=events)
        except WebzineError:
            listed.result()  # a bad list is named first, as when the list was read before the ledger
            raise
        people, named = listed.result()
    facts = replace(facts, suppressed={**_not_mailed(people), **facts.suppressed})
    return Loaded(issue, people, facts, {**load_managers(settings.path(settings.lists.managers)), **named}, events)
