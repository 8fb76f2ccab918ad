"""Outcomes → one `Digest` per account manager: one short screen, the customers to call first.

A digest counts all of the manager's customers, lists those to call ("전화 드려야 할 고객") and
then those worth a look, each list cut at a screenful (the rest are in the CSV, which has every
customer). Customers without a manager get a digest of their own, kept as a file for the editor.
Rendering (HTML and text from templates/digest.*.j2, CSV) is pure; writing is the caller's.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from webzine.render.korean import register_filters
from webzine.render.layout import BUILTIN_TEMPLATES
from webzine.managers.facts import IssueFacts
from webzine.managers.outcomes import REACHED, STATUS_LABELS, CustomerOutcome, Status, call_order, how_label, korean_date
from webzine.models import Manager

SHOWN_CALLS = 30  # a screenful; the CSV has everyone
SHOWN_NOTES = 15
NO_MANAGER = ""  # the digest of customers without an account manager


@dataclass(frozen=True)
class Digest:
    slug: str
    title: str
    date_text: str
    manager_id: str
    manager: Manager | None  # None: no manager, or one missing from managers.csv
    customers: Sequence[CustomerOutcome]  # everyone, key customers first
    calls: Sequence[CustomerOutcome]
    notes: Sequence[CustomerOutcome]
    counts: Mapping[str, int] = field(default_factory=dict)
    mean_rating: float = 0.0

    @property
    def name(self) -> str:
        if self.manager is not None:
            return self.manager.name
        return f"담당자 {self.manager_id}" if self.manager_id else "담당자 없음"

    @property
    def file_stem(self) -> str:
        """The manager's id as a file name (ids come from managers.csv: keep them harmless)."""
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.manager_id)
        return safe or "no-manager"

    @property
    def subject(self) -> str:
        calls = len(self.calls)
        call_text = f"전화 드려야 할 고객 {calls}명" if calls else "전화 드릴 고객 없음"
        return f"[{self.title}] {self.name} 님 담당 고객 현황 — {call_text}"


def build_digests(outcomes: Iterable[CustomerOutcome], managers: Mapping[str, Manager],
                  facts: IssueFacts) -> list[Digest]:
    """Group by manager (managers in managers.csv order, then unknown ids, then no manager)."""
    groups: dict[str, list[CustomerOutcome]] = {manager_id: [] for manager_id in managers}
    for item in outcomes:
        groups.setdefault(item.person.manager, []).append(item)
    date_text = f"{facts.date.year}년 {facts.date.month}월 {facts.date.day}일"
    digests = []
    for manager_id, items in groups.items():
        if not items and manager_id not in managers:
            continue
        items.sort(key=call_order)
        calls = [item for item in items if item.calls]
        notes = [item for item in items if item.notes]
        counts, mean = _counts(items)
        digests.append(Digest(facts.slug, facts.title, date_text, manager_id, managers.get(manager_id), items,
                              calls, notes, counts, mean))
    digests.sort(key=lambda d: (d.manager_id == NO_MANAGER, d.manager is None))
    return digests


def _counts(items: Sequence[CustomerOutcome]) -> tuple[dict[str, int], float]:
    statuses = Counter(item.status for item in items)
    scores = [item.rating.score for item in items if item.rating is not None]
    counts = {
        "customers": len(items),
        "key_customers": sum(item.person.key_customer for item in items),
        "key_reached": sum(item.person.key_customer and item.reached for item in items),
        "reached": sum(statuses[s] for s in REACHED),
        "bounced": statuses[Status.HARD] + statuses[Status.SOFT],
        "unknown": statuses[Status.UNKNOWN] + statuses[Status.DEFERRED],
        "not_sent": statuses[Status.NOT_SENT] + statuses[Status.FAILED],
        "unsubscribed": sum(item.unsubscribed is not None for item in items),
        "complaints": statuses[Status.COMPLAINT],
        "rated": len(scores),
        "replied": sum(item.reply is not None for item in items),
        "unanswered": sum(item.reply is not None and not item.reply.answered_at for item in items),
        "calls": sum(bool(item.calls) for item in items),
        "rehearsed": statuses[Status.REHEARSED],
    }
    return counts, (sum(scores) / len(scores) if scores else 0.0)


