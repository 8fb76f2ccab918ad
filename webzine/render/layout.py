"""Render a layout once per issue while keeping its per-recipient parts as merge slots.

Two tricks make "inline once, merge many" work:

* **Sentinels.** Every per-recipient Jinja tag is replaced by a short ASCII word (`wzslot12x`)
  before Markdown and premailer see the document, and put back afterwards. Letters and digits
  only: Markdown gives `_` and `*` meaning, and premailer (lxml) percent-encodes spaces inside
  attribute values, so `href="{{ unsubscribe_url }}"` would come out as `{{%20unsubscribe_url%20}}`.
* **Deferred names.** While the layout is rendered, `recipient`, `manager` and `unsubscribe_url`
  are stand-ins: `recipient.name|josa("은")` evaluates to a `Deferred` whose text is the sentinel
  of that very expression. A layout therefore writes merge fields exactly like an issue body does.
  What cannot be deferred (a per-recipient `{% if %}`) fails loudly instead of silently choosing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from webzine.errors import TemplateError
from webzine.i18n import _

# Package data (webzine/templates/), installed as plain files beside this package, so a wheel
# builds without the source tree; searched after a publication's own templates/.
BUILTIN_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_BLOCK_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_LITERAL_OPENER = re.compile(r"\{(?=[{%#])")


class SentinelTable:
    """Jinja source ↔ sentinel words, shared by every output of one build."""

    def __init__(self, *sources: str) -> None:
        prefix = "wzslot"
        while any(prefix in source for source in sources):
            prefix += "q"  # never mistake the editor's own text for a sentinel
        self._prefix = prefix
        self._pattern = re.compile(rf"{prefix}(\d+)x")
        self._sources: list[str] = []
        self._blocks: set[str] = set()

    def add(self, jinja_source: str, *, block: bool = False) -> str:
        word = f"{self._prefix}{len(self._sources)}x"
        self._sources.append(jinja_source)
        if block:
            self._blocks.add(word)
        return word

    def protect(self, source: str) -> str:
        """Replace every Jinja tag in `source` by its sentinel."""

        def replace(match: re.Match[str]) -> str:
            tag = match.group(0)
            return self.add(tag, block=bool(_BLOCK_TAG.fullmatch(tag)))

        return JINJA_TAG.sub(replace, source)

    def is_block(self, word: str) -> bool:
        return word in self._blocks

    @property
    def word_pattern(self) -> re.Pattern[str]:
        return self._pattern

    def restore(self, rendered: str) -> str:
        """Literal braces in static text are escaped first, then sentinels become Jinja again."""
        escaped = _LITERAL_OPENER.sub('{{ "{" }}', rendered)
        return self._pattern.sub(lambda m: self._sources[int(m.group(1))], escaped)


class LayoutMisuse(Exception):
    """A per-recipient value was used where a layout needs a per-issue one; carries the fix."""


def _literal(value: Any) -> str:
    """A Jinja literal for a filter argument, so the deferred expression can be written out."""
    if isinstance(value, Deferred):
        return value.expression
    if value is None or isinstance(value, bool):
        return {None: "none", True: "true", False: "false"}[value]
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(str(value))
    raise LayoutMisuse(_("a {type} cannot be passed to a filter on a merge field").format(type=type(value).__name__))


class Deferred:
    """A per-recipient expression seen from a layout: attribute access, calls, comparisons and
    filters build a longer expression; printing it yields the sentinel of `{{ expression }}`."""

    __slots__ = ("_expression", "_table", "_fields")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, expression: str, table: SentinelTable, fields: Iterable[str] | None = None) -> None:
        self._expression = expression
        self._table = table
        self._fields = frozenset(fields) if fields is not None else None

    @property
    def expression(self) -> str:
        return self._expression

    def _child(self, name: str, written: str) -> Deferred:
        if self._fields is not None and name not in self._fields:
            known = ", ".join(sorted(self._fields))
            raise LayoutMisuse(_("unknown merge field '{expression}.{name}'; known fields: {known}").format(
                expression=self._expression, name=name, known=known))
        return Deferred(written, self._table)

    def __getattr__(self, name: str) -> Deferred:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._child(name, f"{self._expression}.{name}")

    def __getitem__(self, key: Any) -> Deferred:
        if isinstance(key, str) and key.isidentifier():
            return self._child(key, f"{self._expression}.{key}")
        return self._child(str(key), f"{self._expression}[{_literal(key)}]")

    def __call__(self, *args: Any, **kwargs: Any) -> Deferred:
        parts = [_literal(a) for a in args] + [f"{k}={_literal(v)}" for k, v in kwargs.items()]
        return Deferred(f"{self._expression}({', '.join(parts)})", self._table)

    def _compare(self, operator: str, other: Any) -> Deferred:
        return Deferred(f"({self._expression} {operator} {_literal(other)})", self._table)

    def __eq__(self, other: Any) -> Deferred:  # type: ignore[override]
        return self._compare("==", other)

    def __ne__(self, other: Any) -> Deferred:  # type: ignore[override]
        return self._compare("!=", other)

    def __str__(self) -> str:
        return self._table.add(f"{{{{ {self._expression} }}}}")

    def __html__(self) -> str:
        return str(self)

    def __add__(self, other: Any) -> str:
        return str(self) + str(other)

    def __radd__(self, other: Any) -> str:
        return str(other) + str(self)

    def __bool__(self) -> bool:
        raise LayoutMisuse(
            _("'{expression}' differs per recipient, so a layout cannot test it with {{% if %}}; write {{{{ "
              "slot_if({expression}) }}}}…{{{{ slot_endif() }}}}, or put the condition in the issue body").format(
                expression=self._expression)
        )

    def __iter__(self) -> Any:
        raise LayoutMisuse(_("'{expression}' differs per recipient, so a layout cannot loop over it").format(
            expression=self._expression))

    def __len__(self) -> int:
        raise LayoutMisuse(_("'{expression}' differs per recipient; its length is not known yet").format(
            expression=self._expression))


def _deferring(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter so that applied to a `Deferred` it returns a longer `Deferred`."""
    pass_arg = getattr(function, "jinja_pass_arg", None)
    skip = 1 if pass_arg is not None else 0

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = args[skip] if len(args) > skip else None
        if isinstance(value, Deferred):
            extra = [_literal(a) for a in args[skip + 1 :]] + [f"{k}={_literal(v)}" for k, v in kwargs.items()]
            call = f"({', '.join(extra)})" if extra else ""
            return Deferred(f"{value.expression}|{name}{call}", value._table)
        return function(*args, **kwargs)

    return wrapper


