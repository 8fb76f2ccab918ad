"""The issue report: list size, delivered, bounced (hard/soft/delay), complaints, unsubscribes,
ratings, replies and key-customer coverage — for the issue, by mailbox provider, by account
manager and by customer segment, and month by month across issues.

Pure: outcomes and per-issue summaries in, an `IssueReport` and its HTML page out. Everything
comes from data the sender already has; nothing here counts opens or clicks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path

import polars as pl
from markupsafe import Markup

from webzine.managers.charts import Bar, Column, Segment, columns, stacked_bars
from webzine.managers.digest import page_environment
from webzine.managers.outcomes import REACHED, CustomerOutcome, Outcomes, Status
from webzine.models import Manager

COMPANY_DOMAINS = "회사 도메인"
PROVIDER_GROUPS = {
    "naver.com": "네이버", "daum.net": "다음·카카오", "hanmail.net": "다음·카카오", "kakao.com": "다음·카카오",
    "gmail.com": "Gmail", "googlemail.com": "Gmail", "nate.com": "네이트", "empas.com": "네이트",
    "hotmail.com": "해외 웹메일", "outlook.com": "해외 웹메일", "live.com": "해외 웹메일", "yahoo.com": "해외 웹메일",
    "icloud.com": "해외 웹메일", "me.com": "해외 웹메일", "korea.com": "해외 웹메일",
}  # fmt: skip
PROVIDER_ORDER = ("네이버", "다음·카카오", "Gmail", "네이트", "해외 웹메일", COMPANY_DOMAINS)


def provider_of(email: str) -> str:
    """The mailbox provider group of an address; any other domain is a company's own."""
    return PROVIDER_GROUPS.get(email.rpartition("@")[2].lower(), COMPANY_DOMAINS)


@dataclass
class Tally:
    """The numbers of one group of customers for one issue."""

    label: str
    sent: int = 0  # handed to a transport (ledger rows), including refusals
    reached: int = 0  # delivered, or written to the outbox in a rehearsal, and not bounced
    rehearsed: int = 0
    hard: int = 0
    soft: int = 0
    delayed: int = 0
    complaints: int = 0
    unknown: int = 0
    not_sent: int = 0  # key customers and others with no ledger row, or refused before sending
    unsubscribed: int = 0
    rated: int = 0
    rating_sum: int = 0
    replied: int = 0
    key: int = 0
    key_reached: int = 0

    @property
    def mean_rating(self) -> float:
        return self.rating_sum / self.rated if self.rated else 0.0

    @property
    def bounced(self) -> int:
        return self.hard + self.soft

    def share(self, part: int) -> float:
        return part / self.sent if self.sent else 0.0

    @property
    def key_coverage(self) -> float:
        return self.key_reached / self.key if self.key else 0.0

    def add(self, other: "Tally") -> None:
        for name in _NUMBERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_NUMBERS = tuple(f.name for f in fields(Tally) if f.name != "label")


@dataclass(frozen=True)
class IssueSummary:
    """One issue's headline numbers: a row of the history."""

    slug: str
    title: str
    date: date
    totals: Tally

    @property
    def month(self) -> str:
        return f"{self.date.year % 100:02d}.{self.date.month:02d}"

    def headline(self) -> dict[str, object]:
        t = self.totals
        return {
            "issue": self.slug, "title": self.title, "date": self.date.isoformat(), "list_size": t.sent + t.not_sent,
            "sent": t.sent, "reached": t.reached, "rehearsed": t.rehearsed, "hard_bounces": t.hard,
            "soft_bounces": t.soft, "delayed": t.delayed, "complaints": t.complaints, "unknown": t.unknown,
            "unsubscribed": t.unsubscribed, "ratings": t.rated, "mean_rating": round(t.mean_rating, 2),
            "replies": t.replied, "key_customers": t.key, "key_customers_reached": t.key_reached,
        }  # fmt: skip


@dataclass(frozen=True)
class IssueReport:
    summary: IssueSummary
    providers: Sequence[Tally]
    managers: Sequence[Tally]
    segments: Sequence[Tally]
    history: Sequence[IssueSummary] = field(default_factory=tuple)  # oldest first, this issue last


def tally_outcomes(outcomes: Iterable[CustomerOutcome]) -> Counter[tuple]:
    """Counts per (status, provider, manager, segment, key customer, unsubscribed, score,
    replied), in the order each first occurs: a million customers fold into a few hundred keys,
    column-wise (`outcomes.Outcomes`)."""
    provider = (pl.col("email").str.split("@").list.last().str.to_lowercase()
                .replace_strict(PROVIDER_GROUPS, default=COMPANY_DOMAINS))
    counts = Outcomes.of(outcomes).frame.group_by(
        "status", provider.alias("provider"), "manager", "segment", "key_customer", "unsubscribed", "score",
        "replied", maintain_order=True).len()
    return Counter({(Status(status), *rest): n for status, *rest, n in counts.iter_rows()})