# --- rendering ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def page_environment(templates: Path | None) -> jinja2.Environment:
    """One environment per template folder: each page template is compiled once per process."""
    folders = [str(f) for f in (templates, BUILTIN_TEMPLATES) if f is not None and f.is_dir()]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    register_filters(environment)
    return environment


def render_digest(digest: Digest, *, publication: str, templates: Path | None = None) -> tuple[str, str]:
    """(HTML, plain text) of one digest; a project's templates/managers/digest.*.j2 override the built-in ones."""
    environment = page_environment(templates)
    context = {
        "digest": digest, "publication": publication, "calls": digest.calls[:SHOWN_CALLS],
        "notes": digest.notes[:SHOWN_NOTES], "more_calls": max(0, len(digest.calls) - SHOWN_CALLS),
        "more_notes": max(0, len(digest.notes) - SHOWN_NOTES), "labels": STATUS_LABELS, "c": digest.counts,
    }  # fmt: skip
    return (environment.get_template("managers/digest.html.j2").render(context),
            environment.get_template("managers/digest.txt.j2").render(context))


CSV_HEADER = ("담당자", "고객", "회사", "이메일", "핵심 고객", "세그먼트", "결과", "사유", "맞는 주소(추정)", "수신거부",
              "평가", "의견", "답장", "답변", "전화할 이유")  # fmt: skip


def digest_csv(digests: Iterable[Digest]) -> str:
    """Every customer of the given digests, one row each; UTF-8 with a BOM so Excel opens it."""
    return csv_file(csv_rows(digest) for digest in digests)


def csv_file(bodies: Iterable[str]) -> str:
    """A CSV file from `csv_rows` bodies (all.csv reuses every manager's)."""
    return "\ufeff" + _csv_lines([CSV_HEADER]) + "".join(bodies)


def csv_rows(digest: Digest) -> str:
    """The CSV rows of one digest, without the header."""
    manager = _cell(digest.name)
    return _csv_lines(_csv_row(manager, item) for item in digest.customers)


def _csv_lines(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _csv_row(manager: str, item: CustomerOutcome) -> tuple[str, ...]:
    """One customer's row; `manager` is already a safe cell."""
    person, reply, rating, unsub = item.person, item.reply, item.rating, item.unsubscribed
    if not (item.detail or unsub or rating or reply or item.calls or item.suggestion):
        # most customers: only who they are and that it arrived
        name, company, email, segment = person.name, person.company, person.email, person.segment
        if (name.startswith(_FORMULA_STARTS) or company.startswith(_FORMULA_STARTS)
                or email.startswith(_FORMULA_STARTS) or segment.startswith(_FORMULA_STARTS)):
            name, company, email, segment = _cell(name), _cell(company), _cell(email), _cell(segment)
        return (manager, name, company, email, "예" if person.key_customer else "", segment,
                STATUS_LABELS[item.status], "", "", "", "", "", "", "", "")
    return (manager, *(_cell(value) for value in (
        person.name, person.company, person.email, "예" if person.key_customer else "", person.segment,
        item.label, item.detail, item.suggestion,
        f"{korean_date(unsub.at)} {how_label(unsub.how)}" if unsub else "",
        str(rating.score) if rating else "", rating.comment if rating else "",
        f"{korean_date(reply.at)} {reply.subject}" if reply else "",
        korean_date(reply.answered_at) if reply and reply.answered_at else "",
        " / ".join(item.calls),
    )))  # fmt: skip


_FORMULA_STARTS = ("=", "+", "-", "@")


def _cell(text: str) -> str:
    """Text from outside as a CSV cell: a leading =, +, - or @ would start a formula in Excel."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
