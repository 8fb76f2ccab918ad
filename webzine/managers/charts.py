"""The report's charts as inline SVG: no JavaScript, no external files.

Colours come from CSS classes (`s-reached`, `s-bounced` …) that the report page defines for light
and dark mode; text uses `currentColor`. Every chart scales to its container (viewBox, width 100%),
so it stays readable on a 375 px phone, and carries a `<title>` and an aria-label for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 600


@dataclass(frozen=True)
class Segment:
    value: int
    css: str  # s-reached | s-bounced | s-soft | s-other
    label: str


@dataclass(frozen=True)
class Bar:
    label: str
    segments: Sequence[Segment]
    note: str = ""  # printed right of the bar (e.g. "반송 2.1%")


def stacked_bars(bars: Sequence[Bar], *, title: str, label_width: int = 130) -> str:
    """One horizontal stacked bar per row, all on the same scale (the largest total)."""
    row, gap = 26, 8
    largest = max((sum(s.value for s in bar.segments) for bar in bars), default=0) or 1
    room = WIDTH - label_width - 120
    parts = []
    for index, bar in enumerate(bars):
        y = index * (row + gap)
        parts.append(f'<text x="0" y="{y + 18}" class="c-label">{escape(_fit(bar.label, label_width))}</text>')
        x = float(label_width)
        for segment in bar.segments:
            if segment.value <= 0:
                continue
            length = room * segment.value / largest
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(length, 1.5):.1f}" height="{row - 6}" '
                         f'class="{segment.css}"><title>{escape(segment.label)} {segment.value:,}</title></rect>')
            x += length
        total = sum(s.value for s in bar.segments)
        note = f" · {bar.note}" if bar.note else ""
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 18}" class="c-value">{total:,}{escape(note)}</text>')
    height = max(len(bars), 1) * (row + gap)
    return _svg(parts, height, title)


@dataclass(frozen=True)
class Column:
    label: str  # "12월"
    segments: Sequence[Segment]
    line: float | None = None  # a second measure, drawn as a line of dots (0–1 of the line's scale)
    line_text: str = ""


def columns(items: Sequence[Column], *, title: str, line_title: str = "") -> str:
    """Vertical stacked columns per month, with an optional line (a rate) across them."""
    height, bottom, top = 220, 24, 18
    plot = height - bottom - top
    count = max(len(items), 1)
    step = (WIDTH - 20) / count
    width = min(48.0, step * 0.6)
    largest = max((sum(s.value for s in c.segments) for c in items), default=0) or 1
    parts = [f'<line x1="0" y1="{top + plot}" x2="{WIDTH}" y2="{top + plot}" class="c-axis"/>']
    points = []
    for index, column in enumerate(items):
        centre = 10 + step * index + step / 2
        y = float(top + plot)
        for segment in column.segments:
            if segment.value <= 0:
                continue
            length = plot * segment.value / largest
            y -= length
            parts.append(f'<rect x="{centre - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" height="{length:.1f}" '
                         f'class="{segment.css}"><title>{escape(column.label)} {escape(segment.label)} '
                         f'{segment.value:,}</title></rect>')
        total = sum(s.value for s in column.segments)
        parts.append(f'<text x="{centre:.1f}" y="{y - 4:.1f}" class="c-value" text-anchor="middle">{_short(total)}</text>')
        parts.append(f'<text x="{centre:.1f}" y="{height - 6}" class="c-label" text-anchor="middle">'
                     f'{escape(column.label)}</text>')
        if column.line is not None:
            points.append((centre, top + plot - plot * min(max(column.line, 0.0), 1.0), column.line_text))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        parts.append(f'<polyline points="{path}" class="c-line"/>')
        for x, y, text in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="c-dot"><title>{escape(line_title)} '
                         f'{escape(text)}</title></circle>')
    return _svg(parts, height, title)


def _svg(parts: list[str], height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>{"".join(parts)}</svg>')


def _fit(text: str, width: int) -> str:
    """Cut a label to what fits `width` px at 13 px text (Hangul about 13 px, Latin about 7 px)."""
    used, out = 0.0, []
    for char in text:
        used += 13 if ord(char) > 0x2E80 else 7.5
        if used > width - 8:
            return "".join(out) + "…"
        out.append(char)
    return text


def _short(number: int) -> str:
    """`1,234,567` → `123만`: column tops have little room."""
    if number >= 10_000:
        return f"{number / 10_000:.0f}만" if number >= 100_000 else f"{number / 10_000:.1f}만"
    return f"{number:,}"
