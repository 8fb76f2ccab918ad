"""What a scoring run shows: the terminal summary (per segment, per account manager) and
`build/customers/report.html`, a page with the segment sizes and the R×F grid drawn as SVG.

Everything here is a pure function of the scores; names and addresses from the exports are
escaped for HTML (the CLI passes terminal text through `printable`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

import polars as pl

from webzine.i18n import _
from webzine.segment_rules import MEASURES

_COLOURS = ("#1b7f5b", "#4aa37a", "#8cc7a1", "#e0a43a", "#c4553a", "#8a8f98", "#5b6bbf", "#b06ab3")


@dataclass(frozen=True)
class SegmentRow:
    name: str
    rule: str
    customers: int
    value: int


def segment_rows(scores: pl.DataFrame, segments: Sequence[tuple[str, str]]) -> list[SegmentRow]:
    """One row per configured segment (in order), then customers no rule matched."""
    sizes = {segment: (count, value) for segment, count, value in
             scores.group_by("segment").agg(pl.len(), pl.col("value").sum()).iter_rows()}
    rows = [SegmentRow(name, rule or _("(everyone else)"), *sizes.get(name, (0, 0))) for name, rule in segments]
    if "" in sizes:
        rows.append(SegmentRow(_("(none)"), _("no rule matched"), *sizes[""]))
    return rows


def manager_rows(scores: pl.DataFrame, segment_names: Sequence[str]) -> list[list[str]]:
    """Per account manager (blank last): customers in each segment."""
    by_manager: dict[str, Counter[str]] = defaultdict(Counter)
    for manager, segment, count in scores.group_by("manager", "segment").agg(pl.len()).iter_rows():
        by_manager[manager][segment] = count
    return [[manager or "(none)", *(f"{counts[name]:,}" for name in segment_names), f"{sum(counts.values()):,}"]
            for manager, counts in sorted(by_manager.items(), key=lambda item: (item[0] == "", item[0]))]


def rf_grid(scores: pl.DataFrame) -> dict[tuple[int, int], int]:
    """Customers per (R, F) score pair."""
    return {(r, f): count for r, f, count in scores.group_by("r", "f").agg(pl.len()).iter_rows()}


def report_page(title: str, scores: pl.DataFrame, segments: Sequence[tuple[str, str]], today: date,
                notes: Sequence[str], managers: Mapping[str, str]) -> str:
    """The whole report page (one file, no outside assets)."""
    rows = segment_rows(scores, segments)
    names = [name for name, _ in segments]
    head = "".join(f"<th>{escape(name)}</th>" for name in names)
    manager_table = "".join(
        "<tr>" + f"<td>{escape(_manager(row[0], managers))}</td>" + "".join(f"<td>{cell}</td>" for cell in row[1:]) + "</tr>"
        for row in manager_rows(scores, names))
    segment_table = "".join(
        f"<tr><td>{escape(row.name)}</td><td><code>{escape(row.rule)}</code></td><td>{row.customers:,}</td>"
        f"<td>{row.value:,}원</td></tr>" for row in rows)
    legend = "".join(f"<li><code>{measure}</code>: {escape(text)}</li>" for measure, text in MEASURES.items())
    note_items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return f"""<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>{escape(title)} — 고객 분석</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}code{{font-size:.9em}}</style></head>
<body><h1>{escape(title)} — 고객 분석 ({today.isoformat()} 기준, 고객 {scores.height:,}명)</h1>
<h2>고객군 크기</h2>
{segment_chart(rows)}
<table><tr><th>고객군</th><th>규칙 (위에서부터 먼저 맞는 규칙)</th><th>고객 수</th><th>기간 내 구매액</th></tr>
{segment_table}</table>
<ul>{legend}</ul>
<h2>최근성(R) × 빈도(F)</h2>
<p>칸마다 그 점수 조합의 고객 수입니다. 오른쪽 위가 자주, 최근에 산 고객입니다.</p>
{rf_chart(rf_grid(scores))}
<h2>담당자별</h2>
<table><tr><th>담당자</th>{head}<th>합계</th></tr>{manager_table}</table>
<h2>참고</h2><ul>{note_items or "<li>없음</li>"}</ul>
</body></html>
"""


def _manager(manager_id: str, managers: Mapping[str, str]) -> str:
    name = managers.get(manager_id, "")
    return f"{manager_id} {name}".strip()


def segment_chart(rows: Sequence[SegmentRow]) -> str:
    """Horizontal bars, one per segment, length by customers."""
    biggest = max((row.customers for row in rows), default=0) or 1
    bar_height, label_width, width = 28, 110, 560
    parts = []
    for index, row in enumerate(rows):
        y = index * bar_height
        length = round((width - label_width - 80) * row.customers / biggest)
        colour = _COLOURS[index % len(_COLOURS)]
        parts.append(f'<text x="0" y="{y + 19}" font-size="14">{escape(row.name)}</text>'
                     f'<rect x="{label_width}" y="{y + 4}" width="{length}" height="{bar_height - 8}" fill="{colour}"/>'
                     f'<text x="{label_width + length + 6}" y="{y + 19}" font-size="13">{row.customers:,}</text>')
    height = bar_height * len(rows)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="고객군별 고객 수">{"".join(parts)}</svg>')


def rf_chart(grid: Mapping[tuple[int, int], int]) -> str:
    """A 5×5 grid: R from 1 (left) to 5, F from 1 (bottom) to 5; darker is more customers."""
    cell, margin = 64, 40
    most = max(grid.values(), default=0) or 1
    parts = []
    for r in range(1, 6):
        for f in range(1, 6):
            count = grid.get((r, f), 0)
            x, y = margin + (r - 1) * cell, (5 - f) * cell
            shade = 0.08 + 0.85 * count / most if count else 0.0
            parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#1b7f5b" '
                         f'fill-opacity="{shade:.2f}" stroke="#ccc"/>'
                         f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" font-size="13" text-anchor="middle">'
                         f'{count:,}</text>')
        parts.append(f'<text x="{margin + (r - 1) * cell + cell / 2}" y="{5 * cell + 18}" font-size="13" '
                     f'text-anchor="middle">R{r}</text>')
    for f in range(1, 6):
        parts.append(f'<text x="8" y="{(5 - f) * cell + cell / 2 + 4}" font-size="13">F{f}</text>')
    size = margin + 5 * cell
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{5 * cell + 28}" role="img" '
            f'aria-label="최근성과 빈도 점수별 고객 수">{"".join(parts)}</svg>')
