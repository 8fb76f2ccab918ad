"""Merge templates: inline once, merge many.

The build renders Markdown, the layout and the CSS inlining once per issue. What is left is a
Jinja source in which only the per-recipient parts are still template code. `MergeTemplate` splits
that source into static text and small compiled slots, so that per recipient only the slots run,
and later stages (message encoding) can pre-encode the static text once.

A slot is one `{{ expression }}`, or one whole block statement (`{% if %}…{% endif %}`,
`{% for %}…{% endfor %}`) with the static text inside it. Templates that define names for later
use (`{% set %}`, `{% macro %}`, `{% import %}` outside a block) become a single slot, because
slots are rendered independently of each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import jinja2

from webzine.errors import TemplateError

_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_STATEMENT = re.compile(r"\{%-?\+?\s*(\w+)(.*?)[-+]?%\}", re.DOTALL)
_OPENERS = {"if", "for", "with", "macro", "call", "filter", "block", "raw", "autoescape", "trans"}
_GLOBAL_DEFINITIONS = {"set", "macro", "import", "from", "extends", "include"}


@dataclass(frozen=True, slots=True)
class Slot:
    source: str
    origin: str  # "issues/2026-12-x.md:14" — where the slot's source starts
    template: jinja2.Template

    def render(self, context: Mapping[str, object]) -> str:
        try:
            return self.template.render(context)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{self.origin}: {exc.message} in {self.source.strip()!r}.") from None


@dataclass(frozen=True, slots=True)
class MergeTemplate:
    """Static text and slots, in order. `source` is the Jinja source they came from."""

    segments: tuple[str | Slot, ...]
    source: str

    def render(self, context: Mapping[str, object]) -> str:
        return "".join(s if isinstance(s, str) else s.render(context) for s in self.segments)

    @property
    def slots(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.segments if isinstance(s, Slot))

    @property
    def is_static(self) -> bool:
        return not self.slots


def _statement_keyword(tag: str) -> tuple[str, str] | None:
    match = _STATEMENT.fullmatch(tag)
    return (match.group(1), match.group(2)) if match else None


def _line_of(source: str, offset: int, first_line: int) -> int:
    return first_line + source.count("\n", 0, offset)


def _spans(source: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_slot) spans covering `source`; raises on unbalanced blocks."""
    spans: list[tuple[int, int, bool]] = []
    depth = 0
    block_start = 0
    position = 0
    for match in _TAG.finditer(source):
        tag = match.group(0)
        if tag.startswith("{#"):
            if depth == 0:
                spans.append((position, match.start(), False))
                position = match.end()
            continue
        statement = _statement_keyword(tag) if tag.startswith("{%") else None
        if statement is None:
            if depth == 0:
                spans.append((position, match.start(), False))
                spans.append((match.start(), match.end(), True))
                position = match.end()
            continue
        keyword, rest = statement
        opens = keyword in _OPENERS or (keyword == "set" and "=" not in rest)
        if opens:
            if depth == 0:
                spans.append((position, match.start(), False))
                block_start = match.start()
            depth += 1
        elif keyword.startswith("end"):
            depth -= 1
            if depth < 0:
                raise ValueError(f"'{{% {keyword} %}}' without an opening statement", match.start())
            if depth == 0:
                spans.append((block_start, match.end(), True))
                position = match.end()
        elif depth == 0:
            spans.append((position, match.start(), False))
            spans.append((match.start(), match.end(), True))
            position = match.end()
    if depth:
        raise ValueError("a block statement is never closed", block_start)
    spans.append((position, len(source), False))
    return [span for span in spans if span[1] > span[0]]


def _defines_globals(source: str) -> bool:
    for match in _TAG.finditer(source):
        statement = _statement_keyword(match.group(0))
        if statement and statement[0] in _GLOBAL_DEFINITIONS:
            return True
    return False


def compile_merge(
    source: str, environment: jinja2.Environment, *, origin: str, first_line: int = 1
) -> MergeTemplate:
    """Split a Jinja source into static text and compiled slots.

    `origin` names the file the source came from and `first_line` the line the source starts on,
    so that errors point at the editor's own file.
    """

    def compile_slot(text: str, offset: int) -> Slot:
        line = _line_of(source, offset, first_line)
        try:
            template = environment.from_string(text)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"{origin}:{line + exc.lineno - 1}: {exc.message}; fix the template syntax."
            ) from None
        return Slot(source=text, origin=f"{origin}:{line}", template=template)

    if _defines_globals(source):
        return MergeTemplate(segments=(compile_slot(source, 0),), source=source)
    try:
        spans = _spans(source)
    except ValueError as exc:
        reason, offset = exc.args
        line = _line_of(source, offset, first_line)
        raise TemplateError(f"{origin}:{line}: {reason}; check the template's tags.") from None
    segments: list[str | Slot] = []
    for start, end, is_slot in spans:
        text = source[start:end]
        if is_slot:
            segments.append(compile_slot(text, start))
        elif segments and isinstance(segments[-1], str):
            segments[-1] += text
        else:
            segments.append(text)
    return MergeTemplate(segments=tuple(segments), source=source)


def recipient_context(
    recipient: Mapping[str, object],
    manager: Mapping[str, object] | None,
    unsubscribe_url: str,
    **per_recipient: object,
) -> dict[str, object]:
    """The names a slot can use: `recipient.<column>`, `manager.<field>`, `unsubscribe_url`,
    plus per-recipient extras (e.g. signed feedback links). Everything per issue is baked into
    the static text at build time."""
    blank_manager = {"id": "", "name": "", "email": "", "phone": "", "title": ""}
    return {
        "recipient": recipient,
        "manager": manager if manager is not None else blank_manager,
        "unsubscribe_url": unsubscribe_url,
        **per_recipient,
    }
