"""The preview's model: the issue as each reader will get it, rebuilt whenever a source changes.

`Workspace` watches what an issue depends on (the issue file, webzine.toml, the templates, the
subscriber, manager and suppression lists) by polling modification times: a few dozen `stat`
calls four times a second, no extra dependency, and the same behaviour on every OS, in containers
and on network folders where inotify is silent. A change rebuilds a `Snapshot` — the rendered issue,
the cleaned recipients, the managers, and the problems to show. Snapshots are immutable and swapped
under a lock, so HTTP threads read them without waiting for a build.

A failed build keeps the last good rendering (marked stale) next to the error, so the editor never
loses the page they were looking at; the next save that builds clears the error.

`personalise` fills the merge templates for one recipient exactly as a send does
(`recipient_context` with their fields and their account manager); only the unsubscribe link is a
placeholder, never a real token.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from datetime import date
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from webzine.config import Build, Lists, Settings, load_settings
from webzine.errors import ListError, WebzineError
from webzine.i18n import _
from webzine.render.issue import load_issue
from webzine.render.slots import PREVIEW_SECRET, Personaliser, reader_context
from webzine.message.factory import unsubscribe_base
from webzine.models import Manager, Recipient
from webzine.customers import segments_for, with_segments
from webzine.send.inputs import build_issue, suppression_source
from webzine.recipients.clean import load_clean_list, load_managers
from webzine.render.compose import BUILTIN_TEMPLATES, SAMPLE_RECIPIENT, RenderedIssue, sender_name

SAMPLE = Recipient(**{key: SAMPLE_RECIPIENT[key] for key in ("email", "name", "adjective", "company")})  # type: ignore[arg-type]
SEARCH_LIMIT = 50
_LOCATION = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):")


@dataclass(frozen=True)
class Problem:
    """Something to show in the page and on the terminal. `line` is set when the message points
    into the issue file, so the page can link to that line."""

    level: Literal["error", "warning"]
    message: str
    hint: str = ""
    line: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """One build's result, as every HTTP request sees it."""

    version: int = 0
    built_at: float = 0.0
    seconds: float = 0.0
    settings: Settings | None = None
    rendered: RenderedIssue | None = None
    personaliser: Personaliser | None = None  # for `rendered`: subject, preheader, HTML, text
    error: Problem | None = None
    notices: tuple[Problem, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    managers: Mapping[str, Manager] = field(default_factory=dict)
    excluded: int = 0  # list rows cleaning left out (rejects, duplicates)
    issue_lines: tuple[str, ...] = ()
    default_id: str = ""
    stale: bool = False  # `rendered` is from an earlier build; `error` says why the latest failed
    by_id: Mapping[str, Recipient] = field(default_factory=dict)
    search_index: tuple[str, ...] = ()  # per recipient: name, email, company; casefolded

    def recipient(self, recipient_id: str | None) -> Recipient | None:
        """The recipient with this id, else the default one (the first build's sample)."""
        return self.by_id.get(recipient_id or "") or self.by_id.get(self.default_id)


@dataclass(frozen=True)
class Personal:
    """One recipient's message, as their mail client would show it."""

    recipient: Recipient
    manager: Manager | None
    sender_name: str
    sender_email: str
    reply_to: str
    subject: str
    preheader: str
    html: str
    text: str


def recipient_id(recipient: Recipient) -> str:
    """An opaque, stable id for URLs: the address never appears in a URL, a history entry or a
    Referer header, and the id survives edits to the list that move rows around."""
    return hashlib.sha256(recipient.key.encode("utf-8")).hexdigest()[:12]


def search(snapshot: Snapshot, query: str, limit: int = SEARCH_LIMIT) -> tuple[int, list[Recipient]]:
    """(how many match, the first `limit`): by name, email or company, ignoring case and spaces."""
    index = snapshot.search_index
    hits: list[int] | range = range(len(index))
    for word in query.casefold().split():  # narrow word by word: each pass is one C-speed scan
        hits = [i for i in hits if word in index[i]]
    return len(hits), [snapshot.recipients[i] for i in hits[:limit]]


def search_text(recipient: Recipient) -> str:
    """What a search looks in: name, email and company, also with spaces removed ("세무 회계"
    finds "세무회계" and the other way round)."""
    text = f"{recipient.name} {recipient.email} {recipient.company}".casefold()
    return f"{text}\n{text.replace(' ', '')}"


def preview_unsubscribe_url(settings: Settings) -> str:
    """A placeholder on the real unsubscribe host: clicking it in a preview unsubscribes nobody."""
    return f"{unsubscribe_base(settings)}/preview"


def personalise(snapshot: Snapshot, recipient: Recipient) -> Personal:
    """Fill subject, preheader, HTML and text for `recipient`. Raises `TemplateError` when a slot
    fails for this recipient's data (the page shows it instead of the message)."""
    rendered, settings, personaliser = snapshot.rendered, snapshot.settings, snapshot.personaliser
    if rendered is None or settings is None or personaliser is None:
        raise WebzineError(_("The issue has not been built yet; fix the error shown above and save."))
    manager = snapshot.managers.get(recipient.manager) if recipient.manager else None
    context = reader_context(settings, rendered.slug, recipient.merge_fields(), recipient.email, manager,
                             unsubscribe_url=preview_unsubscribe_url(settings), secret=PREVIEW_SECRET)
    texts = personaliser.fill(context)
    publication = settings.publication
    reply_to = manager.email if manager is not None and manager.email else parseaddr(publication.reply_to)[1]
    return Personal(
        recipient=recipient, manager=manager, sender_name=sender_name(publication),
        sender_email=parseaddr(publication.sender)[1], reply_to=reply_to,
        subject=personaliser.render(rendered.subject, texts), preheader=personaliser.render(rendered.preheader, texts),
        html=personaliser.render(rendered.html, texts), text=personaliser.render(rendered.text, texts),
    )  # fmt: skip


def personaliser_for(rendered: RenderedIssue) -> Personaliser:
    """The personaliser `personalise` fills `rendered` with, built once per build."""
    return Personaliser((rendered.subject, rendered.preheader, rendered.html, rendered.text))


def watched_paths(config_path: Path, issue_path: Path, settings: Settings | None) -> list[Path]:
    """Every file whose change should rebuild: config, issue, templates (project's and built-in)
    and the lists the preview reads. With a broken config the default locations are watched."""
    root = config_path.resolve().parent
    if settings is not None:
        lists, build = settings.lists, settings.build
    else:
        lists, build = Lists.model_validate({}), Build.model_validate({})

    def resolve(relative: str) -> Path:
        return Path(relative) if Path(relative).is_absolute() else root / relative

    paths = [config_path, issue_path, *(resolve(p) for p in (lists.subscribers, lists.managers, lists.suppressions))]
    for folder in dict.fromkeys((resolve(build.templates), BUILTIN_TEMPLATES)):
        paths.append(folder)
        for directory, __, files in os.walk(folder):
            paths.extend(Path(directory) / name for name in sorted(files))
    return paths


def fingerprint(paths: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime in ns, size) per path; (path, -1, -1) when it does not exist, so creating a
    missing list or template is a change too."""
    marks = []
    for path in paths:
        try:
            stat = path.stat()
            marks.append((str(path), stat.st_mtime_ns, stat.st_size))
        except OSError:
            marks.append((str(path), -1, -1))
    return tuple(marks)


class Workspace:
    """The issue being previewed and its latest `Snapshot`; thread-safe."""

    def __init__(self, config_path: Path, issue_path: Path, *, today: date) -> None:
        self.config_path = Path(config_path)
        self.issue_path = Path(issue_path)
        self.today = today
        self._condition = threading.Condition()
        self._snapshot = Snapshot()
        self._marks: tuple[tuple[str, int, int], ...] = ()
        self._audiences = AudienceCache(today)

    @property
    def snapshot(self) -> Snapshot:
        with self._condition:
            return self._snapshot

    def changed(self) -> bool:
        """Whether any watched file differs from what the current snapshot was built from."""
        return fingerprint(watched_paths(self.config_path, self.issue_path, self.snapshot.settings)) != self._marks

    def refresh(self) -> Snapshot:
        """Rebuild now and publish the result. The fingerprint is taken before building, so a
        save that lands during the build triggers another one."""
        previous = self.snapshot
        self._marks = fingerprint(watched_paths(self.config_path, self.issue_path, previous.settings))
        snapshot = build_snapshot(self.config_path, self.issue_path, previous, self._audiences)
        with self._condition:
            self._snapshot = snapshot
            self._condition.notify_all()
        return snapshot

    def wait(self, version: int, timeout: float) -> Snapshot:
        """The snapshot once its version is past `version`, or the current one after `timeout`."""
        with self._condition:
            self._condition.wait_for(lambda: self._snapshot.version > version, timeout=timeout)
            return self._snapshot


def build_snapshot(config_path: Path, issue_path: Path, previous: Snapshot, audiences: AudienceCache) -> Snapshot:
    """Load settings, lists and issue and render; on failure keep `previous`'s rendering."""
    started = time.perf_counter()
    version = previous.version + 1
    lines = _issue_lines(issue_path)
    try:
        settings = load_settings(config_path)
        issue = load_issue(issue_path)
        audience = audiences.get(settings, issue.advertising)
        default = _default(settings, audience.recipients)
        # The build checks merge fields against the list's columns, which every cleaned row
        # carries: one row is enough, and a save costs the same for 60 rows or 100,000.
        rendered = build_issue(settings, issue_path, recipients=[default] if audience.listed else None)
    except WebzineError as exc:
        problem = Problem("error", exc.message, exc.hint or "", _issue_line(exc.message, issue_path))
        return _failed(previous, version, started, problem, lines)
    except Exception as exc:  # a bug in a stage must not take down the page the editor is using
        problem = Problem(
            "error", _("unexpected {error} while building: {reason}.").format(error=type(exc).__name__, reason=exc),
            _("run webzine --debug build {path} for the traceback, and report it.").format(path=issue_path),
        )  # fmt: skip
        return _failed(previous, version, started, problem, lines)
    return Snapshot(
        version=version, built_at=time.time(), seconds=time.perf_counter() - started, settings=settings,
        rendered=rendered, personaliser=personaliser_for(rendered), notices=audience.notices, recipients=audience.recipients, managers=audience.managers,
        excluded=audience.excluded, issue_lines=lines, default_id=recipient_id(default), by_id=audience.by_id,
        search_index=audience.search_index,
    )  # fmt: skip


def _failed(previous: Snapshot, version: int, started: float, problem: Problem, lines: tuple[str, ...]) -> Snapshot:
    return replace(
        previous, version=version, built_at=time.time(), seconds=time.perf_counter() - started,
        error=problem, stale=previous.rendered is not None, issue_lines=lines,
    )  # fmt: skip


def _issue_lines(issue_path: Path) -> tuple[str, ...]:
    try:
        return tuple(issue_path.read_text(encoding="utf-8-sig", errors="replace").splitlines())
    except OSError:
        return ()


def _issue_line(message: str, issue_path: Path) -> int | None:
    """The line of the issue file a message starts with (`issues/x.md:12: …`), if it does."""
    match = _LOCATION.match(message)
    if match is None:
        return None
    try:
        same = Path(match.group("path")).resolve() == issue_path.resolve()
    except OSError:
        return None
    return int(match.group("line")) if same else None


@dataclass(frozen=True)
class Audience:
    """Who the preview can show: the cleaned list a send would use, its managers, and the
    warnings about them. `listed` is False when the sample recipient stands in for the list."""

    recipients: tuple[Recipient, ...]
    managers: Mapping[str, Manager]
    excluded: int
    notices: tuple[Problem, ...]
    listed: bool
    by_id: Mapping[str, Recipient]
    search_index: tuple[str, ...]


class AudienceCache:
    """The last `Audience`, reused while the list files, the [lists] settings and the issue's
    advertising flag stay the same: editing the issue does not re-clean a 100,000-row list."""

    def __init__(self, today: date) -> None:
        self.today = today
        self._key: tuple[object, ...] | None = None
        self._audience: Audience | None = None

    def get(self, settings: Settings, advertising: bool) -> Audience:
        lists = settings.lists
        files = (settings.path(lists.subscribers), settings.path(lists.suppressions), settings.path(lists.managers))
        key = (fingerprint(files), advertising, lists, settings.root)
        if self._audience is None or key != self._key:
            self._audience, self._key = load_audience(settings, advertising, self.today), key
        return self._audience


def load_audience(settings: Settings, advertising: bool, today: date) -> Audience:
    recipients, excluded, notices, named = _recipients(settings, advertising, today)
    managers, manager_notices = _managers(settings, recipients, named)
    return Audience(
        recipients=recipients, managers=managers, excluded=excluded, notices=(*notices, *manager_notices),
        listed=recipients != (SAMPLE,), by_id={recipient_id(r): r for r in recipients},
        search_index=tuple(map(search_text, recipients)),
    )  # fmt: skip


def _recipients(settings: Settings, advertising: bool,
                today: date) -> tuple[tuple[Recipient, ...], int, list[Problem], dict[str, Manager]]:
    """The cleaned list a send would use and the managers it names itself; the sample recipient
    (with a warning) when it is missing, unreadable or empty, so the editor can keep writing while
    the list is being fixed."""
    try:
        clean = load_clean_list(settings, advertising=advertising, today=today,
                                suppressions=suppression_source(settings).load())
        recipients = with_segments(clean.recipients, segments_for(settings))
    except ListError as exc:
        message = _("{problem}; previewing as the sample recipient {name} until the list is fixed.").format(
            problem=exc.message.rstrip("."), name=SAMPLE.name)
        return (SAMPLE,), 0, [Problem("warning", message, exc.hint or "")], {}
    excluded = len(clean.rejects) + len(clean.duplicates)
    if not recipients:
        message = _("{source}: no recipient is left after cleaning; previewing as the sample recipient {name} until "
                    "the list is fixed.").format(source=clean.source, name=SAMPLE.name)
        return (SAMPLE,), excluded, [Problem("warning", message, _("run webzine lists clean to see why."))], {}
    return tuple(recipients), excluded, [], clean.managers


def _managers(settings: Settings, recipients: tuple[Recipient, ...],
              named: dict[str, Manager]) -> tuple[dict[str, Manager], list[Problem]]:
    """managers.csv by id with the managers the list `named` itself, and a warning for manager ids
    recipients name that neither has (their messages would go out without a signature and with
    the publication's Reply-To)."""
    path = settings.path(settings.lists.managers)
    try:
        managers = {**load_managers(path), **named}
    except ListError as exc:
        message = _("{problem}; messages are shown without a manager.").format(problem=exc.message.rstrip("."))
        return {}, [Problem("warning", message, exc.hint or "")]
    unknown: dict[str, int] = {}
    for recipient in recipients:
        if recipient.manager and recipient.manager not in managers:
            unknown[recipient.manager] = unknown.get(recipient.manager, 0) + 1
    notices = [
        Problem("warning", _("{count} recipient(s) name manager '{manager}', which is not in {path}; "
                             "their messages have no manager signature.").format(count=count, manager=manager_id, path=path),
                _("add the manager or correct the id."))
        for manager_id, count in unknown.items()
    ]  # fmt: skip
    return managers, notices


def _default(settings: Settings, recipients: tuple[Recipient, ...]) -> Recipient:
    """[build] sample_recipient when it is on the list, else the first recipient."""
    wanted = settings.build.sample_recipient.strip().lower()
    return next((r for r in recipients if wanted and r.key == wanted), recipients[0])