def _tally(label: str, status: Status, key: bool, unsubscribed: bool, score: int, replied: bool, n: int) -> Tally:
    sent = status is not Status.NOT_SENT
    reached = status in REACHED
    return Tally(
        label, sent=n if sent else 0, reached=n if reached else 0, rehearsed=n if status is Status.REHEARSED else 0,
        hard=n if status is Status.HARD else 0, soft=n if status is Status.SOFT else 0,
        delayed=n if status is Status.DELAYED else 0, complaints=n if status is Status.COMPLAINT else 0,
        unknown=n if status in (Status.UNKNOWN, Status.DEFERRED) else 0,
        not_sent=n if status in (Status.NOT_SENT, Status.FAILED) else 0, unsubscribed=n if unsubscribed else 0,
        rated=n if score else 0, rating_sum=n * score, replied=n if replied else 0, key=n if key else 0,
        key_reached=n if key and reached else 0,
    )  # fmt: skip


def build_report(counts: Counter[tuple], managers: Mapping[str, Manager], *, slug: str, title: str, day: date,
                 history: Sequence[IssueSummary] = ()) -> IssueReport:
    """Fold the counts by provider, manager and segment; the history gets this issue last."""
    overall = Tally("전체")
    providers: dict[str, Tally] = {}
    by_manager: dict[str, Tally] = {manager_id: Tally(m.name) for manager_id, m in managers.items()}
    segments: dict[str, Tally] = {}
    for (status, provider, manager, segment, key, unsubscribed, score, replied), n in counts.items():
        part = _tally("", status, key, unsubscribed, score, replied, n)
        overall.add(part)
        providers.setdefault(provider, Tally(provider)).add(part)
        label = managers[manager].name if manager in managers else (f"담당자 {manager}" if manager else "담당자 없음")
        by_manager.setdefault(manager, Tally(label)).add(part)
        if segment:
            segments.setdefault(segment, Tally(segment)).add(part)
    summary = IssueSummary(slug, title, day, overall)
    earlier = [item for item in history if item.slug != slug and item.date <= day]
    ordered = sorted(providers.values(), key=lambda t: PROVIDER_ORDER.index(t.label))
    return IssueReport(summary, ordered, [t for t in by_manager.values() if t.sent or t.not_sent or t.key],
                       sorted(segments.values(), key=lambda t: -t.sent), (*earlier[-11:], summary))


# --- the page ---------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _outcome_bars(rows: Sequence[Tally]) -> list[Bar]:
    return [Bar(row.label, (Segment(row.reached, "s-reached", "받음"), Segment(row.soft + row.delayed, "s-soft", "일시 반송·지연"),
                            Segment(row.hard + row.complaints, "s-bounced", "반송·스팸 신고"),
                            Segment(row.unknown + row.not_sent, "s-other", "확인 중·보내지 않음")),
                f"반송 {_percent(row.bounced, row.sent)}") for row in rows]  # fmt: skip


def report_charts(report: IssueReport) -> dict[str, Markup]:
    history = report.history
    months = [Column(item.month, (Segment(item.totals.reached, "s-reached", "받음"),
                                  Segment(item.totals.bounced, "s-bounced", "반송")),
                     item.totals.share(item.totals.bounced) * 10, f"반송률 {_percent(item.totals.bounced, item.totals.sent)}")
              for item in history]  # fmt: skip
    answers = [Column(item.month, (Segment(item.totals.unsubscribed, "s-bounced", "수신거부"),
                                   Segment(item.totals.rated, "s-reached", "평가"),
                                   Segment(item.totals.replied, "s-soft", "답장")))
               for item in history]  # fmt: skip
    charts = {
        "providers": stacked_bars(_outcome_bars(report.providers), title="메일 서비스별 결과"),
        "managers": stacked_bars(_outcome_bars(report.managers), title="담당자별 결과"),
        "months": columns(months, title="월별 발송과 반송 (선: 반송률, 위 끝이 10%)", line_title="반송률"),
        "answers": columns(answers, title="월별 수신거부·평가·답장"),
    }
    if report.segments:
        charts["segments"] = stacked_bars(_outcome_bars(report.segments), title="고객군별 결과")
    return {name: Markup(svg) for name, svg in charts.items()}  # noqa: S704 - built from escaped parts


def render_report(report: IssueReport, *, publication: str, templates: Path | None = None,
                  history_only: bool = False) -> str:
    environment = page_environment(templates)
    environment.filters["percent"] = _percent
    return environment.get_template("managers/report.html.j2").render(
        report=report, t=report.summary.totals, publication=publication, charts=report_charts(report),
        history_only=history_only,
    )
