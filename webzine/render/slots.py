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
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context, missing
from jinja2.utils import _PassArg
from markupsafe import escape

from webzine.config import Settings
from webzine.errors import TemplateError
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


PREVIEW_SECRET = "preview"  # previews and the archive show links of the right shape that nobody can use


def feedback_fields(settings: Settings, issue: str, secret: str, address: str) -> dict[str, object]:
    """`feedback_url` for one recipient (`recipient_context(..., **feedback_fields(...))`), or
    nothing when `[feedback] enabled = false`: then the field is unknown and a template using
    it fails the build."""
    if not settings.feedback.enabled:
        return {}
    return {"feedback_url": FeedbackLinks(serve_base_url(settings.unsubscribe.base_url), secret, issue, address)}


Evaluate = Callable[[Context], object]


def twin_expression(first: Slot, second: Slot) -> Evaluate | None:
    """One evaluation for the same `{{ expression }}` slot in two environments that differ only in
    autoescaping (the text and the HTML body), or None when that cannot be proven.

    Jinja compiles such a slot to `yield str(VALUE)` or `yield escape(VALUE)`, where VALUE is
    built from context lookups, `environment.getattr` and filter calls. The returned function
    computes VALUE exactly that way (same context lookup, same getattr, same filter objects, same
    undefined type); callers output `str(value)` or `escape(value)` per environment. Only names,
    attribute lookups and filters with constant arguments that take no context qualify, and both
    environments must resolve every name used to the same global (or to none)."""
    a, b = first.template.environment, second.template.environment
    if first.source != second.source or not (_plain_environment(a) and _plain_environment(b)):
        return None
    if type(a) is not type(b) or a.undefined is not b.undefined:
        return None
    body = a.parse(first.source).body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    names: set[str] = set()
    filters: set[str] = set()
    evaluate = _evaluator(body[0].nodes[0], a, names, filters)
    if evaluate is None:
        return None
    if any(a.filters.get(name) is not b.filters.get(name) for name in filters):
        return None
    globals_a, globals_b = first.template.globals, second.template.globals
    if any(globals_a.get(name, missing) is not globals_b.get(name, missing) for name in names):
        return None
    return evaluate


def _plain_environment(environment: jinja2.Environment) -> bool:
    return type(environment.autoescape) is bool and not environment.is_async and environment.finalize is None


def _evaluator(node: nodes.Node, environment: jinja2.Environment, names: set[str], filters: set[str]) -> Evaluate | None:
    """What Jinja's code generator emits for `node`, as a closure; None for anything else."""
    if isinstance(node, nodes.Name) and node.ctx == "load":
        name, undefined = node.name, environment.undefined
        names.add(name)

        def load(context: Context) -> object:
            value = context.resolve_or_missing(name)
            return undefined(name=name) if value is missing else value

        return load
    if isinstance(node, nodes.Getattr) and node.ctx == "load":
        inner = _evaluator(node.node, environment, names, filters)
        if inner is None:
            return None
        attribute, getattr_ = node.attr, environment.getattr
        return lambda context: getattr_(inner(context), attribute)
    if isinstance(node, nodes.Filter) and node.node is not None and not (node.dyn_args or node.dyn_kwargs):
        function = environment.filters.get(node.name)
        constant = all(isinstance(arg, nodes.Const) for arg in [*node.args, *(kw.value for kw in node.kwargs)])
        if function is None or _PassArg.from_obj(function) is not None or not constant:
            return None
        inner = _evaluator(node.node, environment, names, filters)
        if inner is None:
            return None
        filters.add(node.name)
        args = tuple(arg.value for arg in node.args)  # type: ignore[attr-defined]
        kwargs = {kw.key: kw.value.value for kw in node.kwargs}  # type: ignore[attr-defined]
        return lambda context: function(inner(context), *args, **kwargs)
    return None


def merge_output(value: object, autoescape: bool) -> str:
    """What a `{{ }}` slot yields for `value`, joined to a plain string as `Template.render` does."""
    return "".join((escape(value) if autoescape else str(value),))
