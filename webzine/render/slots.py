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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import jinja2
from jinja2 import meta

from webzine.config import Settings
from webzine.errors import TemplateError
from webzine.i18n import _
from webzine.models import Manager
from webzine.tokens import FeedbackLinks, serve_base_url

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
            raise TemplateError(_("{origin}: {problem} in {source!r}.").format(
                origin=self.origin, problem=exc.message, source=self.source.strip())) from None


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
                raise ValueError(_("'{{% {keyword} %}}' without an opening statement").format(keyword=keyword),
                                 match.start())
            if depth == 0:
                spans.append((block_start, match.end(), True))
                position = match.end()
        elif depth == 0:
            spans.append((position, match.start(), False))
            spans.append((match.start(), match.end(), True))
            position = match.end()
    if depth:
        raise ValueError(_("a block statement is never closed"), block_start)
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
            raise TemplateError(_("{origin}:{line}: {problem}; fix the template syntax.").format(
                origin=origin, line=line + exc.lineno - 1, problem=exc.message)) from None
        return Slot(source=text, origin=f"{origin}:{line}", template=template)

    if _defines_globals(source):
        return MergeTemplate(segments=(compile_slot(source, 0),), source=source)
    try:
        spans = _spans(source)
    except ValueError as exc:
        reason, offset = exc.args
        line = _line_of(source, offset, first_line)
        raise TemplateError(_("{origin}:{line}: {reason}; check the template's tags.").format(
            origin=origin, line=line, reason=reason)) from None
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


PREVIEW_SECRET = "preview"  # previews and the archive show links of the right shape that nobody can use


def feedback_fields(settings: Settings, issue: str, secret: str, address: str) -> dict[str, object]:
    """`feedback_url` for one recipient (`recipient_context(..., **feedback_fields(...))`), or
    nothing when `[feedback] enabled = false`: then the field is unknown and a template using
    it fails the build."""
    if not settings.feedback.enabled:
        return {}
    return {"feedback_url": FeedbackLinks(serve_base_url(settings.unsubscribe.base_url), secret, issue, address)}


def manager_fields(manager: Manager) -> dict[str, object]:
    """What `manager.<field>` resolves to in templates."""
    return {"id": manager.id, "name": manager.name, "email": manager.email, "phone": manager.phone,
            "title": manager.title}


def reader_context(
    settings: Settings, issue: str, recipient: Mapping[str, object], email: str, manager: Manager | None, *,
    unsubscribe_url: str, secret: str,
) -> dict[str, object]:
    """`recipient_context` for one reader of `issue`: their fields, their account manager, their
    unsubscribe link and (when enabled) feedback links signed with `secret`."""
    return recipient_context(recipient, manager_fields(manager) if manager else None, unsubscribe_url,
                             **feedback_fields(settings, issue, secret, email))


