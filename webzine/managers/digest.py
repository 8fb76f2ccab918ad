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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import polars as pl

from webzine.render.korean import register_filters
from webzine.render.layout import BUILTIN_TEMPLATES
from webzine.managers.facts import IssueFacts
from webzine.managers.outcomes import REACHED, STATUS_LABELS, CustomerOutcome, Outcomes, Status
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
    """Group by manager (managers in managers.csv order, then unknown ids, then no manager); in
    each, key customers first, then the most pressing reason to call, then by name (and address:
    the same order whatever order the ledger returns its rows in). Counted column-wise."""
    table = Outcomes.of(outcomes)
    frame = table.frame
    order = {manager_id: rank for rank, manager_id in enumerate(
        dict.fromkeys([*managers, *frame["manager"].unique(maintain_order=True).to_list()]))}
    rank = pl.col("manager").replace_strict(order, return_dtype=pl.Int64)  # then key customers, then urgency (0–99)
    ordered = frame.with_columns(
        first=(rank * 2 + (~pl.col("key_customer")).cast(pl.Int64)) * 100 + pl.col("urgency"),
        by_name=pl.when(pl.col("name") != "").then("name").otherwise("email"),
    ).sort("first", "by_name", "email").drop("first", "by_name")  # one integer for three keys: a third faster
    counts = {row["manager"]: row for row in ordered.group_by("manager").agg(_COUNTS).iter_rows(named=True)}
    groups = ordered.partition_by("manager", as_dict=True, maintain_order=True)
    date_text = f"{facts.date.year}년 {facts.date.month}월 {facts.date.day}일"
    digests = []
    for manager_id in order:
        if manager_id not in counts and manager_id not in managers:
            continue
        items = table.where(groups.get((manager_id,), frame.clear()))
        picked = items.frame.filter(pl.col("calls") | pl.col("notes")).select("item", "calls").iter_rows()
        calls, notes = [], []
        for item, call in picked:
            (calls if call else notes).append(table.items[item])
        found = counts.get(manager_id)
        tally = {name: found[name] if found else 0 for name in _COUNT_NAMES}
        mean = found["rating_sum"] / found["rated"] if found and found["rated"] else 0.0
        digests.append(Digest(facts.slug, facts.title, date_text, manager_id, managers.get(manager_id), items,
                              calls, notes, tally, mean))
    digests.sort(key=lambda d: (d.manager_id == NO_MANAGER, d.manager is None))
    return digests


def _status_in(*statuses: Status) -> pl.Expr:
    return pl.col("status").is_in([s.value for s in statuses])


_COUNTS = [
    pl.len().alias("customers"), pl.col("key_customer").sum().alias("key_customers"),
    (pl.col("key_customer") & _status_in(*REACHED)).sum().alias("key_reached"),
    _status_in(*REACHED).sum().alias("reached"), _status_in(Status.HARD, Status.SOFT).sum().alias("bounced"),
    _status_in(Status.UNKNOWN, Status.DEFERRED).sum().alias("unknown"),
    _status_in(Status.NOT_SENT, Status.FAILED).sum().alias("not_sent"),
    pl.col("unsubscribed").sum().alias("unsubscribed"), _status_in(Status.COMPLAINT).sum().alias("complaints"),
    pl.col("rated").sum().alias("rated"), pl.col("replied").sum().alias("replied"),
    pl.col("unanswered").sum().alias("unanswered"), pl.col("calls").sum().alias("calls"),
    _status_in(Status.REHEARSED).sum().alias("rehearsed"), pl.col("score").sum().alias("rating_sum"),
]  # fmt: skip
_COUNT_NAMES = ("customers", "key_customers", "key_reached", "reached", "bounced", "unknown", "not_sent",
                "unsubscribed", "complaints", "rated", "replied", "unanswered", "calls", "rehearsed")


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
    return Outcomes.of(digest.customers).csv_body(digest.name)


def _csv_lines(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()
