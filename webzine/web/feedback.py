"""Reader feedback: "이번 호는 어떠셨나요?" rated 1–5 from the issue, plus an optional comment.

Each issue carries five links, `/f/<issue>/<score>/<token>`, one per score, and the question page
`/f/<issue>/0/<token>` (no score chosen yet), where the token is an HMAC over the issue, the
address and the score (`webzine.tokens.feedback_token`: domain-separated from unsubscribe tokens,
with the same secret); the default layout puts them in both parts of every message. Like unsubscribe tokens they carry no address; the server resolves them against
the known addresses, one index per issue, built on the first click and rebuilt when the lists
change.

A click opens a page with that score already chosen and a comment box; the rating is recorded
when the reader sends it (POST). Recording on the GET would let link-checking mail scanners,
which open every link in a message, cast all five votes.

`feedback_report` turns the stored ratings into the per-issue report, per segment (list tag) and
per account manager, joining the ratings with today's subscriber and manager lists.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from wcwidth import wcswidth

from webzine.config import Settings
from webzine.errors import WebzineError
from webzine.i18n import _
from webzine.render.issue import load_issue
from webzine.recipients.list_managers import table_columns
from webzine.recipients.tables import read_table
from webzine.recipients.clean import load_managers
from webzine.web.token_owners import AddressBook
from webzine.web.forms import parse_form
from webzine.web.pages import Pages
from webzine.unsubscribes.store import Rating, Store, open_existing
from webzine.terminal import printable
from webzine.tokens import FEEDBACK_LABELS, FEEDBACK_PAGE, FEEDBACK_SCORES, FeedbackLinks, feedback_token, serve_base_url

SCORES = FEEDBACK_SCORES
LINKED = (FEEDBACK_PAGE, *SCORES)  # every link a reader can follow
SCORE_LABELS = FEEDBACK_LABELS
ISSUE_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")
MAX_COMMENT = 2000
CACHED_ISSUES = 3  # each index holds six tokens per address
TAG_SPLIT = re.compile(r"\s*[;,|]\s*")  # as the list readers split the tags column


def public_base_url(settings: Settings) -> str:
    """Where `webzine serve` is reached from outside: [unsubscribe] base_url without its `/u`."""
    return serve_base_url(settings.unsubscribe.base_url)


def feedback_links(settings: Settings, secret_value: str, issue: str, address: str) -> dict[int, str]:
    """score → link, for the issue template's rating row (one set per recipient)."""
    if not ISSUE_SLUG.fullmatch(issue):
        raise WebzineError(_("issue id {issue} cannot be used in a feedback link; use letters, digits, '.', '_', '-'.").format(
            issue=repr(issue)))
    links = FeedbackLinks(public_base_url(settings), secret_value, issue, address)
    return {score: links[score] for score in SCORES}


class FeedbackTokens:
    """token → address for one issue at a time, derived from the address book."""

    def __init__(self, secret_value: str, book: AddressBook) -> None:
        self._secret = secret_value
        self._book = book
        self._indexes: OrderedDict[str, tuple[int, dict[str, tuple[str, int]]]] = OrderedDict()
        self._lock = asyncio.Lock()

    def _build(self, issue: str) -> dict[str, tuple[str, int]]:
        return {
            feedback_token(self._secret, issue, address, score): (address, score)
            for address in self._book.addresses
            for score in LINKED
        }

    async def resolve(self, issue: str, score: int, token: str) -> str | None:
        """The address this link was made for, or None (the same 404 for every bad link)."""
        if not (ISSUE_SLUG.fullmatch(issue) and score in LINKED and TOKEN_SHAPE.fullmatch(token)):
            return None
        self._book.refresh()
        async with self._lock:
            cached = self._indexes.get(issue)
            if cached is None or cached[0] != self._book.generation:
                # thousands of HMACs: off the event loop, so other requests keep flowing
                cached = (self._book.generation, await asyncio.to_thread(self._build, issue))
                self._indexes[issue] = cached
                while len(self._indexes) > CACHED_ISSUES:
                    self._indexes.popitem(last=False)
            self._indexes.move_to_end(issue)
        found = cached[1].get(token)
        if found is None or found[1] != score:
            return None
        if not hmac.compare_digest(feedback_token(self._secret, issue, found[0], score), token):
            return None
        return found[0]


def issue_titles(settings: Settings) -> dict[str, str]:
    """slug → title of the issues in the project, for the feedback page's heading. The server
    may run without the issues folder; then the slug is shown."""
    titles: dict[str, str] = {}
    for path in sorted(settings.path(settings.build.issues).glob("*.md")):
        try:
            issue = load_issue(path)
        except WebzineError:
            continue
        titles[issue.slug] = issue.title
    return titles


@dataclass
class FeedbackEndpoints:
    tokens: FeedbackTokens
    store: Store
    pages: Pages
    titles: dict[str, str] = field(default_factory=dict)

    async def show(self, request: Request) -> Response:
        issue, score, token = _link(request)
        if await self.tokens.resolve(issue, score, token) is None:
            return self.pages.not_found()
        return self.pages.render(
            "feedback.html",
            issue=issue,
            score=score,
            token=token,
            issue_title=self.titles.get(issue, issue),
            choices=list(SCORE_LABELS.items()),
            max_comment=MAX_COMMENT,
        )

    async def submit(self, request: Request) -> Response:
        issue, score, token = _link(request)
        address = await self.tokens.resolve(issue, score, token)
        if address is None:
            return self.pages.not_found()
        fields = parse_form(request.headers.get("content-type", ""), await request.body())
        chosen = _score(fields.get("score", str(score)) if fields is not None else None)
        if fields is None or chosen is None:
            return self.pages.error(400, "요청을 처리할 수 없습니다", "1점부터 5점 사이에서 골라 주세요.")
        comment = " ".join(fields.get("comment", "").split())[:MAX_COMMENT]
        self.store.record_rating(issue, address, chosen, comment)
        return self.pages.render("feedback_thanks.html")