class Personaliser:
    """Fills the slots of an issue's merge templates for one reader at a time: the one way the
    send, the preview, the dry run and the archive personalise an issue.

    Every distinct slot (same environment, same source) is numbered once, in template order, so
    the first failing slot is the one a reader meets first, and the message encoder addresses the
    filled slots by number. Per environment the slots are compiled together as one template
    (`_SlotGroup`): filling a reader is one context and one pass per environment, where
    `Template.render` per slot would build a context for each. Slots that read nothing but `manager` (the "your account manager" box) are
    filled once per manager when the caller names the manager. A slot that defines names for later
    use (a template `compile_merge` kept whole) renders on its own.
    """

    def __init__(self, templates: Iterable[MergeTemplate]) -> None:
        numbers: dict[tuple[int, str], int] = {}
        slots: list[Slot] = []
        for template in templates:
            for slot in template.slots:
                key = (id(slot.template.environment), slot.source)
                if key not in numbers:
                    numbers[key] = len(slots)
                    slots.append(slot)
        self._numbers = numbers
        self.slots = tuple(slots)
        together: dict[tuple[int, bool], list[int]] = {}
        self._alone = tuple(n for n, slot in enumerate(slots) if _defines_globals(slot.source))
        for number, slot in enumerate(slots):
            if number not in self._alone:
                together.setdefault((id(slot.template.environment), _reads_only_manager(slot)), []).append(number)
        groups = {key: _SlotGroup(self.slots, group) for key, group in together.items()}
        self._per_reader = tuple(group for (_, shared), group in groups.items() if not shared)
        self._per_manager = tuple(group for (_, shared), group in groups.items() if shared)
        self._by_manager: dict[str, tuple[tuple[int, str], ...]] = {}  # bounded: managers × slots

    def number(self, slot: Slot) -> int:
        return self._numbers[(id(slot.template.environment), slot.source)]

    def fill(self, context: Mapping[str, object], manager: str | None = None) -> list[str]:
        """The text of every slot for one reader, in slot-number order. `manager` names the
        reader's manager (`""` for none) when the manager-only slots may be kept for the next
        reader with the same manager; None fills them afresh."""
        texts = [""] * len(self.slots)
        try:
            for group in self._per_reader:
                group.fill_into(context, texts)
            if manager is None:
                for group in self._per_manager:
                    group.fill_into(context, texts)
            elif self._per_manager:
                kept = self._by_manager.get(manager)
                if kept is None:
                    for group in self._per_manager:
                        group.fill_into(context, texts)
                    kept = self._by_manager[manager] = tuple(
                        (n, texts[n]) for group in self._per_manager for n in group.numbers)
                for number, text in kept:
                    texts[number] = text
            for number in self._alone:
                texts[number] = self.slots[number].template.render(context)
        except jinja2.UndefinedError as exc:
            raise self._first_failure(context, exc) from None
        return texts

    def render(self, template: MergeTemplate, texts: Sequence[str]) -> str:
        """`template` with its slots replaced by their filled `texts`."""
        return "".join([s if isinstance(s, str) else texts[self.number(s)] for s in template.segments])

    def _first_failure(self, context: Mapping[str, object], exc: jinja2.UndefinedError) -> TemplateError:
        """The failing slot a reader meets first, with its file and line (slot by slot, only
        once something has failed)."""
        for slot in self.slots:
            try:
                slot.render(context)
            except TemplateError as located:
                return located
        return TemplateError(f"{self.slots[0].origin}: {exc.message}.")


_SEPARATOR = "\x00"  # between the slots of a group's template: no issue or list writes it


class _SlotGroup:
    """Slots of one environment compiled as one template, their sources joined by a separator:
    filling them is one context and one pass of Jinja's compiled code, and the output split at the
    separators is their texts (plain strings, as `Template.render` joins them)."""

    __slots__ = ("numbers", "_slots", "_template", "_globals")

    def __init__(self, slots: tuple[Slot, ...], numbers: list[int]) -> None:
        self.numbers = tuple(numbers)
        self._slots = tuple(slots[n] for n in numbers)
        environment = self._slots[0].template.environment
        self._template = environment.from_string(_SEPARATOR.join(slot.source for slot in self._slots))
        # The globals as one plain dict, once: a context made with them would copy their
        # ChainMap on every call, which costs as much as filling a small group.
        self._globals = dict(self._template.globals)

    def fill_into(self, context: Mapping[str, object], texts: list[str]) -> None:
        template = self._template
        filled = "".join(template.root_render_func(template.new_context({**self._globals, **context}, shared=True)))
        pieces = filled.split(_SEPARATOR)
        if len(pieces) != len(self.numbers):  # the reader's data holds the separator: slot by slot
            pieces = [slot.template.render(context) for slot in self._slots]
        for number, text in zip(self.numbers, pieces):
            texts[number] = text


def _reads_only_manager(slot: Slot) -> bool:
    environment = slot.template.environment
    return meta.find_undeclared_variables(environment.parse(slot.source)) == {"manager"}