def install(environment: jinja2.Environment) -> None:
    """Make every filter of a layout environment defer when applied to a merge field."""
    for name, function in list(environment.filters.items()):
        environment.filters[name] = _deferring(name, function)


def deferred_globals(
    table: SentinelTable, recipient_fields: Iterable[str], manager_fields: Iterable[str], extras: Iterable[str] = ()
) -> dict[str, Any]:
    """The per-recipient names and slot helpers a layout sees during its one render; `extras` are
    further per-recipient names (`feedback_url` when feedback is on)."""

    def slot_if(condition: Any) -> Markup:
        if not isinstance(condition, Deferred):
            raise LayoutMisuse(_("slot_if() is for per-recipient conditions; use {% if %} for per-issue ones"))
        return Markup(table.add(f"{{% if {condition.expression} %}}", block=True))

    def slot_else() -> Markup:
        return Markup(table.add("{% else %}", block=True))

    def slot_endif() -> Markup:
        return Markup(table.add("{% endif %}", block=True))

    return {
        "recipient": Deferred("recipient", table, recipient_fields),
        "manager": Deferred("manager", table, manager_fields),
        "unsubscribe_url": Deferred("unsubscribe_url", table),
        **{name: Deferred(name, table) for name in extras},
        "slot_if": slot_if,
        "slot_else": slot_else,
        "slot_endif": slot_endif,
    }


def render_layout(template: jinja2.Template, context: dict[str, Any]) -> str:
    """Render a layout once; misuse of per-recipient names becomes a `TemplateError` at file:line."""
    try:
        return template.render(context)
    except LayoutMisuse as exc:
        raise TemplateError(f"{_template_location(exc, template)}: {exc}.") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(_("{where}: {problem}; check the name.").format(
            where=_template_location(exc, template), problem=exc.message)) from None


def _template_location(exc: BaseException, template: jinja2.Template) -> str:
    """The deepest template frame of a traceback Jinja has rewritten to template lines."""
    filename = template.filename or template.name or "<template>"
    line: int | None = None
    traceback = exc.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code.co_filename
        if code.endswith(".j2") or code == filename:
            filename, line = code, traceback.tb_lineno
        traceback = traceback.tb_next
    return f"{filename}:{line}" if line else filename