def _link(request: Request) -> tuple[str, int, str]:
    params = request.path_params
    return params["issue"], params["score"], params["token"]


def _score(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and int(value) in SCORES else None


# --- the report ---------------------------------------------------------------------------------


@dataclass
class Tally:
    """Ratings of one group: how many, the distribution and the mean."""

    counts: Counter[int] = field(default_factory=Counter)

    def add(self, score: int) -> None:
        self.counts[score] += 1

    @property
    def responses(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float:
        return sum(s * n for s, n in self.counts.items()) / self.responses if self.responses else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "responses": self.responses,
            "mean": round(self.mean, 2),
            "distribution": {str(s): self.counts.get(s, 0) for s in SCORES},
        }


@dataclass
class FeedbackReport:
    issue: str
    overall: Tally
    segments: dict[str, Tally]
    managers: dict[str, Tally]
    comments: list[tuple[int, str]]  # (score, comment), oldest first; no addresses

    def as_dict(self) -> dict[str, object]:
        return {
            "issue": self.issue,
            "overall": self.overall.as_dict(),
            "segments": {name: tally.as_dict() for name, tally in self.segments.items()},
            "managers": {name: tally.as_dict() for name, tally in self.managers.items()},
            "comments": [{"score": score, "comment": text} for score, text in self.comments],
        }

    def lines(self) -> list[str]:
        """The report as plain text rows for the terminal (aligned by display width: Hangul
        takes two columns). Comments, tags and names came from outside: `printable` keeps their
        escape sequences away from the editor's terminal."""
        out = [f"이번 호는 어떠셨나요? — {self.issue}", ""]
        if not self.overall.responses:
            return out + ["아직 응답이 없습니다."]
        out.append(_pad("", 24) + _pad("응답", 6, right=True) + _pad("평균", 7, right=True) + "   "
                   + " ".join(_pad(f"{s}점", 4, right=True) for s in SCORES))
        out.append(_row("전체", self.overall))
        for title, groups in (("세그먼트(태그)", self.segments), ("담당자", self.managers)):
            if groups:
                out += ["", title]
                out += [_row(f"  {printable(name, single_line=True)}", tally) for name, tally in groups.items()]
        if self.comments:
            out += ["", f"의견 {len(self.comments)}건"]
            out += [f"  [{score}점] {printable(text, single_line=True)}" for score, text in self.comments]
        return out


def _pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * max(0, width - max(wcswidth(text), 0))
    return gap + text if right else text + gap


def _row(name: str, tally: Tally) -> str:
    cells = " ".join(_pad(str(tally.counts.get(s, 0)), 4, right=True) for s in SCORES)
    return f"{_pad(name, 24)}{tally.responses:>6}{tally.mean:>7.2f}   {cells}"


@dataclass(frozen=True)
class Segment:
    tags: tuple[str, ...]
    manager: str


def read_segments(path: Path, columns: Mapping[str, str] | None = None) -> dict[str, Segment]:
    """address → (tags, manager id) from a subscriber list (its columns found through `columns`,
    `[lists.columns]`); a missing file means no segments."""
    if not path.exists():
        return {}
    table = read_table(path, wanted=("email", "tags", "manager"), overrides=table_columns(columns or {}))
    email_at = table.require("email")
    tags_at, manager_at = table.columns.get("tags"), table.columns.get("manager")
    segments: dict[str, Segment] = {}
    for chunk in table.chunks():
        for cells in chunk:
            address = _cell(cells, email_at).lower()
            if "@" in address:
                tags = tuple(t for t in TAG_SPLIT.split(_cell(cells, tags_at)) if t)
                segments[address] = Segment(tags, _cell(cells, manager_at))
    return segments


def _cell(cells: list[str], at: int | None) -> str:
    return cells[at].strip() if at is not None and at < len(cells) else ""


def build_report(issue: str, ratings: Iterable[Rating], segments: dict[str, Segment], managers: dict[str, str]) -> FeedbackReport:
    """Pure: ratings × who the readers are → the report. Unknown readers (no longer on the list)
    count overall and under "(목록에 없음)"."""
    report = FeedbackReport(issue, Tally(), {}, {}, [])
    for rating in ratings:
        report.overall.add(rating.score)
        segment = segments.get(rating.address)
        tags = segment.tags if segment else ("(목록에 없음)",)
        for tag in tags or ("(태그 없음)",):
            report.segments.setdefault(tag, Tally()).add(rating.score)
        manager_id = segment.manager if segment else ""
        manager = managers.get(manager_id, manager_id) or "(담당자 없음)"
        report.managers.setdefault(manager, Tally()).add(rating.score)
        if rating.comment:
            report.comments.append((rating.score, rating.comment))
    report.segments = dict(sorted(report.segments.items()))
    report.managers = dict(sorted(report.managers.items()))
    return report


def feedback_report(settings: Settings, issue: str) -> FeedbackReport:
    """`webzine feedback report ISSUE`: read the store and the lists, build the report."""
    ratings: list[Rating] = []
    store = open_existing(settings)
    if store is not None:
        try:
            ratings = store.ratings(issue)
        finally:
            store.close()
    segments = read_segments(settings.path(settings.lists.subscribers), settings.lists.columns)
    managers = {m.id: m.name for m in load_managers(settings.path(settings.lists.managers)).values()}
    return build_report(issue, ratings, segments, managers)

